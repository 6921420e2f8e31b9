"""Jobs people can watch and stop (issue 21 item 4): a running job shows its rows
done, its rate and an estimated end in the admin; staff cancel a job from the admin,
a queued one at once, a running one at its next progress write (between batches),
and the job then says it was cancelled and after how many rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from jobs import services
from jobs.models import Job, Status
from jobs.registry import handler

NOW = datetime(2026, 12, 7, 16, 0, 0, tzinfo=UTC)
BATCHES = 5

_batches: list[int] = []
_cancel_after: list[int] = []


@handler("test_batches")
def batches(*, job, progress) -> dict:
    """Five batches of one row each, a progress write after each; staff cancel
    (``job_cancel``) after the batch named in ``_cancel_after``."""
    progress(0, BATCHES, force=True)
    for n in range(1, BATCHES + 1):
        _batches.append(n)  # the batch's work, committed
        if n in _cancel_after:
            services.job_cancel(job=Job.objects.get(pk=job.pk))
        progress(n, BATCHES, force=True)
    return {"message": f"{BATCHES} batches."}


@pytest.fixture(autouse=True)
def _clean():
    _batches.clear()
    _cancel_after.clear()


def _running(**values) -> Job:
    defaults = {
        "kind": "test_batches",
        "status": Status.RUNNING,
        "attempts": 1,
        "started_at": NOW - timedelta(seconds=10),
        "heartbeat_at": NOW,
    }
    return Job.objects.create(**{**defaults, **values})


# --- watching ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_running_job_shows_rows_done_rate_and_estimated_end(admin_client):
    job = _running(progress_done=500, progress_total=2_000)

    assert job.rate == 50.0
    assert job.estimated_end == NOW + timedelta(seconds=30)
    with time_machine.travel(NOW + timedelta(seconds=1), tick=False):
        page = admin_client.get(reverse("admin:jobs_job_change", args=[job.pk]))
        listed = admin_client.get(reverse("admin:jobs_job_changelist"))

    for html in (page.content.decode(), listed.content.decode()):
        assert '<span class="job-progress">500/2,000 (25%)</span>' in html
        assert '<span class="job-rate">50 rows/s</span>' in html
        assert '<span class="job-eta">ends about 16:00:30 UTC (in 0' in html


@pytest.mark.django_db
def test_a_resumed_run_counts_only_its_own_rows_in_its_rate():
    job = _running(progress_done=1_500, run_started_done=1_000, progress_total=3_000)

    assert job.rate == 50.0  # 500 rows in 10 s, not 1,500
    assert job.estimated_end == NOW + timedelta(seconds=30)


@pytest.mark.django_db
def test_no_rate_before_the_first_progress_write_nor_an_end_without_a_total():
    assert _running(heartbeat_at=NOW - timedelta(seconds=10)).rate is None
    unknown_total = _running(progress_done=20)
    assert unknown_total.rate == 2.0
    assert unknown_total.estimated_end is None


@pytest.mark.django_db
def test_a_claim_records_where_the_run_started(settings):
    settings.JOBS_LEASE_SECONDS = 600
    job = _running(
        progress_done=2,
        progress_total=BATCHES,
        started_at=NOW - timedelta(hours=1),
        heartbeat_at=NOW - timedelta(hours=1),
    )
    services.job_run(job_id=job.pk)

    job.refresh_from_db()
    assert (job.status, job.attempts, job.run_started_done) == (
        Status.SUCCEEDED,
        2,
        2,
    )


# --- cancelling -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_running_job_cancelled_stops_between_batches_and_says_so():
    _cancel_after.append(2)
    job = Job.objects.create(kind="test_batches")

    ran = services.job_run(job_id=job.pk)

    # Asked during batch 2, noticed at the progress write that ends it: batches 3
    # to 5 never ran, and the two done stay done.
    assert _batches == [1, 2]
    assert (ran.status, ran.progress_done, ran.progress_total) == (
        Status.CANCELLED,
        2,
        BATCHES,
    )
    assert ran.result == {"message": "Cancelled after 2 of 5 rows."}
    assert ran.finished_at is not None
    assert ran.cancel_requested_at is not None
    # Cancelled is final: the task delivered again does nothing.
    assert services.job_run(job_id=job.pk) is None
    assert _batches == [1, 2]


@pytest.mark.django_db
def test_a_queued_job_cancelled_never_runs():
    job = Job.objects.create(kind="test_batches")

    cancelled = services.job_cancel(job=job)

    assert cancelled.status == Status.CANCELLED
    assert cancelled.result == {"message": "Cancelled before it started."}
    assert services.job_run(job_id=job.pk) is None
    assert _batches == []


@pytest.mark.django_db
def test_a_running_job_whose_worker_is_gone_is_cancelled_at_once(settings):
    settings.JOBS_LEASE_SECONDS = 600
    job = _running(
        progress_done=2,
        progress_total=BATCHES,
        heartbeat_at=datetime.now(UTC) - timedelta(seconds=601),
    )

    cancelled = services.job_cancel(job=job)

    assert cancelled.status == Status.CANCELLED
    assert cancelled.result == {"message": "Cancelled after 2 of 5 rows."}
    assert services.job_run(job_id=job.pk) is None  # not claimable any more


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Status.SUCCEEDED, Status.FAILED])
def test_a_finished_job_cannot_be_cancelled(status):
    job = Job.objects.create(kind="test_batches", status=status)

    with pytest.raises(services.DomainError) as refused:
        services.job_cancel(job=job)

    assert refused.value.message == "Only a queued or running job can be cancelled."
    job.refresh_from_db()
    assert (job.status, job.cancel_requested_at) == (status, None)


@pytest.mark.django_db
def test_staff_cancel_from_the_admin(admin_client):
    queued = Job.objects.create(kind="test_batches")
    running = _running(heartbeat_at=datetime.now(UTC), progress_total=BATCHES)
    done = Job.objects.create(kind="test_batches", status=Status.SUCCEEDED)
    page = admin_client.get(reverse("admin:jobs_job_change", args=[running.pk]))
    assert 'value="Cancel this job"' in page.content.decode()
    finished_page = admin_client.get(reverse("admin:jobs_job_change", args=[done.pk]))
    assert 'value="Cancel this job"' not in finished_page.content.decode()

    response = admin_client.post(
        reverse("admin:jobs_job_changelist"),
        {"action": "cancel", "_selected_action": [queued.pk, running.pk, done.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert (
        "1 job(s) cancelled; 1 running job(s) asked to stop after their current "
        "batch." in response.content.decode()
    )
    for job in (queued, running, done):
        job.refresh_from_db()
    assert queued.status == Status.CANCELLED
    assert (running.status, running.cancel_requested_at is not None) == (
        Status.RUNNING,
        True,
    )
    assert done.status == Status.SUCCEEDED
    page = admin_client.get(reverse("admin:jobs_job_change", args=[running.pk]))
    assert "Cancelling: the job stops after its current batch" in page.content.decode()
    assert 'value="Cancel this job"' not in page.content.decode()

    # The worker's next progress write stops it.
    run = services.Progress(running)
    with pytest.raises(services.JobCancelled):
        run(1, BATCHES, force=True)
