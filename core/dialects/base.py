"""What every dialect shares: exception normalisation and the error-table lookup."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import (
    DatabaseError,
    InterfaceError,
    InternalError,
    OperationalError,
    connection,
)
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response

from core import errors
from core.errors import ApiError, DomainError, FieldIssue
from core.parsers import PayloadTooLarge, too_large_message

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ErrorSpec:
    """How one dialect answers one reason: HTTP status, vendor code, vendor message.

    ``message=None`` keeps the error's own message (e.g. a validation summary).
    """

    status: int
    code: str | int
    message: str | None = None


class Dialect:
    """A vendor's error format. Subclasses give a table and a body shape."""

    name: str = ""
    errors: Mapping[str, ErrorSpec] = {}
    # A reason missing from the table is still a client error, never a 5xx.
    fallback: ErrorSpec = ErrorSpec(400, "bad-request")

    def spec_for(self, reason: str) -> ErrorSpec:
        spec = self.errors.get(reason)
        if spec is not None:
            return spec
        status = errors.SHARED_STATUS.get(reason)
        if status is not None:
            return ErrorSpec(status, self.code_for_status(status))
        return self.fallback

    def code_for_status(self, status: int) -> str | int:
        """The vendor code this dialect uses for a status (its fallback's otherwise)."""
        for spec in self.errors.values():
            if spec.status == status and spec.message is None:
                return spec.code
        return self.fallback.code

    def body(self, error: ApiError, spec: ErrorSpec, request: Any) -> Any:
        raise NotImplementedError

    def render(self, error: ApiError, request: Any) -> Response:
        spec = self.spec_for(error.reason)
        response = Response(self.body(error, spec, request), status=spec.status)
        for header, value in error.headers.items():
            response[header] = value
        return response


class ScopedPermissionDenied(exceptions.PermissionDenied):
    """A 403 with a domain reason (missing scope, inactive store, wrong store)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def _flatten(detail: Any, prefix: str = "") -> list[FieldIssue]:
    """Every leaf of a DRF error detail, in order; a loop, not recursion, so a
    detail however deep cannot reach the recursion limit."""
    issues: list[FieldIssue] = []
    pending: list[tuple[Any, str]] = [(detail, prefix)]
    while pending:
        detail, prefix = pending.pop()
        if isinstance(detail, Mapping):
            children = []
            for key, value in detail.items():
                key = str(key)
                if key in ("non_field_errors", "__all__"):
                    path = prefix or "$"
                else:
                    path = f"{prefix}.{key}" if prefix else key
                children.append((value, path))
            pending.extend(reversed(children))
        elif isinstance(detail, list):
            pending.extend((value, prefix) for value in reversed(detail))
        else:
            code = getattr(detail, "code", None) or "invalid"
            issues.append(
                FieldIssue(path=prefix or "$", code=str(code), message=str(detail))
            )
    return issues


def normalise(exc: Exception) -> ApiError | None:
    """Turn any exception a request can raise into an ApiError; None = a real bug."""
    if isinstance(exc, DomainError):
        return ApiError(exc.reason, exc.message, list(exc.fields), dict(exc.details))
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        return ApiError(errors.INVALID_INPUT, errors.summary(fields), fields)
    if isinstance(exc, exceptions.ParseError):
        return ApiError(errors.MALFORMED_BODY, str(exc.detail))
    if isinstance(exc, PayloadTooLarge | RequestDataTooBig):
        # Ours from the JSON parser, Django's from request.body: the same limit.
        return ApiError(errors.PAYLOAD_TOO_LARGE, too_large_message())
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        # A 401 must name the scheme (RFC 9110); DRF puts it on the exception.
        auth_header = getattr(exc, "auth_header", None)
        headers = {"WWW-Authenticate": auth_header} if auth_header else {}
        return ApiError(errors.UNAUTHORIZED, str(exc.detail), headers=headers)
    if isinstance(exc, ScopedPermissionDenied):
        return ApiError(exc.reason, str(exc.detail))
    if isinstance(exc, exceptions.PermissionDenied | DjangoPermissionDenied):
        return ApiError(errors.FORBIDDEN, str(getattr(exc, "detail", "Forbidden.")))
    if isinstance(exc, exceptions.NotFound | Http404):
        return ApiError(errors.NOT_FOUND, "Not found.")
    if isinstance(exc, exceptions.MethodNotAllowed):
        return ApiError(errors.METHOD_NOT_ALLOWED, str(exc.detail))
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return ApiError(errors.UNSUPPORTED_MEDIA_TYPE, str(exc.detail))
    if isinstance(exc, exceptions.NotAcceptable):
        return ApiError(errors.NOT_ACCEPTABLE, str(exc.detail))
    if isinstance(exc, exceptions.Throttled):
        headers = {"Retry-After": str(int(exc.wait))} if exc.wait is not None else {}
        return ApiError(errors.THROTTLED, str(exc.detail), headers=headers)
    if isinstance(exc, OperationalError | InterfaceError) or _connection_lost(exc):
        logger.warning("database unavailable: %s", exc)
        return ApiError(
            errors.UNAVAILABLE,
            "The service is temporarily unavailable. Try again shortly.",
            headers={"Retry-After": "5"},
        )
    return None


def _connection_lost(exc: Exception) -> bool:
    """A database error that means the database went away, though not raised as an
    OperationalError. Behind PgBouncer, a COMMIT after the transaction's server died
    gets two error results (the server's FATAL, relayed, then the pooler's own),
    which psycopg raises as an InternalError of its own, without a SQLSTATE (every
    error the server sends has one); or the connection is broken or was dropped."""
    if not isinstance(exc, DatabaseError):
        return False
    raw = connection.connection
    if raw is None or getattr(raw, "broken", False):
        return True
    cause = exc.__cause__
    return (
        isinstance(exc, InternalError)
        and cause is not None
        and getattr(cause, "sqlstate", "") is None
    )


def dialect_of(view: Any) -> Dialect:
    from core.dialects.paynow import PAYNOW

    return getattr(view, "dialect", None) or PAYNOW


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    error = normalise(exc)
    if error is None:
        return None
    return dialect_of(context.get("view")).render(error, context.get("request"))
