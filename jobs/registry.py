"""Job handlers by kind. An app registers its handlers in its ``jobs.py``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Handler = Callable[..., dict[str, Any]]
HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register ``fn(*, job, progress) -> result dict`` for jobs of ``kind``."""

    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return register
