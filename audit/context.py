"""Who is acting in this request or command: set once at the edge, read by services.

The dialect views set the API key and dialect, the admin middleware the staff user;
anything else (management commands, jobs) is the system.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from core.actors import SYSTEM, Actor

# The audit trail records the one actor type every service takes.
AuditActor = Actor
_current: ContextVar[AuditActor] = ContextVar("audit_actor", default=SYSTEM)


def current_actor() -> AuditActor:
    return _current.get()


@contextlib.contextmanager
def acting_as(actor: AuditActor) -> Iterator[AuditActor]:
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def set_actor(actor: AuditActor):
    """Set for the rest of this context (a request); returns the reset token."""
    return _current.set(actor)


def reset_actor(token) -> None:
    _current.reset(token)
