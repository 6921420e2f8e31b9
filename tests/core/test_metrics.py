"""``/metrics`` and request ids (issue 21 item 6): the Prometheus text format for
staff and the configured network only; requests per dialect and route, the ledger's
writes per store, database and cache errors, the jobs; ``X-Request-ID`` in and out,
and in each JSON log line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from core import cache as shared_cache
from core.observability import JsonFormatter, RequestIdFilter
from jobs.models import Job, Status
from jobs.registry import handler as job_handler
from jobs.tasks import run_job
from stores.models import StoreMembership
from tests.assignments.conftest import RECEIVE_URL, shoplazza_client
from tests.factories import ApiKeyFactory, CouponFactory, CustomerFactory
from tests.series.conftest import ISSUE_URL, capillary_client, make_series
from tests.stores.cache_servers import closed_port, production_caches

pytestmark = pytest.mark.django_db

NOT_FOUND = 404


def scrape(client) -> dict[tuple[str, tuple], float]:
    """Every sample of a scrape: ``(name, sorted labels) -> value``."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def staff(db) -> Client:
    user = get_user_model().objects.create_superuser("ops", password="x")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _fresh_breaker():
    shared_cache.reset()
    yield
    shared_cache.reset()


# --- who may scrape ---------------------------------------------------------------


def test_staff_scrape_the_prometheus_text_format(staff):
    samples = scrape(staff)
    assert value(samples, "couponhub_jobs_up") == 1.0


def test_anyone_else_gets_a_404(client, db, settings, store):
    settings.METRICS_ALLOWED_NETWORKS = []
    user = get_user_model().objects.create_user("shopper", password="x")
    signed_in = Client()
    signed_in.force_login(user)
    # Staff of one store: the figures are every store's.
    scoped = get_user_model().objects.create_user("clerk", password="x", is_staff=True)
    StoreMembership.objects.create(user=scoped, store=store)
    clerk = Client()
    clerk.force_login(scoped)

    assert client.get("/metrics").status_code == NOT_FOUND
    assert signed_in.get("/metrics").status_code == NOT_FOUND
    assert clerk.get("/metrics").status_code == NOT_FOUND


def test_the_configured_network_may_scrape_without_signing_in(db, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.20.0.0/16", "2001:db8::/32"]
    assert Client(REMOTE_ADDR="10.20.3.4").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="2001:db8::7").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="10.21.3.4").get("/metrics").status_code == NOT_FOUND


def test_a_forwarded_for_header_is_not_believed_without_trusted_proxies(db, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    settings.TRUSTED_PROXY_COUNT = 0
    outsider = Client(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="10.20.3.4")
    assert outsider.get("/metrics").status_code == NOT_FOUND

    settings.TRUSTED_PROXY_COUNT = 1
    proxied = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="10.20.3.4")
    assert proxied.get("/metrics").status_code == 200


# --- what is counted --------------------------------------------------------------


def test_requests_are_counted_per_dialect_and_route_not_per_path(staff, store):
    api = Client(HTTP_AUTHORIZATION=f"APIKey {ApiKeyFactory(store=store).token}")
    before = scrape(staff)
    for coupon in CouponFactory.create_batch(3, store=store):
        assert api.get(f"/v1/stores/{store.id}/coupons/{coupon.id}").status_code == 200
    assert api.get(f"/v1/stores/{store.id}/coupons/999").status_code == 404
    for n in range(3):
        assert api.get(f"/no/such/path/{n}").status_code == 404
    assert api.generic("BREW", f"/v1/stores/{store.id}/coupons").status_code == 405
    after = scrape(staff)

    def moved(**labels):
        return value(after, "couponhub_http_requests_total", **labels) - value(
            before, "couponhub_http_requests_total", **labels
        )

    coupon = {"dialect": "paynow", "route": "paynow-coupon", "method": "GET"}
    assert moved(**coupon, status="200") == 3
    assert moved(**coupon, status="404") == 1
    unmatched = {"dialect": "unmatched", "route": "unmatched", "method": "GET"}
    assert moved(**unmatched, status="404") == 3
    coupons = {"dialect": "paynow", "route": "paynow-coupons", "method": "other"}
    assert moved(**coupons, status="405") == 1
    count = "couponhub_http_request_duration_seconds_count"
    assert value(after, count, **coupon) - value(before, count, **coupon) == 4

    # Bounded: no path, id or invented method becomes a label value.
    routes = {
        dict(labels)["route"]
        for name, labels in after
        if name == "couponhub_http_requests_total"
    }
    assert not any(str(store.id) in route or "/" in route for route in routes)
    methods = {
        dict(labels)["method"]
        for name, labels in after
        if name == "couponhub_http_requests_total"
    }
    assert "BREW" not in methods


