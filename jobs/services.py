"""Enqueue, run and retry background jobs.

With ``CELERY_BROKER_URL`` set (Redis in production) a job goes to Celery; without a
broker (the SQLite default of ``make run``) it runs in a thread of this process, so the
admin still works with nothing else installed.

A running job holds a lease: its worker claims it with a conditional UPDATE (which
stamps ``heartbeat_at``), and every progress write refreshes the heartbeat. A worker
that dies (killed, out of memory, its machine gone) leaves the job RUNNING with a
heartbeat that stops; once it is older than ``JOBS_LEASE_SECONDS`` the job is
claimable again: by the task when the broker delivers it again (Celery's late ack),
or by staff's "retry". The claim is one conditional UPDATE, so exactly one worker
wins it; the run it replaced, if it was only slow, finds at its next progress write
that the job is no longer its own (``LeaseLost``) and stops without writing. A task
delivered while another run's lease is live is not dropped: it comes back when that
lease ends (``job_deliver``), and then either finds the job ended or claims it.

Staff may cancel a job (``job_cancel``): a queued one is cancelled at once; a running
one is asked to stop, and its worker notices at its next progress write, which
handlers make between batches (``JobCancelled``): the batches committed stay, the
job is CANCELLED and says after how many rows.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from core.errors import DomainError
from core.observability import log_context
from jobs.models import Job, Status
from jobs.registry import HANDLERS

logger = logging.getLogger(__name__)

UNKNOWN_KIND = "job_unknown_kind"
NOT_RETRYABLE = "job_not_retryable"
NOT_CANCELLABLE = "job_not_cancellable"
DEFAULT_LEASE_SECONDS = 600
# A task that found the job held comes back this long after the holder's lease ends
# (the claim needs the heartbeat strictly older than the lease).
RETRY_MARGIN = 1.0


def lease() -> timedelta:
    """How long a running job's heartbeat may be silent before its worker is taken
    for gone (``JOBS_LEASE_SECONDS``): longer than any handler goes between two
    progress writes."""
    return timedelta(
        seconds=getattr(settings, "JOBS_LEASE_SECONDS", DEFAULT_LEASE_SECONDS)
    )


def abandoned(at: datetime) -> Q:
    """Running jobs whose worker's lease ran out by ``at`` (a job claimed before
    heartbeats existed counts from its start)."""
    cutoff = at - lease()
    return Q(status=Status.RUNNING) & (
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )


def is_abandoned(job: Job, *, at: datetime) -> bool:
    """``abandoned`` for a job read already."""
    last = job.heartbeat_at or job.started_at
    return job.status == Status.RUNNING and last is not None and last < at - lease()


class LeaseLost(Exception):
    """The job is no longer this run's: its lease ran out and another run took it
    (or staff queued it again). The run stops without writing anything more."""


class JobCancelled(Exception):
    """Staff cancelled the job: the run stops at this progress write (between two
    batches) and the job ends CANCELLED. A handler need not catch it."""


def _own(job_id: int, run: int) -> QuerySet[Job]:
    """The job while it is still run number ``run`` (its attempts count)."""
    return Job.objects.filter(pk=job_id, status=Status.RUNNING, attempts=run)


class Progress:
    """Writes a job's progress at most every ``interval`` seconds (and at the end),
    refreshing the run's lease; raises ``LeaseLost`` when the job is no longer the
    run's."""

    def __init__(self, job: Job, interval: float = 1.0) -> None:
        self.job = job
        self.run = job.attempts
        self.interval = interval
        self._last = 0.0
        # The rows done and to do as last reported (what a cancel says it stopped
        # after).
        self.done = job.progress_done
        self.total = job.progress_total

    def __call__(self, done: int, total: int | None = None, *, force: bool = False):
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        self.done = done
        changes: dict[str, Any] = {
            "progress_done": done,
            "heartbeat_at": timezone.now(),
        }
        if total is not None:
            changes["progress_total"] = self.total = total
        # One statement while nobody asked to cancel; a cancel, or the loss of the
        # lease, is told apart only when the write matched nothing.
        if (
            _own(self.job.pk, self.run)
            .filter(cancel_requested_at=None)
            .update(**changes)
        ):
            return
        if _own(self.job.pk, self.run).exists():
            raise JobCancelled(f"job {self.job.pk}: cancelled")
        raise LeaseLost(f"job {self.job.pk}: run {self.run} was replaced")


def job_enqueue(
    *,
    kind: str,
    params: dict[str, Any],
    store=None,
    user=None,
    total: int = 0,
) -> Job:
    if kind not in HANDLERS:
        raise DomainError(UNKNOWN_KIND, f"No job handler for {kind!r}.")
    job = Job.objects.create(
        kind=kind, params=params, store=store, created_by=user, progress_total=total
    )
    transaction.on_commit(lambda: dispatch(job.pk))
    return job


def dispatch(job_id: int) -> None:
    if getattr(settings, "CELERY_BROKER_URL", ""):
        from jobs.tasks import run_job

        run_job.delay(job_id)
    elif getattr(settings, "JOBS_RUN_INLINE", False):
        job_run(job_id=job_id)
    else:
        threading.Thread(target=_run_in_thread, args=(job_id,), daemon=True).start()


def _run_in_thread(job_id: int) -> None:
    try:
        with log_context(f"job-{job_id}"):
            job_run(job_id=job_id)
    finally:
        connection.close()


