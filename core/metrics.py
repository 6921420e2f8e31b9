"""Prometheus metrics (prometheus-client), served at ``/metrics`` (``core.views``).

What is counted, and where:

- **Requests**: ``couponhub_http_requests_total`` and
  ``couponhub_http_request_duration_seconds`` per dialect, route and method (and
  status for the count), observed by ``core.observability.RequestMiddleware``. The
  route is the URL's name (``paynow-coupon``), never the raw path, so ids in paths do
  not make a series each; a path no route matches is ``unmatched``.
- **The ledger**: ``couponhub_coupon_operations_total{store, operation}``: codes
  issued, coupons received, redemptions and rollbacks, counted by the services when
  their transaction commits (``count_on_commit``), so a refused or rolled-back
  attempt counts nothing. One series per store and operation.
- **Errors**: ``couponhub_database_errors_total{error}`` (every database error a
  query raised, by its DB-API class: a wrapper on each connection, ``ready``) and
  ``couponhub_cache_errors_total{error}`` (every failed cache call, ``core.cache``).
- **Jobs**: read from the database when scraped (``jobs.metrics``, registered here
  by the jobs app): queued and running jobs per kind, the rows done and to do of
  the running ones.

Several processes (gunicorn workers, Celery workers) count apart: with
``PROMETHEUS_MULTIPROC_DIR`` set in their environment, prometheus-client keeps each
process's counters in a file there and a scrape sums them (its multiprocess mode;
``config/gunicorn.py`` empties the directory at start and drops a dead worker's
gauges). Without it each process reports its own counts (development, tests).
"""

from __future__ import annotations

import os

from django.db import DatabaseError, transaction
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.registry import Collector

CONTENT_TYPE = CONTENT_TYPE_LATEST

REQUESTS = Counter(
    "couponhub_http_requests_total",
    "HTTP requests answered, per dialect, route (URL name), method and status.",
    ["dialect", "route", "method", "status"],
)
LATENCY = Histogram(
    "couponhub_http_request_duration_seconds",
    "Time to answer an HTTP request, per dialect, route (URL name) and method.",
    ["dialect", "route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
OPERATIONS = Counter(
    "couponhub_coupon_operations_total",
    "Ledger writes committed, per store (its code) and operation: issue (codes "
    "issued), receive (coupons received), redeem, rollback.",
    ["store", "operation"],
)
DATABASE_ERRORS = Counter(
    "couponhub_database_errors_total",
    "Database errors raised by queries, per DB-API error class.",
    ["error"],
)
CACHE_ERRORS = Counter(
    "couponhub_cache_errors_total",
    "Failed calls to the shared cache, per error class.",
    ["error"],
)

# Each request's two series, by their labels: ``labels()`` costs several times the
# observation itself, and there are as few of these as routes x methods x statuses.
_request_series: dict[tuple[str, str, str, str], tuple] = {}


def observe_request(
    dialect: str, route: str, method: str, status: str, seconds: float
) -> None:
    key = (dialect, route, method, status)
    series = _request_series.get(key)
    if series is None:
        series = _request_series.setdefault(
            key,
            (
                LATENCY.labels(dialect, route, method),
                REQUESTS.labels(dialect, route, method, status),
            ),
        )
    series[0].observe(seconds)
    series[1].inc()


ISSUE = "issue"
RECEIVE = "receive"
REDEEM = "redeem"
ROLLBACK = "rollback"


def count_on_commit(*, store_code: str, operation: str, n: int = 1) -> None:
    """Count ``n`` ledger writes of ``operation`` once the transaction commits
    (at once outside a transaction); nothing if it rolls back."""
    if n <= 0:
        return
    transaction.on_commit(lambda: OPERATIONS.labels(store_code, operation).inc(n))


def database_error_counter(execute, sql, params, many, context):
    """An ``execute_wrapper`` that counts the database errors of every query."""
    try:
        return execute(sql, params, many, context)
    except DatabaseError as exc:
        DATABASE_ERRORS.labels(type(exc).__name__).inc()
        raise


def watch_connection(sender, connection, **kwargs) -> None:
    """``connection_created``: count the new connection's errors (once per
    connection object: a reconnect keeps its wrappers)."""
    if database_error_counter not in connection.execute_wrappers:
        connection.execute_wrappers.append(database_error_counter)


def cache_failed(exc: BaseException) -> None:
    CACHE_ERRORS.labels(type(exc).__name__).inc()


# Collectors read at scrape time, registered by their apps (``jobs``: its jobs).
_collectors: list[Collector] = []


def register(collector: Collector) -> None:
    """Have ``collector`` read when scraped (an app's ``ready``; once each)."""
    if collector not in _collectors:
        _collectors.append(collector)


def exposition() -> bytes:
    """The metrics of every process (multiprocess mode) or of this one, and the
    jobs, in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    scraped = CollectorRegistry(auto_describe=False)
    for collector in _collectors:
        scraped.register(collector)
    return generate_latest(registry) + generate_latest(scraped)
