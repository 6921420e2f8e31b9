"""issue_to_customers, set-based: exact counts, caps within and across batches,
dead codes, the rejected rows, resuming after an interruption at several points,
and the admin's background job."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from prometheus_client import REGISTRY

from assignments.models import Assignment
from audit.models import AuditEvent
from core.actors import Actor
from coupons.models import Coupon
from customers.refs import CustomerRef
from jobs import services as job_services
from jobs.models import Job, Status
from series import bulk_issue, pool
from series.issue import service as issue_service
from series.issue import store as issue_store
from series.models import CodeFormat, Series
from tests.factories import (
    CouponFactory,
    CustomerFactory,
    SeriesFactory,
    StoreFactory,
)
from tests.series.conftest import make_series

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_pools(settings):
    settings.SERIES_POOL_TARGET = 30
    settings.SERIES_POOL_LOW = 5


@pytest.fixture
def store():
    return StoreFactory(currency="EUR")


@pytest.fixture
def people(store):
    return CustomerFactory.create_batch(12, store=store)


def write_list(tmp_path, people, *, extra: str = "", name: str = "list.csv"):
    """One mobile per line (lines 2..N+1), then ``extra`` lines as they are."""
    path = tmp_path / name
    path.write_text(
        "mobile,email,external_id,id\n"
        + "".join(f"{p.mobile},,,\n" for p in people)
        + extra
    )
    return path


def run(series: Series, path, **kwargs) -> bulk_issue.BulkIssueResult:
    return bulk_issue.issue_to_customers(series=series, path=path, **kwargs)


def holdings(series: Series) -> dict[int, int]:
    rows = Assignment.objects.filter(series=series).values_list("customer_id", flat=1)
    counts: dict[int, int] = {}
    for customer_id in rows:
        counts[customer_id] = counts.get(customer_id, 0) + 1
    return counts


def assert_consistent(series: Series, expected: int) -> None:
    """``expected`` codes went out, each once, each to its holder, counted once."""
    series.refresh_from_db()
    rows = list(Assignment.objects.filter(series=series).select_related("coupon"))
    assert series.issued_count == expected
    assert len(rows) == expected
    if not series.is_generic:
        assert len({row.coupon_id for row in rows}) == expected
        for row in rows:
            assert row.coupon.pooled is False
            assert row.coupon.usable_by_customer_id == row.customer_id
    events = AuditEvent.objects.filter(series_id=series.id, action="issue")
    assert events.count() == expected
    assert {e.object_id for e in events} == {row.id for row in rows}


def test_issues_one_code_to_each_customer_in_batches(store, people, tmp_path):
    series = make_series(store, expiry_strategy_type="DAYS", expiry_strategy_value=3)
    path = write_list(tmp_path, people)

    result = run(series, path, batch_size=5)

    assert (result.issued, result.already_done, result.problems) == (12, 0, [])
    assert holdings(series) == {p.id: 1 for p in people}
    assert_consistent(series, 12)
    assignment = Assignment.objects.filter(series=series).first()
    assert assignment.channel == "command"
    assert assignment.valid_till is not None
    assert assignment.coupon.expires_at == assignment.valid_till
    line = 2 + [p.id for p in people].index(assignment.customer_id)
    marker = f"issue_to_customers:{bulk_issue.file_digest(path)}:{line}"
    assert assignment.purpose == marker
    event = AuditEvent.objects.get(object_id=assignment.id)
    assert event.changes["purpose"] == marker
    assert event.channel == "command"


def test_the_codes_issued_are_counted_in_the_metrics_once_committed(
    store, people, tmp_path, django_capture_on_commit_callbacks
):
    series = make_series(store, max_create=10)
    labels = {"store": store.code, "operation": "issue"}
    name = "couponhub_coupon_operations_total"
    before = REGISTRY.get_sample_value(name, labels) or 0

    with django_capture_on_commit_callbacks(execute=True):
        run(series, write_list(tmp_path, people), batch_size=5)

    assert REGISTRY.get_sample_value(name, labels) - before == 10


def test_the_series_cap_is_reached_in_the_middle_of_a_batch(store, people, tmp_path):
    series = make_series(store, max_create=7)
    # One issued through the API first: 6 left for the list.
    outsider = CustomerFactory(store=store)
    issue_service.series_issue(
        store=store,
        series_id=series.id,
        customer=CustomerRef.by_id(outsider.id),
        count=1,
        actor=bulk_issue.COMMAND,
    )

    result = run(series, write_list(tmp_path, people), batch_size=4)

    assert result.issued == 6
    assert [(p.line, p.reason) for p in result.problems] == [
        (line, "out_of_stock: Out of stock.") for line in range(8, 14)
    ]
    assert set(holdings(series)) == {outsider.id, *(p.id for p in people[:6])}
    assert_consistent(series, 7)


def test_the_per_customer_cap_counts_what_each_already_holds(store, people, tmp_path):
    series = make_series(store, max_vouchers_per_user=2)
    for person, count in ((people[0], 2), (people[1], 1)):
        issue_service.series_issue(
            store=store,
            series_id=series.id,
            customer=CustomerRef.by_id(person.id),
            count=count,
            actor=bulk_issue.COMMAND,
        )

    result = run(series, write_list(tmp_path, people[:3]))

    assert result.issued == 2
    assert [(p.line, p.reason) for p in result.problems] == [
        (2, "per_customer_limit: Per customer limit.")
    ]
    assert holdings(series) == {people[0].id: 2, people[1].id: 2, people[2].id: 1}
    assert_consistent(series, 5)


def test_one_per_customer_refuses_those_who_hold_one(store, people, tmp_path):
    series = make_series(store, is_multiple_vouchers_per_user_allowed=False)
    issue_service.series_issue(
        store=store,
        series_id=series.id,
        customer=CustomerRef.by_id(people[1].id),
        count=1,
        actor=bulk_issue.COMMAND,
    )

    result = run(series, write_list(tmp_path, people[:3]))

    assert result.issued == 2
    assert [(p.line, p.reason) for p in result.problems] == [
        (3, "customer_already_holds: Customer already holds.")
    ]
    assert holdings(series) == {p.id: 1 for p in people[:3]}


def test_retired_codes_are_never_issued(store, people, tmp_path):
    series = make_series(store)  # a pool of 30
    first = list(
        Coupon.objects.filter(series=series, pooled=True)
        .order_by("id")
        .values_list("id", flat=True)[:20]
    )
    pool.series_pool_retire(series=series, coupon_ids=first[:10])
    pool.series_pool_retire(series=series, coupon_ids=first[10:], archive=True)

    result = run(series, write_list(tmp_path, people), batch_size=5)

    assert result.issued == 12
    issued = set(
        Assignment.objects.filter(series=series).values_list("coupon_id", flat=True)
    )
    assert not issued & set(first)
    assert Coupon.objects.filter(id__in=first, pooled=True).count() == 20
    assert_consistent(series, 12)


def test_a_dry_pool_is_refilled_under_the_lock(store, people, tmp_path, settings):
    settings.SERIES_POOL_TARGET = 3
    series = make_series(store, max_create=10)  # a pool of 3

    result = run(series, write_list(tmp_path, people), batch_size=5)

    assert result.issued == 10
    assert [p.line for p in result.problems] == [12, 13]
    assert_consistent(series, 10)


def test_an_uploaded_series_issues_its_live_codes_and_reports_the_rest(
    store, people, tmp_path
):
    series = SeriesFactory(store=store, code_format=CodeFormat.UPLOADED)
    codes = [
        CouponFactory(store=store, code=f"UPL-{n}", series=series, pooled=True)
        for n in range(5)
    ]
    pool.series_pool_retire(series=series, coupon_ids=[codes[0].id])

    result = run(series, write_list(tmp_path, people[:6]), batch_size=4)

    assert result.issued == 4
    assert [(p.line, p.reason) for p in result.problems] == [
        (6, "pool_empty: The series has no code left to issue."),
        (7, "pool_empty: The series has no code left to issue."),
    ]
    issued = set(
        Assignment.objects.filter(series=series).values_list("coupon__code", flat=1)
    )
    assert issued == {"UPL-1", "UPL-2", "UPL-3", "UPL-4"}
    assert_consistent(series, 4)


def test_a_generic_series_gives_everyone_its_code(store, people, tmp_path):
    series = make_series(store, generic_code="WELCOME10", max_create=5)

    result = run(series, write_list(tmp_path, people[:6]))

    assert result.issued == 5
    assert [(p.line, p.reason) for p in result.problems] == [
        (7, "out_of_stock: Out of stock.")
    ]
    codes = set(
        Assignment.objects.filter(series=series).values_list("coupon__code", flat=1)
    )
    assert codes == {"WELCOME10"}
    assert_consistent(series, 5)


def test_rejected_rows_are_reported_with_their_reason(store, people, tmp_path):
    series = make_series(store)
    other_store = CustomerFactory(store=StoreFactory())
    a, b = people[0], people[1]
    extra = (
        f",{a.email.upper()},,\n"  # line 4: a again, by email: a duplicate
        "0000,,,\n"  # 5: nobody
        ",,,\n"  # 6: no identifier
        ",,,12x\n"  # 7: a bad id
        f"{a.mobile},{b.email},,\n"  # 8: two customers: nobody is both
        f"{other_store.mobile},,,\n"  # 9: another store's
        f",,{b.external_id},{b.id}\n"  # 10: b, by two identifiers: a duplicate
        f",,,{people[2].id}\n"  # 11: by id
    )
    path = write_list(tmp_path, people[:2], extra=extra)
    out = StringIO()

    call_command(
        "issue_to_customers", "--series", str(series.id), str(path), stdout=out
    )

    assert "issued 3, already issued 0, rejected 7" in out.getvalue()
    report = (tmp_path / "list.csv.rejected.csv").read_text().splitlines()
    assert report == [
        "line,reason",
        "4,duplicate of line 2",
        "5,customer not found",
        "6,no identifier",
        "7,invalid id '12x'",
        "8,customer not found",
        "9,customer not found",
        "10,duplicate of line 3",
    ]
    assert holdings(series) == {a.id: 1, b.id: 1, people[2].id: 1}
    # A rerun issues nothing more and reports the same rows.
    out = StringIO()
    call_command(
        "issue_to_customers", "--series", str(series.id), str(path), stdout=out
    )
    assert "issued 0, already issued 3, rejected 7" in out.getvalue()
    report_again = (tmp_path / "list.csv.rejected.csv").read_text().splitlines()
    assert report_again == report


def test_a_disabled_series_stops_the_command(store, people, tmp_path):
    series = make_series(store)
    Series.objects.filter(pk=series.pk).update(is_active=False)
    with pytest.raises(CommandError, match="is disabled: nothing was issued"):
        call_command(
            "issue_to_customers",
            "--series",
            str(series.id),
            str(write_list(tmp_path, people)),
            stdout=StringIO(),
        )
    assert not Assignment.objects.filter(series=series).exists()


def test_dry_run_counts_the_caps_across_batches(store, people, tmp_path):
    series = make_series(store, max_create=7)

    result = run(series, write_list(tmp_path, people), batch_size=5, dry_run=True)

    assert (result.would_issue, result.issued, len(result.problems)) == (7, 0, 5)
    assert_consistent(series, 0)
    assert Coupon.objects.filter(series=series, pooled=True).count() == 7  # the cap


# --- interruptions --------------------------------------------------------------------


class Stop(BaseException):
    """Ctrl-C or a kill, as the run sees it (not an Exception)."""


def test_stopped_between_batches_a_rerun_issues_the_rest_once(store, people, tmp_path):
    series = make_series(store)
    path = write_list(tmp_path, people)
    batches = []

    def stop_after_two(rows: int) -> None:
        batches.append(rows)
        if len(batches) == 2:
            raise Stop

    with pytest.raises(Stop):
        run(series, path, batch_size=5, progress=stop_after_two)
    assert_consistent(series, 10)

    result = run(series, path, batch_size=5)

    assert (result.issued, result.already_done, result.problems) == (2, 10, [])
    assert holdings(series) == {p.id: 1 for p in people}
    assert_consistent(series, 12)


@pytest.mark.parametrize(
    "where",
    [
        # after the customers' locks
        (issue_store, "lock_series_and_read_holdings"),
        # after the claim, before anything is written
        (bulk_issue.assignment_services, "assignment_events"),
        # the writes: on PostgreSQL after the COPYs, before the counter
        (issue_store.sql, "write"),
    ],
    ids=["after-locks", "after-claim", "in-the-writes"],
)
def test_a_failure_in_the_middle_of_a_batch_writes_nothing_of_it(
    store, people, tmp_path, monkeypatch, where
):
    module, name = where
    series = make_series(store)
    path = write_list(tmp_path, people)
    real = getattr(module, name)
    calls = []

    def fail_the_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise Stop
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, fail_the_second)
    with pytest.raises(Stop):
        run(series, path, batch_size=5)
    monkeypatch.undo()
    # The first batch, whole; nothing of the second: no code claimed, no counter.
    assert_consistent(series, 5)
    assert Coupon.objects.filter(series=series, pooled=True).count() == 25
    assert Coupon.objects.filter(series=series, pooled=False).count() == 5

    result = run(series, path, batch_size=5)

    assert (result.issued, result.already_done, result.problems) == (7, 5, [])
    assert holdings(series) == {p.id: 1 for p in people}
    assert_consistent(series, 12)


def test_limit_then_rerun(store, people, tmp_path):
    series = make_series(store)
    path = write_list(tmp_path, people)
    first = run(series, path, batch_size=5, limit=7)
    assert (first.issued, first.already_done) == (7, 0)
    second = run(series, path, batch_size=5)
    assert (second.issued, second.already_done) == (5, 7)
    assert_consistent(series, 12)


# --- the admin's job ------------------------------------------------------------------


def test_the_job_issues_reports_and_a_retry_issues_nobody_twice(
    store,
    people,
    tmp_path,
    settings,
    django_capture_on_commit_callbacks,
    django_user_model,
):
    settings.JOBS_RUN_INLINE = True
    settings.CELERY_BROKER_URL = ""
    series = make_series(store, max_create=10)
    user = django_user_model.objects.create_user("ops", password="x")
    path = write_list(tmp_path, people, extra="0000,,,\n")
    with django_capture_on_commit_callbacks(execute=True):
        job = job_services.job_enqueue(
            kind="issue_to_customers",
            params={"series_id": str(series.id), "path": str(path)},
            store=store,
            user=user,
        )
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED
    report = str(tmp_path / "list.csv.rejected.csv")
    assert job.result == {
        "series_id": str(series.id),
        "issued": 10,
        "already_issued": 0,
        "rejected": 3,
        "report": report,
        "message": "Issued 10, already issued 0, rejected 3.",
    }
    assert (job.progress_done, job.progress_total) == (13, 13)
    assignment = Assignment.objects.filter(series=series).first()
    assert assignment.channel == "admin"
    event = AuditEvent.objects.get(object_id=assignment.id)
    assert (event.actor_type, event.actor_id) == (
        Actor.user(user).type,
        Actor.user(user).id,
    )

    # Run again (as a retry after a lost worker would): nobody is issued twice.
    job.status = Status.QUEUED
    job.save(update_fields=["status"])
    job = job_services.job_run(job_id=job.pk)
    assert job.result["issued"] == 0
    assert job.result["already_issued"] == 10
    assert_consistent(series, 10)


# --- the admin's action ---------------------------------------------------------------

CHANGELIST = reverse("admin:series_series_changelist")


def act(admin_client, *series: Series, **data):
    return admin_client.post(
        CHANGELIST,
        {
            "action": "issue_to_list",
            "_selected_action": [str(s.pk) for s in series],
            **data,
        },
    )


def test_the_admin_action_asks_for_the_list_first(admin_client, store):
    series = make_series(store)

    response = act(admin_client, series)

    assert response.status_code == 200
    assert response.templates[0].name == "admin/series/series/action_form.html"
    assert b'enctype="multipart/form-data"' in response.content
    assert list(response.context["form"].fields) == ["file"]
    assert not Job.objects.exists()


def test_the_admin_action_uploads_the_list_and_runs_the_job(
    admin_client, store, people, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.JOBS_RUN_INLINE = True
    settings.CELERY_BROKER_URL = ""
    settings.EXPORT_DIR = tmp_path
    series = make_series(store)
    upload = SimpleUploadedFile(
        "list.csv", ("mobile\n" + "".join(f"{p.mobile}\n" for p in people)).encode()
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = act(admin_client, series, file=upload, apply="1")

    job = Job.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:jobs_job_change", args=[job.pk])
    assert (job.kind, job.status, job.progress_total) == (
        "issue_to_customers",
        Status.SUCCEEDED,
        12,
    )
    assert job.result["message"] == "Issued 12, already issued 0, rejected 0."
    assert job.params["path"].startswith(str(tmp_path / "uploads"))
    assert holdings(series) == {p.id: 1 for p in people}
    page = admin_client.get(response.url)
    assert b"Issued 12, already issued 0, rejected 0." in page.content


def test_the_admin_action_refuses_a_bad_list_and_two_series(
    admin_client, store, settings, tmp_path
):
    settings.EXPORT_DIR = tmp_path
    series = make_series(store)
    upload = SimpleUploadedFile("list.csv", b"phone\n123\n")

    response = act(admin_client, series, file=upload, apply="1")

    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [
        "Unknown column(s): phone. Use customer identifiers: mobile, email, "
        "external_id, id."
    ]
    assert list((tmp_path / "uploads").iterdir()) == []
    response = act(admin_client, series, make_series(store), apply="1")
    assert response.status_code == 302
    follow = admin_client.get(response.url)
    assert [str(m) for m in follow.context["messages"]] == [
        "Select one series to issue to a list."
    ]
    assert not Job.objects.exists()