def job_run(*, job_id: int) -> Job | None:
    """Run a job once: a queued one, or a running one whose worker's lease ran out
    (``abandoned``); its handler resumes without duplicating work. Returns None,
    doing nothing, when the job is not claimable (another worker runs it, or it is
    done) or when this run loses the job to another while it works."""
    job = _claim(job_id)
    return None if job is None else _execute(job)


def job_deliver(*, job_id: int) -> float | None:
    """What one delivery of a job's task does (``jobs.tasks.run_job``): run the job
    if it is claimable, as ``job_run``. When another run holds its lease, run
    nothing and return in how many seconds that lease ends (``RETRY_MARGIN``
    after it): the task must come back then, because the holder may be dead. Redis
    gives a dead worker's task back after its visibility timeout, which can fall
    inside the lease it last renewed; a task that ended there left the job RUNNING
    with nobody to resume it. None when the task is done with the job: it ran it,
    lost it to another run meanwhile, or found it ended."""
    job = _claim(job_id)
    if job is None:
        return lease_left(job_id=job_id)
    _execute(job)
    return None


def lease_left(*, job_id: int) -> float | None:
    """Seconds (``RETRY_MARGIN`` included) until the lease of the run holding the
    job ends; 0 + margin once it ended, None when the job is not RUNNING."""
    held = (
        Job.objects.filter(pk=job_id, status=Status.RUNNING)
        .values_list("heartbeat_at", "started_at")
        .first()
    )
    if held is None or held == (None, None):
        return None
    last = held[0] or held[1]
    left = (last + lease() - timezone.now()).total_seconds()
    return max(left, 0.0) + RETRY_MARGIN


def _claim(job_id: int) -> Job | None:
    """The job, claimed by this run with one conditional UPDATE (one claimant
    wins), or None when it is not claimable."""
    now = timezone.now()
    claimed = Job.objects.filter(
        Q(status=Status.QUEUED) | abandoned(now), pk=job_id
    ).update(
        status=Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        run_started_done=F("progress_done"),
        error="",
    )
    return Job.objects.get(pk=job_id) if claimed else None


def _execute(job: Job) -> Job | None:
    progress = Progress(job)
    own = _own(job.pk, progress.run)
    try:
        result = HANDLERS[job.kind](job=job, progress=progress)
    except LeaseLost:
        logger.warning("job %s (%s): run %s replaced", job.pk, job.kind, job.attempts)
        return None
    except JobCancelled:
        logger.info("job %s (%s) cancelled", job.pk, job.kind)
        job.progress_done, job.progress_total = progress.done, progress.total
        own.update(
            status=Status.CANCELLED,
            progress_done=progress.done,
            progress_total=progress.total,
            result={"message": _cancelled_message(job)},
            finished_at=timezone.now(),
        )
    except Exception as exc:  # a job records any failure instead of dying silently
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        own.update(
            status=Status.FAILED,
            error=f"{type(exc).__name__}: {exc}",
            finished_at=timezone.now(),
        )
    else:
        own.update(
            status=Status.SUCCEEDED,
            result=result,
            finished_at=timezone.now(),
        )
    job.refresh_from_db()
    return job


def _cancelled_message(job: Job) -> str:
    if job.progress_total:
        return f"Cancelled after {job.progress_done:,} of {job.progress_total:,} rows."
    return f"Cancelled after {job.progress_done:,} rows."


def job_cancel(*, job: Job) -> Job:
    """Cancel a job. A queued one, or a running one whose worker is gone
    (``abandoned``), is CANCELLED at once; a running one is asked to stop, which
    its worker does at its next progress write (between batches; what it committed
    stays). ``job_not_cancellable`` once it ended. Each step is one conditional
    UPDATE, so a worker finishing meanwhile is never overwritten."""
    now = timezone.now()
    job.refresh_from_db()
    stopped = Job.objects.filter(
        Q(status=Status.QUEUED) | abandoned(now), pk=job.pk
    ).update(
        status=Status.CANCELLED,
        cancel_requested_at=now,
        finished_at=now,
        result={
            "message": _cancelled_message(job)
            if job.status == Status.RUNNING
            else "Cancelled before it started."
        },
    )
    if not stopped:
        Job.objects.filter(
            pk=job.pk, status=Status.RUNNING, cancel_requested_at=None
        ).update(cancel_requested_at=now)
    job.refresh_from_db()
    if job.status not in (Status.CANCELLED, Status.RUNNING):
        raise DomainError(
            NOT_CANCELLABLE, "Only a queued or running job can be cancelled."
        )
    return job


@transaction.atomic
def job_retry(*, job: Job) -> Job:
    """Queue a failed job again, or a running one whose worker's lease ran out
    (its worker died); its handler resumes without duplicating work."""
    updated = Job.objects.filter(
        Q(status=Status.FAILED) | abandoned(timezone.now()), pk=job.pk
    ).update(status=Status.QUEUED, finished_at=None)
    if not updated:
        raise DomainError(
            NOT_RETRYABLE,
            "Only a failed job can be retried, or a running one whose worker "
            f"stopped (no progress for {int(lease().total_seconds())} s).",
        )
    transaction.on_commit(lambda: dispatch(job.pk))
    job.refresh_from_db()
    return job