def test_redemptions_and_rollbacks_are_counted_per_store_when_they_succeed(
    staff, store, django_capture_on_commit_callbacks
):
    api = Client(HTTP_AUTHORIZATION=f"APIKey {ApiKeyFactory(store=store).token}")
    base = f"/v1/stores/{store.id}"
    CouponFactory(
        store=store,
        code="ONCE",
        redeem_limit_store_enabled=True,
        redeem_limit_store_amount=1,
    )
    redeem = f"{base}/redemptions"
    before = scrape(staff)
    # The test's transaction never commits: run what would run at each commit.
    with django_capture_on_commit_callbacks(execute=True):
        first = api.post(redeem, {"code": "ONCE"}, content_type="application/json")
        refused = api.post(redeem, {"code": "ONCE"}, content_type="application/json")
        rollback = f"{redeem}/{first.json()['id']}/rollback"
        rolled = api.post(rollback, {}, content_type="application/json")
        again = api.post(rollback, {}, content_type="application/json")
    after = scrape(staff)

    assert [r.status_code for r in (first, refused, rolled, again)] == [
        200,
        409,
        200,
        409,
    ]
    name = "couponhub_coupon_operations_total"
    for operation in ("redeem", "rollback"):
        labels = {"store": store.code, "operation": operation}
        assert value(after, name, **labels) - value(before, name, **labels) == 1


def test_receives_and_issues_are_counted_per_store(
    staff, store, settings, django_capture_on_commit_callbacks
):
    settings.SERIES_POOL_TARGET = 20
    settings.SERIES_POOL_LOW = 5
    from stores.scopes import PRICE_RULES

    customer = CustomerFactory(store=store, mobile="11223569865")
    coupons = CouponFactory.create_batch(2, store=store)
    series = make_series(store)
    shoplazza = shoplazza_client(ApiKeyFactory(store=store, scopes=[PRICE_RULES]))
    capillary = capillary_client(ApiKeyFactory(store=store))
    before = scrape(staff)

    with django_capture_on_commit_callbacks(execute=True):
        received = shoplazza.post(
            RECEIVE_URL,
            {
                "customer_id": str(customer.id),
                "coupon_ids": [str(c.id) for c in coupons],
            },
            format="json",
        )
        issued = capillary.post(
            ISSUE_URL,
            {"seriesId": series.id, "count": 3, "customer": {"mobile": "11223569865"}},
            format="json",
        )
        unknown = capillary.post(
            ISSUE_URL,
            {"seriesId": series.id, "count": 3, "customer": {"mobile": "999"}},
            format="json",
        )
    after = scrape(staff)

    assert [r.status_code for r in (received, issued, unknown)] == [200, 200, 400]
    name = "couponhub_coupon_operations_total"
    receive = {"store": store.code, "operation": "receive"}
    issue = {"store": store.code, "operation": "issue"}
    assert value(after, name, **receive) - value(before, name, **receive) == 2
    assert value(after, name, **issue) - value(before, name, **issue) == 3


