"""Shoplazza error bodies: ``{"errors": ["..."]}`` or ``{"error": "..."}``.

``ErrorSpec.code`` names the form: ``"errors"`` (an array of messages) or ``"error"``
(one string), as the 2022-01 docs show both. The per-coupon receive status numbers
(``items[].status``) are not errors; they live in ``assignments/api/shoplazza.py``.
"""

from __future__ import annotations

from typing import Any

from core import errors
from core.dialects.base import Dialect, ErrorSpec
from core.errors import ApiError, FieldIssue


class ShoplazzaDialect(Dialect):
    name = "shoplazza"
    fallback = ErrorSpec(400, "errors")
    errors = {
        errors.INVALID_INPUT: ErrorSpec(400, "errors"),
        # The vendor's example body is a bare "Bad Request"; the detail says why.
        errors.MALFORMED_BODY: ErrorSpec(400, "errors"),
        errors.PAYLOAD_TOO_LARGE: ErrorSpec(413, "errors"),
        errors.UNAUTHORIZED: ErrorSpec(401, "error", "Unauthorized"),
        errors.FORBIDDEN: ErrorSpec(403, "errors"),
        errors.MISSING_SCOPE: ErrorSpec(403, "errors"),
        errors.STORE_INACTIVE: ErrorSpec(403, "error", "store is not active"),
        errors.NOT_FOUND: ErrorSpec(404, "errors", "Not Found"),
        errors.METHOD_NOT_ALLOWED: ErrorSpec(405, "errors"),
        errors.NOT_ACCEPTABLE: ErrorSpec(406, "errors"),
        # The vendor answers 400 when Content-Type is not application/json.
        errors.UNSUPPORTED_MEDIA_TYPE: ErrorSpec(400, "errors"),
        errors.THROTTLED: ErrorSpec(429, "errors"),
        errors.UNAVAILABLE: ErrorSpec(503, "errors"),
        # Receive Coupons (seed 000)
        "customer_not_found": ErrorSpec(404, "errors", "customer not exist"),
        "coupon_ids_required": ErrorSpec(422, "errors", "CouponIds is required"),
        "too_many_coupon_ids": ErrorSpec(422, "errors"),
    }

    def body(self, error: ApiError, spec: ErrorSpec, request: Any) -> dict[str, Any]:
        message = spec.message or error.message
        if spec.code == "error":
            return {"error": message}
        if spec.message is None and error.fields:
            return {"errors": [_field_message(issue) for issue in error.fields]}
        return {"errors": [message]}


def _field_message(issue: FieldIssue) -> str:
    # "$" is the whole body (e.g. not a JSON object): the message says it all.
    return issue.message if issue.path == "$" else f"{issue.path}: {issue.message}"


SHOPLAZZA = ShoplazzaDialect()
