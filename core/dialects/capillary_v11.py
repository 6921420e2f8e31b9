"""Capillary v1.1 error envelope (DESIGN.md): HTTP 400 (401 for auth), never a 5xx.

``{"response": {"status": {"success": "false", "code": N, "message": "..."}}}``; the
customer-level failures (``item_status``) are built by the endpoint itself.
"""

from __future__ import annotations

from typing import Any

from core import errors
from core.dialects.base import Dialect, ErrorSpec
from core.errors import ApiError


class CapillaryV11Dialect(Dialect):
    name = "capillary_v11"
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
        errors.UNSUPPORTED_MEDIA_TYPE: ErrorSpec(415, 415),
        errors.THROTTLED: ErrorSpec(429, 429),
        errors.UNAVAILABLE: ErrorSpec(503, 503),
    }

    def body(self, error: ApiError, spec: ErrorSpec, request: Any) -> dict[str, Any]:
        return {
            "response": {
                "status": {
                    "success": "false",
                    "code": spec.code,
                    "message": spec.message or error.message,
                }
            }
        }


CAPILLARY_V11 = CapillaryV11Dialect()
