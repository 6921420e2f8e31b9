"""NewStore v0 error bodies: ``{"error_code": "...", "message": "..."}``."""

from __future__ import annotations

from typing import Any

from core import errors
from core.dialects.base import Dialect, ErrorSpec
from core.errors import ApiError


class NewStoreDialect(Dialect):
    name = "newstore"
    fallback = ErrorSpec(400, "bad_request")
    errors = {
        errors.INVALID_INPUT: ErrorSpec(400, "invalid_request"),
        errors.MALFORMED_BODY: ErrorSpec(400, "invalid_request"),
        errors.UNAUTHORIZED: ErrorSpec(401, "unauthorized"),
        errors.FORBIDDEN: ErrorSpec(403, "forbidden"),
        errors.MISSING_SCOPE: ErrorSpec(403, "forbidden"),
        errors.STORE_INACTIVE: ErrorSpec(403, "forbidden"),
        errors.NOT_FOUND: ErrorSpec(404, "not_found"),
        errors.METHOD_NOT_ALLOWED: ErrorSpec(405, "method_not_allowed"),
        errors.NOT_ACCEPTABLE: ErrorSpec(406, "not_acceptable"),
        errors.UNSUPPORTED_MEDIA_TYPE: ErrorSpec(415, "unsupported_media_type"),
        errors.THROTTLED: ErrorSpec(429, "too_many_requests"),
        errors.UNAVAILABLE: ErrorSpec(503, "service_unavailable"),
    }

    def body(self, error: ApiError, spec: ErrorSpec, request: Any) -> dict[str, Any]:
        return {"error_code": spec.code, "message": spec.message or error.message}


NEWSTORE = NewStoreDialect()
