"""The one family of domain errors that services raise.

A service raises ``DomainError(reason, message)`` with a stable ``reason`` string; each
dialect maps the reason to its vendor's HTTP status, code and message in its own error
table (``core/dialects``). Services never know a vendor's field names or codes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class FieldIssue:
    """One invalid input: where (a dotted path), a machine code and a human message."""

    path: str
    code: str
    message: str


class DomainError(Exception):
    def __init__(
        self,
        reason: str,
        message: str = "",
        *,
        fields: list[FieldIssue] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message or reason)
        self.reason = reason
        self.message = message or reason.replace("_", " ").capitalize() + "."
        self.fields = fields or []
        self.details = details or {}

    def __repr__(self) -> str:
        return f"DomainError({self.reason!r}, {self.message!r})"

    def renamed(self, names: Mapping[str, str]) -> DomainError:
        """This error with its fields in a dialect's names (``names``: the domain's
        name -> the dialect's): the paths of ``fields``, and the message where it
        names them (``discount_value: ...``). A service never knows a vendor's field
        names; the dialect maps them (DESIGN.md, Layers)."""
        message, fields = self.message, []
        for issue in self.fields:
            head, dot, rest = issue.path.partition(".")
            if head not in names:
                fields.append(issue)
                continue
            path = names[head] + dot + rest
            message = re.sub(
                rf"(?<![\w.]){re.escape(issue.path)}(?=[.:])",
                lambda _match, path=path: path,
                message,
            )
            fields.append(replace(issue, path=path))
        return DomainError(self.reason, message, fields=fields, details=self.details)


def summary(fields: list[FieldIssue]) -> str:
    """The message of an invalid input: its first three issues, as every dialect
    shows them."""
    if not fields:
        return "The request is invalid."
    shown = "; ".join(f"{issue.path}: {issue.message}" for issue in fields[:3])
    more = f" (and {len(fields) - 3} more)" if len(fields) > 3 else ""
    return f"Invalid request: {shown}{more}"


def invalid_input(fields: list[FieldIssue]) -> DomainError:
    """An input a service found invalid, answered as a serializer's would be."""
    return DomainError(INVALID_INPUT, summary(fields), fields=fields)


@dataclass
class ApiError:
    """A request failure normalised from any exception, for a dialect to render."""

    reason: str
    message: str
    fields: list[FieldIssue] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


# Reasons shared by every dialect (request-level failures, not domain rules).
INVALID_INPUT = "invalid_input"
MALFORMED_BODY = "malformed_body"
PAYLOAD_TOO_LARGE = "payload_too_large"
UNAUTHORIZED = "unauthorized"
FORBIDDEN = "forbidden"
MISSING_SCOPE = "missing_scope"
STORE_INACTIVE = "store_inactive"
NOT_FOUND = "not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"
UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
NOT_ACCEPTABLE = "not_acceptable"
THROTTLED = "throttled"
UNAVAILABLE = "unavailable"
IDEMPOTENCY_KEY_INVALID = "idempotency_key_invalid"
IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
IDEMPOTENCY_IN_PROGRESS = "idempotency_in_progress"

# Reasons that any dialect can meet, with their HTTP status; a dialect's own table may
# override them, otherwise its code for that status (or its fallback code) is used.
SHARED_STATUS = {
    PAYLOAD_TOO_LARGE: 413,
    IDEMPOTENCY_KEY_INVALID: 400,
    IDEMPOTENCY_KEY_REUSED: 422,
    IDEMPOTENCY_IN_PROGRESS: 409,
}
