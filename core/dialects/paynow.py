"""PayNow error bodies: ``{status, code, message, trace_id, errors}``.

Used by the PayNow coupons dialect and by the native API (customers, redemptions).
"""

from __future__ import annotations

import uuid
from typing import Any

from core import errors
from core.dialects.base import Dialect, ErrorSpec
from core.errors import ApiError

BAD_REQUEST = ErrorSpec(400, "bad-request")
NOT_FOUND = ErrorSpec(404, "not-found")
CONFLICT = ErrorSpec(409, "conflict")
FORBIDDEN = ErrorSpec(403, "forbidden")


class PayNowDialect(Dialect):
    name = "paynow"
    fallback = BAD_REQUEST
    errors = {
        errors.INVALID_INPUT: BAD_REQUEST,
        errors.MALFORMED_BODY: BAD_REQUEST,
        errors.PAYLOAD_TOO_LARGE: ErrorSpec(413, "payload-too-large"),
        errors.UNAUTHORIZED: ErrorSpec(401, "unauthorized"),
        errors.FORBIDDEN: FORBIDDEN,
        errors.MISSING_SCOPE: FORBIDDEN,
        errors.STORE_INACTIVE: FORBIDDEN,
        errors.NOT_FOUND: NOT_FOUND,
        errors.METHOD_NOT_ALLOWED: ErrorSpec(405, "method-not-allowed"),
        errors.NOT_ACCEPTABLE: ErrorSpec(406, "not-acceptable"),
        errors.UNSUPPORTED_MEDIA_TYPE: ErrorSpec(415, "unsupported-media-type"),
        errors.THROTTLED: ErrorSpec(429, "too-many-requests"),
        errors.IDEMPOTENCY_KEY_REUSED: ErrorSpec(422, "unprocessable-entity"),
        errors.UNAVAILABLE: ErrorSpec(503, "service-unavailable"),
        # holds (coupons.redeem.service)
        "hold_not_found": ErrorSpec(404, "not-found", "Hold not found."),
        "hold_refused": CONFLICT,
        "hold_expired": CONFLICT,
        "hold_released": CONFLICT,
        "hold_redeemed": CONFLICT,
        # customers
        "customer_not_found": ErrorSpec(404, "not-found", "Customer not found."),
        "customer_identifier_taken": CONFLICT,
        "customer_has_history": CONFLICT,
        # coupons
        "coupon_not_found": ErrorSpec(404, "not-found", "Coupon not found."),
        "typo": NOT_FOUND,  # a mistyped check-character code (coupons.typed_codes)
        "code_taken": CONFLICT,
        "coupon_held": CONFLICT,  # live holds: not deleted
        "redemption_not_found": ErrorSpec(404, "not-found", "Redemption not found."),
        "redemption_refused": CONFLICT,
        "already_rolled_back": CONFLICT,
        "over_return": CONFLICT,
        "unknown_line": BAD_REQUEST,
        "currency_mismatch": BAD_REQUEST,
    }

    def body(self, error: ApiError, spec: ErrorSpec, request: Any) -> dict[str, Any]:
        return {
            "status": spec.status,
            "code": spec.code,
            "message": spec.message or error.message,
            "trace_id": trace_id(request),
            "errors": [
                {
                    "code": issue.code,
                    "message": issue.message,
                    "path": issue.path,
                    "validation": issue.code,
                }
                for issue in error.fields
            ]
            or None,
        }


def trace_id(request: Any) -> str:
    meta = getattr(request, "META", {}) or {}
    return meta.get("HTTP_X_REQUEST_ID") or uuid.uuid4().hex


PAYNOW = PayNowDialect()