def test_database_errors_are_counted_by_class(staff):
    before = scrape(staff)
    with (
        pytest.raises(DatabaseError),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT * FROM no_such_table")
    after = scrape(staff)

    errors = {
        dict(labels)["error"]: after[(name, labels)] - before.get((name, labels), 0.0)
        for name, labels in after
        if name == "couponhub_database_errors_total"
    }
    assert sum(errors.values()) == 1
    assert set(errors) & {"OperationalError", "ProgrammingError"}


def test_with_the_cache_down_metrics_still_answer_and_count_its_errors(
    staff, settings, monkeypatch
):
    before = scrape(staff)
    with closed_port() as url:
        settings.CACHES = production_caches(monkeypatch, url)
        assert staff.get("/healthz").json()["cache"] == "down"
        after = scrape(staff)
    name = "couponhub_cache_errors_total"
    moved = sum(after[key] - before.get(key, 0.0) for key in after if key[0] == name)
    assert moved == 1


def test_running_jobs_show_their_progress_per_kind(staff):
    now = timezone.now()
    for done, total in ((40, 100), (5, 50)):
        Job.objects.create(
            kind="import_customers",
            status=Status.RUNNING,
            attempts=1,
            started_at=now,
            heartbeat_at=now,
            progress_done=done,
            progress_total=total,
        )
    Job.objects.create(
        kind="import_customers",
        status=Status.RUNNING,
        attempts=1,
        started_at=now - timedelta(hours=2),
        heartbeat_at=now - timedelta(hours=2),
    )
    Job.objects.create(kind="export_coupons")
    Job.objects.create(kind="export_coupons", status=Status.SUCCEEDED)

    samples = scrape(staff)

    kind = {"kind": "import_customers"}
    assert value(samples, "couponhub_jobs", **kind, status="running") == 3
    assert value(samples, "couponhub_job_rows_done", **kind) == 45
    assert value(samples, "couponhub_job_rows_expected", **kind) == 150
    assert value(samples, "couponhub_jobs_abandoned", **kind) == 1
    queued = {"kind": "export_coupons", "status": "queued"}
    assert value(samples, "couponhub_jobs", **queued) == 1
    assert (
        "couponhub_jobs",
        (("kind", "export_coupons"), ("status", "succeeded")),
    ) not in samples


# --- request ids and JSON logs ----------------------------------------------------


@contextmanager
def logged_as_json(name: str) -> Iterator[io.StringIO]:
    """What logger ``name`` logs, formatted as ``LOG_FORMAT=json`` does."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    try:
        yield out
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def json_log():
    with logged_as_json("django.request") as out:
        yield out


@job_handler("test_logs")
def _logs(*, job, progress) -> dict:
    logging.getLogger("tests.core.job").warning("working on it")
    return {}


def test_what_a_job_run_logs_names_the_job():
    job = Job.objects.create(kind="test_logs")

    with logged_as_json("tests.core.job") as out:
        run_job(job.pk)

    line = json.loads(out.getvalue().splitlines()[-1])
    assert (line["message"], line["request_id"]) == ("working on it", f"job-{job.pk}")


def test_a_request_id_sent_is_returned_and_in_the_json_log_line(client, json_log):
    response = client.get("/no/such/page", HTTP_X_REQUEST_ID="req-42.a:b")

    assert response.status_code == 404
    assert response["X-Request-ID"] == "req-42.a:b"
    line = json.loads(json_log.getvalue().splitlines()[-1])
    assert line["request_id"] == "req-42.a:b"
    assert line["level"] == "WARNING"
    assert line["logger"] == "django.request"
    assert line["message"] == "Not Found: /no/such/page"


@pytest.mark.parametrize("sent", [None, "", "x" * 129, "two words", 'a"b', "é"])
def test_a_missing_or_implausible_request_id_is_replaced_by_a_new_one(
    client, json_log, sent
):
    headers = {} if sent is None else {"HTTP_X_REQUEST_ID": sent}
    first = client.get("/no/such/page", **headers)
    second = client.get("/no/such/page", **headers)

    made = first["X-Request-ID"]
    assert len(made) == 32
    assert int(made, 16) >= 0
    assert made != second["X-Request-ID"]
    ids = [json.loads(line)["request_id"] for line in json_log.getvalue().splitlines()]
    assert ids == [made, second["X-Request-ID"]]


def test_log_format_json_is_off_by_default_and_checked(monkeypatch):
    import runpy

    from django.core.exceptions import ImproperlyConfigured

    from tests.stores.cache_servers import BASE_SETTINGS

    monkeypatch.setenv("SECRET_KEY", "x" * 50)
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    built = runpy.run_path(str(BASE_SETTINGS))
    assert built["LOGGING"]["handlers"]["console"]["formatter"] == "text"
    monkeypatch.setenv("LOG_FORMAT", "json")
    built = runpy.run_path(str(BASE_SETTINGS))
    assert built["LOGGING"]["handlers"]["console"]["formatter"] == "json"
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ImproperlyConfigured, match="LOG_FORMAT is text or json"):
        runpy.run_path(str(BASE_SETTINGS))
    monkeypatch.setenv("LOG_FORMAT", "text")
    monkeypatch.setenv("METRICS_ALLOWED_NETWORKS", "10.0.0.0/8,not-a-net")
    with pytest.raises(ImproperlyConfigured, match="not a network: 'not-a-net'"):
        runpy.run_path(str(BASE_SETTINGS))
