"""NewStore v0 error bodies: ``{"error_code": "...", "message": "..."}``.

Every 400 is ``invalid_request`` (the message names the field and the problem); each
409 has its own code, so a client can tell a taken label from an exhausted pattern (or
from a retry while its Idempotency-Key's first request still runs).
"""

from __future__ import annotations

from typing import Any

from core import errors
from core.dialects.base import Dialect, ErrorSpec
from core.errors import ApiError

NOT_FOUND = ErrorSpec(404, "not_found")


class NewStoreDialect(Dialect):
    name = "newstore"
    fallback = ErrorSpec(400, "bad_request")
    errors = {
        errors.INVALID_INPUT: ErrorSpec(400, "invalid_request"),
        errors.MALFORMED_BODY: ErrorSpec(400, "invalid_request"),
        errors.PAYLOAD_TOO_LARGE: ErrorSpec(413, "payload_too_large"),
        errors.UNAUTHORIZED: ErrorSpec(401, "unauthorized"),
        errors.FORBIDDEN: ErrorSpec(403, "forbidden"),
        errors.MISSING_SCOPE: ErrorSpec(403, "forbidden"),
        errors.STORE_INACTIVE: ErrorSpec(403, "forbidden"),
        errors.NOT_FOUND: NOT_FOUND,
        errors.METHOD_NOT_ALLOWED: ErrorSpec(405, "method_not_allowed"),
        errors.NOT_ACCEPTABLE: ErrorSpec(406, "not_acceptable"),
        errors.UNSUPPORTED_MEDIA_TYPE: ErrorSpec(415, "unsupported_media_type"),
        errors.THROTTLED: ErrorSpec(429, "too_many_requests"),
        errors.UNAVAILABLE: ErrorSpec(503, "service_unavailable"),
        # Idempotency-Key (stores.idempotency)
        errors.IDEMPOTENCY_KEY_INVALID: ErrorSpec(400, "invalid_request"),
        errors.IDEMPOTENCY_KEY_REUSED: ErrorSpec(422, "unprocessable_entity"),
        errors.IDEMPOTENCY_IN_PROGRESS: ErrorSpec(409, "request_in_progress"),
        # legacy definitions, templates and their coupons
        "legacy_definition_not_found": NOT_FOUND,
        "legacy_template_not_found": NOT_FOUND,
        "legacy_label_not_found": NOT_FOUND,
        "legacy_coupon_not_found": NOT_FOUND,
        # The core coupon went away under a legacy coupon's update (deleted through
        # another dialect while the update waited for its lock).
        "coupon_not_found": NOT_FOUND,
        "legacy_label_taken": ErrorSpec(409, "duplicate_label"),
        "legacy_code_space_exhausted": ErrorSpec(409, "code_space_exhausted"),
        "legacy_rule_conflict": ErrorSpec(409, "validation_rule_conflict"),
        "legacy_definition_in_use": ErrorSpec(409, "coupon_definition_in_use"),
        "legacy_definition_deleted": ErrorSpec(409, "coupon_definition_deleted"),
        "code_taken": ErrorSpec(409, "code_taken"),
    }

    def body(self, error: ApiError, spec: ErrorSpec, request: Any) -> dict[str, Any]:
        return {"error_code": spec.code, "message": spec.message or error.message}


NEWSTORE = NewStoreDialect()
