"""The series page: counters, and the actions generate / export / disable / extend,
each through the services (and a background job for generation)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from coupons.models import Coupon
from jobs.models import Job, Status
from series import admin as series_admin
from series.models import Series
from tests.factories import (
    AssignmentFactory,
    CouponFactory,
    RedemptionFactory,
    SeriesFactory,
    StoreFactory,
)
from tests.series.test_admin import series_form_data

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:series_series_changelist")


def act(admin_client, action: str, *series: Series, **data):
    return admin_client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [str(s.pk) for s in series], **data},
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def inline_jobs(settings):
    settings.JOBS_RUN_INLINE = True


def test_generate_codes_asks_how_many_first(admin_client):
    series = SeriesFactory()

    response = act(admin_client, "generate_codes", series)

    assert response.status_code == 200
    assert response.templates[0].name == "admin/series/series/action_form.html"
    assert "count" in response.context["form"].fields
    assert Job.objects.count() == 0


def test_generate_codes_runs_a_job_and_shows_its_result(
    admin_client, inline_jobs, django_capture_on_commit_callbacks
):
    series = SeriesFactory(random_code_length=10, code_prefix="GEN-")

    with django_capture_on_commit_callbacks(execute=True):
        response = act(admin_client, "generate_codes", series, count="25", apply="1")

    job = Job.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:jobs_job_change", args=[job.pk])
    assert (job.kind, job.status) == ("generate_codes", Status.SUCCEEDED)
    assert (job.progress_done, job.progress_total) == (25, 25)
    assert job.result["message"] == "Generated 25 codes; the pool now holds 25."
    assert job.created_by.username == "admin"
    pooled = Coupon.objects.filter(series=series, pooled=True)
    assert pooled.count() == 25
    assert all(
        code.startswith("GEN-") for code in pooled.values_list("code", flat=True)
    )

    job_page = admin_client.get(response.url)
    assert b"Done. Generated 25 codes; the pool now holds 25." in job_page.content
    assert b'http-equiv="refresh"' not in job_page.content
    series_page = admin_client.get(
        reverse("admin:series_series_change", args=[series.pk])
    )
    assert b"Generated 25 codes; the pool now holds 25." in series_page.content


def test_a_running_job_page_refreshes_itself(admin_client):
    job = Job.objects.create(
        kind="generate_codes", status=Status.RUNNING, progress_total=10, progress_done=4
    )

    page = admin_client.get(reverse("admin:jobs_job_change", args=[job.pk]))

    assert b'<meta http-equiv="refresh" content="1">' in page.content
    assert b'<progress max="100" value="40"></progress>' in page.content


def test_generate_codes_refuses_more_than_the_cap_before_any_job(admin_client):
    series = SeriesFactory(max_create=10)

    response = act(admin_client, "generate_codes", series, count="11", apply="1")

    assert response.status_code == 302
    assert Job.objects.count() == 0
    follow = admin_client.get(response.url)
    assert any("at most 10 more can be generated" in m for m in messages_of(follow))


def test_generate_codes_rejects_a_bad_count_on_the_form(admin_client):
    series = SeriesFactory()

    response = act(admin_client, "generate_codes", series, count="0", apply="1")

    assert response.status_code == 200
    assert response.context["form"].errors["count"] == [
        "Ensure this value is greater than or equal to 1."
    ]
    assert Job.objects.count() == 0


def test_export_streams_every_code_of_the_selected_series(admin_client):
    series = SeriesFactory()
    other = SeriesFactory(store=series.store)
    CouponFactory(store=series.store, series=series, code="A-1", pooled=True)
    CouponFactory(store=series.store, series=series, code="A-2", redeemed_count=1)
    CouponFactory(store=series.store, series=other, code="B-1")
    CouponFactory(store=series.store, code="MANUAL")

    response = act(admin_client, "export_codes_csv", series)

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(
        'attachment; filename="series-codes-'
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "series_id",
        "code",
        "pooled",
        "enabled",
        "redeemed_count",
        "usable_at",
        "expires_at",
        "created_at",
    ]
    assert sorted((row[0], row[1], row[2], row[4]) for row in rows[1:]) == [
        (str(series.pk), "A-1", "True", "0"),
        (str(series.pk), "A-2", "False", "1"),
    ]


def test_export_reads_rows_only_while_streaming(admin_client):
    series = SeriesFactory()
    CouponFactory(store=series.store, series=series, code="BEFORE")

    response = act(admin_client, "export_codes_csv", series)
    # Nothing was read yet: a code made now is still in the file.
    CouponFactory(store=series.store, series=series, code="AFTER")
    lines = list(response.streaming_content)

    # The header, then one chunk per row, each sent as it is read.
    assert len(lines) == 3
    assert sorted(line.decode().split(",")[1] for line in lines[1:]) == [
        "AFTER",
        "BEFORE",
    ]


def test_disable_stops_the_series_and_records_it(admin_client):
    active, already = SeriesFactory(), SeriesFactory(is_active=False)

    response = act(admin_client, "disable", active, already)

    assert response.status_code == 302
    active.refresh_from_db()
    assert active.is_active is False
    assert messages_of(admin_client.get(response.url)) == ["Disabled 1 series."]
    event = AuditEvent.objects.get(series_id=active.pk)
    assert (event.action, event.actor_label, event.channel) == (
        "disable",
        "admin",
        "admin",
    )


def test_extend_expiry_moves_the_codes_that_expire_with_the_series(admin_client):
    old = timezone.now().replace(microsecond=0) + timedelta(days=3)
    new = datetime(2100, 1, 31, 23, 59, tzinfo=UTC)
    series = SeriesFactory(valid_till=old)
    bounded = CouponFactory(store=series.store, series=series, expires_at=old)
    own = CouponFactory(
        store=series.store, series=series, expires_at=old - timedelta(days=1)
    )
    assignment = AssignmentFactory(
        store=series.store, coupon=bounded, series=series, valid_till=old
    )

    form = act(admin_client, "extend_expiry", series)
    response = act(
        admin_client,
        "extend_expiry",
        series,
        apply="1",
        valid_till_0="2100-01-31",
        valid_till_1="23:59:00",
    )

    assert form.status_code == 200
    assert response.status_code == 302
    series.refresh_from_db()
    bounded.refresh_from_db()
    own.refresh_from_db()
    assignment.refresh_from_db()
    assert series.valid_till == new
    assert bounded.expires_at == new
    assert own.expires_at == old - timedelta(days=1)
    assert assignment.valid_till == new
    assert messages_of(admin_client.get(response.url)) == [
        f"{series}: expires 2100-01-31 23:59 UTC; 1 code(s) moved with it."
    ]


def test_extend_expiry_refuses_an_earlier_date_and_changes_nothing(admin_client):
    old = timezone.now().replace(microsecond=0) + timedelta(days=30)
    series = SeriesFactory(valid_till=old)
    open_ended = SeriesFactory(valid_till=None)
    earlier = old - timedelta(days=1)

    response = act(
        admin_client,
        "extend_expiry",
        series,
        open_ended,
        apply="1",
        valid_till_0=earlier.strftime("%Y-%m-%d"),
        valid_till_1=earlier.strftime("%H:%M:%S"),
    )

    series.refresh_from_db()
    assert series.valid_till == old
    assert sorted(messages_of(admin_client.get(response.url))) == sorted(
        [
            f"{series}: The new expiry must be later than the current one "
            f"({old:%Y-%m-%d %H:%M} UTC).",
            f"{open_ended}: The series has no expiry: there is nothing to extend.",
        ]
    )


def _readonly_fields(response) -> dict[str, str]:
    return {
        field.field["name"]: field.contents()
        for fieldset in response.context["adminform"]
        for line in fieldset
        for field in line
        if field.is_readonly
    }


def test_change_page_shows_issued_redeemed_and_pool_counters(admin_client):
    series = SeriesFactory(max_create=100)
    Series.objects.filter(pk=series.pk).update(issued_count=2)
    for n in range(3):
        CouponFactory(store=series.store, series=series, pooled=True, code=f"P{n}")
    r1 = CouponFactory(store=series.store, series=series, redeemed_count=2, code="R1")
    r2 = CouponFactory(store=series.store, series=series, redeemed_count=1, code="R2")
    # Each redemption carries its coupon's series, as the redeem service writes it;
    # a rolled-back use is not counted, nor another series' use.
    for coupon in (r1, r1, r2):
        RedemptionFactory(coupon=coupon, series=series)
    RedemptionFactory(coupon=r2, series=series, rolled_back_at=timezone.now())
    other = SeriesFactory(store=series.store)
    RedemptionFactory(
        coupon=CouponFactory(store=series.store, series=other, code="O1"),
        series=other,
    )

    response = admin_client.get(reverse("admin:series_series_change", args=[series.pk]))

    fields = _readonly_fields(response)
    assert (fields["issued_count"], fields["redeemed"], fields["pool_remaining"]) == (
        "2",
        "3",
        "3",
    )


def test_change_page_counts_redemptions_and_pool_up_to_a_cap(admin_client, monkeypatch):
    """A pool of millions of codes is not counted to the end: the page says "more
    than" past COUNT_SHOWN, with both counts LIMITed (issue 22)."""
    monkeypatch.setattr(series_admin, "COUNT_SHOWN", 2)
    series = SeriesFactory(max_create=100)
    for n in range(3):
        coupon = CouponFactory(
            store=series.store, series=series, pooled=True, code=f"P{n}"
        )
        RedemptionFactory(coupon=coupon, series=series)

    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(
            reverse("admin:series_series_change", args=[series.pk])
        )

    fields = _readonly_fields(response)
    assert (fields["redeemed"], fields["pool_remaining"]) == (
        "more than 2",
        "more than 2",
    )
    counts = [
        q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"].upper()
    ]
    assert counts
    assert all("LIMIT 3" in sql for sql in counts), counts


def test_add_series_goes_through_the_service_and_fills_the_pool(admin_client, settings):
    settings.SERIES_POOL_TARGET = 7
    store = StoreFactory()
    data = series_form_data(
        Series(description="Welcome", discount_value=5, max_create=50),
        store=str(store.pk),
    )
    data.pop("code_format")

    response = admin_client.post(reverse("admin:series_series_add"), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    series = Series.objects.get(description="Welcome")
    assert series.code_format == "random"
    assert Coupon.objects.filter(series=series, pooled=True).count() == 7


def test_add_series_shows_the_service_rule_on_the_form(admin_client):
    store = StoreFactory()
    data = series_form_data(
        Series(description="Bad", discount_value=5, max_create=50),
        store=str(store.pk),
        discount_type="PERC",
        discount_value="150",
    )
    data.pop("code_format")

    response = admin_client.post(reverse("admin:series_series_add"), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["discount_value"] == [
        "A percentage cannot exceed 100."
    ]
    assert not Series.objects.filter(description="Bad").exists()
