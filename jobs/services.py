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
that the job is no longer its own (``LeaseLost``) and stops without writing.
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
from jobs.models import Job, Status
from jobs.registry import HANDLERS

logger = logging.getLogger(__name__)

UNKNOWN_KIND = "job_unknown_kind"
NOT_RETRYABLE = "job_not_retryable"
DEFAULT_LEASE_SECONDS = 600


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

    def __call__(self, done: int, total: int | None = None, *, force: bool = False):
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        changes: dict[str, Any] = {
            "progress_done": done,
            "heartbeat_at": timezone.now(),
        }
        if total is not None:
            changes["progress_total"] = total
        if not _own(self.job.pk, self.run).update(**changes):
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
        job_run(job_id=job_id)
    finally:
        connection.close()


def job_run(*, job_id: int) -> Job | None:
    """Run a job once: a queued one, or a running one whose worker's lease ran out
    (``abandoned``); its handler resumes without duplicating work. Returns None,
    doing nothing, when the job is not claimable (another worker runs it, or it is
    done) or when this run loses the job to another while it works."""
    now = timezone.now()
    claimed = Job.objects.filter(
        Q(status=Status.QUEUED) | abandoned(now), pk=job_id
    ).update(
        status=Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        error="",
    )
    if not claimed:
        return None
    job = Job.objects.get(pk=job_id)
    progress = Progress(job)
    own = _own(job.pk, progress.run)
    try:
        result = HANDLERS[job.kind](job=job, progress=progress)
    except LeaseLost:
        logger.warning("job %s (%s): run %s replaced", job.pk, job.kind, job.attempts)
        return None
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
