"""Capillary v2 error bodies: ``{"errors": [{"status": false, "code": N, "message"}]}``.

Every error is HTTP 400 except authentication (401), whatever the vendor's own habit of
answering 200 (DESIGN.md): a client error is never a 5xx. Codes and messages are the
vendor's, verbatim from seed 002; the partial successes of issue/multiple render the
same table's entries inside their 200 body.

Also the OAuth token endpoint's body (``POST /v3/oauth/token/generate``):
``{"data": null, "errors": [{"code": N, "message": "..."}]}``.
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
        errors.PAYLOAD_TOO_LARGE: ErrorSpec(413, 413),
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
        # series: issue/multiple (seed 002)
        "series_id_required": ErrorSpec(400, 756, "seriesId is mandatory to set"),
        "count_not_positive": ErrorSpec(400, 756, "count should be greater than 0"),
        "count_out_of_range": ErrorSpec(
            400, 677, "Invalid coupon count. Minimum 1 and Maximum 500."
        ),
        "series_not_found": ErrorSpec(400, 707, "Coupon Series ID is invalid"),
        "series_expired": ErrorSpec(400, 713, "Coupon has expired"),
        "customer_not_found": ErrorSpec(
            400,
            701,
            "The customer could not be found. Please check mobile, email, "
            "external id passed",
        ),
        "customer_already_holds": ErrorSpec(
            400, 709, "Coupon processing failed: user already has a coupon"
        ),
        "one_per_customer": ErrorSpec(
            400,
            5004,
            "Issue only one coupon. Since isAllowMultipleVouchersPerUser=false.",
        ),
        "generic_single_code": ErrorSpec(
            400, 5004, "Cannot issue more than one GENERIC coupon code."
        ),
        "per_customer_limit": ErrorSpec(400, 5002, "max coupon per user exceeded"),
        "out_of_stock": ErrorSpec(
            400, 5001, "Maximum number of series has been created"
        ),
        "pool_empty": ErrorSpec(400, 5005, "Queue is empty for series"),
        "pool_short": ErrorSpec(400, 5006, "Unable to issue certain number of coupons"),
        # series settings and code generation: the service's own message
        "invalid_series": ErrorSpec(400, 400),
        "code_taken": ErrorSpec(400, 400),
        "code_space_exhausted": ErrorSpec(400, 400),
        "pool_over_cap": ErrorSpec(400, 400),
    }

    def body(self, error: ApiError, spec: ErrorSpec, request: Any) -> dict[str, Any]:
        return {"errors": [self.item(error.reason, error.message)]}

    def item(self, reason: str, message: str = "") -> dict[str, Any]:
        """One ``errors[]`` entry; also what a partial success lists."""
        spec = self.spec_for(reason)
        return {
            "status": False,
            "code": spec.code,
            "message": spec.message or message or reason,
        }


class CapillaryOAuthDialect(Dialect):
    """``POST /v3/oauth/token/generate``: the ``{data, errors}`` envelope."""

    name = "capillary_oauth"
    fallback = ErrorSpec(400, 400)
    errors = {
        errors.INVALID_INPUT: ErrorSpec(400, 400),
        errors.MALFORMED_BODY: ErrorSpec(400, 400),
        errors.PAYLOAD_TOO_LARGE: ErrorSpec(413, 413),
        errors.UNAUTHORIZED: ErrorSpec(401, 401),
        errors.METHOD_NOT_ALLOWED: ErrorSpec(405, 405),
        errors.NOT_ACCEPTABLE: ErrorSpec(406, 406),
        errors.UNSUPPORTED_MEDIA_TYPE: ErrorSpec(415, 415, "Unsupported media type."),
        errors.THROTTLED: ErrorSpec(429, 429),
        errors.UNAVAILABLE: ErrorSpec(503, 503),
    }

    def body(self, error: ApiError, spec: ErrorSpec, request: Any) -> dict[str, Any]:
        return {
            "data": None,
            "errors": [{"code": spec.code, "message": spec.message or error.message}],
        }


CAPILLARY_V2 = CapillaryV2Dialect()
CAPILLARY_OAUTH = CapillaryOAuthDialect()
