"""Capillary v2 error bodies: ``{"errors": [{"status": false, "code": N, "message"}]}``.

Every error is HTTP 400 except authentication (401), whatever the vendor's own habit of
answering 200 (DESIGN.md): a client error is never a 5xx.
"""

from __future__ import annotations

from typing import Any

from core import errors
from core.dialects.base import Dialect, ErrorSpec
from core.errors import ApiError


class CapillaryV2Dialect(Dialect):
    name = "capillary"
    fallback = ErrorSpec(400, 400)
    errors = {
        errors.INVALID_INPUT: ErrorSpec(400, 400),
        errors.MALFORMED_BODY: ErrorSpec(400, 400),
        errors.UNAUTHORIZED: ErrorSpec(
            401, 401, "Authentication failed. Please check username and password."
        ),
        errors.FORBIDDEN: ErrorSpec(403, 403),
        errors.MISSING_SCOPE: ErrorSpec(403, 403),
        errors.STORE_INACTIVE: ErrorSpec(403, 403),
        errors.NOT_FOUND: ErrorSpec(404, 404),
        errors.METHOD_NOT_ALLOWED: ErrorSpec(405, 405),
        errors.NOT_ACCEPTABLE: ErrorSpec(406, 406),
        errors.UNSUPPORTED_MEDIA_TYPE: ErrorSpec(415, 415, "Unsupported media type."),
        errors.THROTTLED: ErrorSpec(429, 429),
        errors.UNAVAILABLE: ErrorSpec(503, 503),
    }

    def body(self, error: ApiError, spec: ErrorSpec, request: Any) -> dict[str, Any]:
        return {
            "errors": [
                {
                    "status": False,
                    "code": spec.code,
                    "message": spec.message or error.message,
                }
            ]
        }


CAPILLARY_V2 = CapillaryV2Dialect()
