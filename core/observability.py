"""Each request's id, its metrics, and logs as JSON lines (``LOG_FORMAT=json``).

``RequestMiddleware`` (first in ``MIDDLEWARE``) takes the client's ``X-Request-ID``
when it is a plausible id (1-128 characters of letters, digits and ``._:-``; anything
else could forge log lines or fill them) or makes one (32 hex digits), returns it in
the response's ``X-Request-ID`` header, and keeps it in a context variable that
``RequestIdFilter`` puts on every log record of the request (until the response is
finished: ``clear``, connected by ``core.apps``). It also counts the
request and its time per dialect and route (``core.metrics``).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from core import metrics

HEADER = "X-Request-ID"
_META = "HTTP_X_REQUEST_ID"
_VALID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

request_id: ContextVar[str] = ContextVar("request_id", default="")

UNMATCHED = "unmatched"
# A label's values must stay few: any other method a client invents is "other".
METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)


def incoming_id(request) -> str:
    """The client's request id if it is a plausible one, else a new one."""
    given = request.META.get(_META, "")
    if _VALID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def route_of(request) -> tuple[str, str]:
    """``(dialect, route)`` of a resolved request: the dialect is the module of
    its view under ``<app>/api/`` (``paynow``, ``capillary``, ...), else the part of
    the site (``admin``, ``core``); the route is the URL's name. Both come from
    the URL configuration, so their values are as few as the routes."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNMATCHED, UNMATCHED
    module = getattr(match.func, "__module__", "") or ""
    parts = module.split(".")
    if "api" in parts[:-1]:
        dialect = parts[-1]
    elif match.namespace:
        dialect = match.namespaces[0]
    else:
        dialect = parts[0] or "other"
    return dialect, match.url_name or match.route or UNMATCHED


class RequestMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = incoming_id(request)
        request.request_id = rid
        # Kept until the response is finished (``clear``), not only while the
        # middleware runs: Django logs a 4xx/5xx answer after every middleware.
        request_id.set(rid)
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        dialect, route = route_of(request)
        method = request.method if request.method in METHODS else "other"
        metrics.observe_request(
            dialect, route, method, str(response.status_code), elapsed
        )
        response[HEADER] = rid
        return response


@contextmanager
def log_context(value: str) -> Iterator[None]:
    """What is logged inside carries ``value`` as its request id: work outside a
    request, such as a background job's run (``job-<id>``)."""
    token = request_id.set(value)
    try:
        yield
    finally:
        request_id.reset(token)


def clear(**kwargs) -> None:
    """``request_finished``: what this thread logs next is no request's."""
    request_id.set("")


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (empty outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request_id,
    and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or request_id.get(),
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
