"""A job whose worker died does not stay RUNNING forever (issue 21 item 4).

A run holds a lease: claimed with a conditional UPDATE that stamps its heartbeat,
refreshed by each progress write. A RUNNING job whose heartbeat is older than
``JOBS_LEASE_SECONDS`` is claimable again by the task (and by staff's retry), by
exactly one worker; a run that was replaced stops at its next progress write and
writes nothing more. The worker is killed for real (SIGKILL) in the middle of an
import; "later" is the heartbeat moved back past the lease, not a wait.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from celery.exceptions import Retry
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from jobs import services
from jobs.models import Job, Status
from jobs.registry import handler
from jobs.tasks import _countdown, run_job
from tests.concurrency import race
from tests.interleave import Holder, wait_for_waiters
from tests.jobs.helpers import HOLD_CUSTOMER, database_url, import_of_two

ROOT = Path(__file__).resolve().parents[2]
LEASE = 600

_runs: list[int] = []


@handler("test_lease")
def counted(*, job, progress) -> dict:
    """Counts its runs; reports progress once."""
    _runs.append(job.attempts)
    progress(1, 1, force=True)
    return {"runs": len(_runs)}


def _running(*, silent_for: timedelta, attempts: int = 1) -> Job:
    """A job a worker claimed, whose last heartbeat was ``silent_for`` ago."""
    beat = timezone.now() - silent_for
    return Job.objects.create(
        kind="test_lease",
        status=Status.RUNNING,
        attempts=attempts,
        started_at=beat,
        heartbeat_at=beat,
    )


@pytest.fixture(autouse=True)
def _lease(settings):
    settings.JOBS_LEASE_SECONDS = LEASE
    _runs.clear()


@pytest.mark.django_db
def test_a_running_job_with_a_live_heartbeat_is_left_to_its_worker():
    job = _running(silent_for=timedelta(seconds=LEASE - 60))

    assert services.job_run(job_id=job.pk) is None
    assert _runs == []
    job.refresh_from_db()
    assert (job.status, job.attempts) == (Status.RUNNING, 1)


@pytest.mark.django_db
def test_a_running_job_whose_heartbeat_stopped_is_run_again_by_the_task():
    job = _running(silent_for=timedelta(seconds=LEASE + 1))

    run_job(job.pk)

    job.refresh_from_db()
    assert (job.status, job.attempts, job.result) == (
        Status.SUCCEEDED,
        2,
        {"runs": 1},
    )
    assert _runs == [2]


@pytest.mark.django_db
def test_a_task_delivered_within_a_live_lease_comes_back_when_the_lease_ends():
    # Redis gave a dead worker's task back before the lease it last renewed ended.
    job = _running(silent_for=timedelta(seconds=LEASE - 60))

    wait = services.job_deliver(job_id=job.pk)

    assert 60 < wait <= 60 + services.RETRY_MARGIN
    assert _runs == []
    job.refresh_from_db()
    assert (job.status, job.attempts) == (Status.RUNNING, 1)
    with pytest.raises(Retry):  # the task is not acknowledged as done
        run_job(job.pk)

    # It comes back once the lease ended: it claims the job and runs it, once.
    Job.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=LEASE + 1)
    )
    assert services.job_deliver(job_id=job.pk) is None
    job.refresh_from_db()
    assert (job.status, job.attempts, job.result) == (
        Status.SUCCEEDED,
        2,
        {"runs": 1},
    )
    assert _runs == [2]
    # Any copy of the task still coming back finds the job ended and stops.
    assert services.job_deliver(job_id=job.pk) is None
    run_job(job.pk)
    assert _runs == [2]


@handler("test_replaced")
def replaced(*, job, progress) -> dict:
    """Loses its job to another run (which claimed it after its lease ended)."""
    Job.objects.filter(pk=job.pk).update(attempts=job.attempts + 1)
    progress(1, 1, force=True)
    return {}


@pytest.mark.django_db
def test_a_task_whose_run_was_replaced_ends_leaving_the_job_to_its_new_run():
    job = Job.objects.create(kind="test_replaced")

    # The new run was claimed through a delivery of its own: this one need not wait.
    assert services.job_deliver(job_id=job.pk) is None
    job.refresh_from_db()
    assert (job.status, job.attempts) == (Status.RUNNING, 2)


@pytest.mark.django_db
def test_a_task_finding_its_job_ended_or_gone_ends():
    done = Job.objects.create(kind="test_lease", status=Status.SUCCEEDED)

    assert services.job_deliver(job_id=done.pk) is None
    assert services.job_deliver(job_id=done.pk + 1000) is None
    assert _runs == []


def test_the_task_comes_back_within_the_broker_s_visibility_timeout(settings):
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 601}
    assert _countdown(601.0) == 600.0  # held no longer than Redis keeps it to one
    assert _countdown(31.5) == 31.5
    assert _countdown(0.2) == 1.0
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    assert _countdown(700.0) == 700.0


@pytest.mark.django_db
def test_a_job_claimed_before_heartbeats_counts_from_its_start():
    job = _running(silent_for=timedelta(seconds=LEASE + 1))
    Job.objects.filter(pk=job.pk).update(heartbeat_at=None)

    assert services.job_run(job_id=job.pk).status == Status.SUCCEEDED


@pytest.mark.django_db
def test_a_replaced_run_stops_at_its_next_progress_write_and_writes_nothing():
    job = _running(silent_for=timedelta(seconds=LEASE + 1))
    stale = Job.objects.get(pk=job.pk)  # the first run's view of its job
    old_run = services.Progress(stale)

    taken = services.job_run(job_id=job.pk)  # another worker takes it over
    with pytest.raises(services.LeaseLost):
        old_run(5, 9, force=True)

    assert (taken.status, taken.attempts) == (Status.SUCCEEDED, 2)
    job.refresh_from_db()
    assert (job.status, job.progress_done, job.progress_total) == (
        Status.SUCCEEDED,
        1,
        1,
    )


@pytest.mark.django_db
def test_staff_retry_an_abandoned_job_but_not_a_live_one(admin_client, settings):
    settings.JOBS_RUN_INLINE = True
    settings.CELERY_BROKER_URL = ""
    live = _running(silent_for=timedelta(seconds=5))
    abandoned = _running(silent_for=timedelta(seconds=LEASE + 1))
    page = admin_client.get(reverse("admin:jobs_job_change", args=[abandoned.pk]))
    assert "Abandoned: no progress since" in page.content.decode()

    with pytest.raises(services.DomainError) as refused:
        services.job_retry(job=live)
    assert refused.value.message == (
        "Only a failed job can be retried, or a running one whose worker stopped "
        f"(no progress for {LEASE} s)."
    )
    response = admin_client.post(
        reverse("admin:jobs_job_changelist"),
        {"action": "retry", "_selected_action": [live.pk, abandoned.pk]},
    )

    assert response.status_code == 302
    live.refresh_from_db()
    abandoned.refresh_from_db()
    assert (live.status, live.attempts) == (Status.RUNNING, 1)
    assert (abandoned.status, abandoned.attempts) == (Status.QUEUED, 1)


TRIALS = 5
WORKERS = 6


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("trial", range(TRIALS))
def test_workers_racing_for_an_abandoned_job_run_it_once(trial):
    job = _running(silent_for=timedelta(seconds=LEASE + 1))

    results = race(WORKERS, lambda _: services.job_run(job_id=job.pk))

    assert sum(result is not None for result in results) == 1
    assert _runs == [2]
    job.refresh_from_db()
    assert (job.status, job.attempts) == (Status.SUCCEEDED, 2)


def _worker(job_id: int) -> subprocess.Popen:
    """``job_run`` in a process of its own, on the test database."""
    env = {**os.environ, "DATABASE_URL": database_url()}
    code = f"from jobs.services import job_run; job_run(job_id={job_id})"
    return subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_job_whose_worker_was_killed_is_resumed_by_the_task_once_its_lease_ends(
    tmp_path,
):
    store, held, job = import_of_two(tmp_path)

    with Holder() as holder:
        holder.run(HOLD_CUSTOMER, [held.pk])
        worker = _worker(job.pk)
        try:
            wait_for_waiters(1, timeout=60)
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
        holder.rollback()

    job.refresh_from_db()
    assert (job.status, job.attempts) == (Status.RUNNING, 1)
    # The broker delivers the task again while the lease is still live: the task
    # asks to come back later (a worker sends it again with a countdown).
    with pytest.raises(Retry):
        run_job(job.pk)
    job.refresh_from_db()
    assert (job.status, job.attempts) == (Status.RUNNING, 1)

    # Later: the dead worker's heartbeat is older than the lease.
    Job.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=LEASE + 1)
    )
    run_job(job.pk)

    job.refresh_from_db()
    assert (job.status, job.attempts) == (Status.SUCCEEDED, 2), job.error
    assert job.result == {"created": 1, "updated": 1, "unchanged": 0, "rejected": 0}
    assert sorted(
        Customer.objects.filter(store=store).values_list("email", "first_name")
    ) == [("a@example.com", "A"), ("b@example.com", "B")]
