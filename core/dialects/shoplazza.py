"""Shoplazza error bodies: ``{"errors": ["..."]}`` or ``{"error": "..."}``.

``ErrorSpec.code`` names the form: ``"errors"`` (an array of messages) or ``"error"``
(one string), as the 2022-01 docs show both.
"""

from __future__ import annotations

from typing import Any

from core import errors
from core.dialects.base import Dialect, ErrorSpec
from core.errors import ApiError


class ShoplazzaDialect(Dialect):
    name = "shoplazza"
    fallback = ErrorSpec(400, "errors")
    errors = {
        errors.INVALID_INPUT: ErrorSpec(400, "errors"),
        errors.MALFORMED_BODY: ErrorSpec(400, "errors", "Bad Request"),
        errors.UNAUTHORIZED: ErrorSpec(401, "error", "Unauthorized"),
        errors.FORBIDDEN: ErrorSpec(403, "errors"),
        errors.MISSING_SCOPE: ErrorSpec(403, "errors"),
        errors.STORE_INACTIVE: ErrorSpec(403, "error", "store is not active"),
        errors.NOT_FOUND: ErrorSpec(404, "errors", "Not Found"),
        errors.METHOD_NOT_ALLOWED: ErrorSpec(405, "errors"),
        errors.NOT_ACCEPTABLE: ErrorSpec(406, "errors"),
        errors.UNSUPPORTED_MEDIA_TYPE: ErrorSpec(400, "errors", "Bad Request"),
        errors.THROTTLED: ErrorSpec(429, "errors"),
        errors.UNAVAILABLE: ErrorSpec(503, "errors"),
    }

    def body(self, error: ApiError, spec: ErrorSpec, request: Any) -> dict[str, Any]:
        message = spec.message or error.message
        if spec.code == "error":
            return {"error": message}
        if spec.message is None and error.fields:
            return {"errors": [f"{i.path}: {i.message}" for i in error.fields]}
        return {"errors": [message]}


SHOPLAZZA = ShoplazzaDialect()
