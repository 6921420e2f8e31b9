"""Enqueue, run and retry background jobs.

With ``CELERY_BROKER_URL`` set (Redis in production) a job goes to Celery; without a
broker (the SQLite default of ``make run``) it runs in a thread of this process, so the
admin still works with nothing else installed.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from core.errors import DomainError
from jobs.models import Job, Status
from jobs.registry import HANDLERS

logger = logging.getLogger(__name__)

UNKNOWN_KIND = "job_unknown_kind"
NOT_RETRYABLE = "job_not_retryable"


class Progress:
    """Writes a job's progress at most every ``interval`` seconds (and at the end)."""

    def __init__(self, job: Job, interval: float = 1.0) -> None:
        self.job = job
        self.interval = interval
        self._last = 0.0

    def __call__(self, done: int, total: int | None = None, *, force: bool = False):
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        changes: dict[str, Any] = {"progress_done": done}
        if total is not None:
            changes["progress_total"] = total
        Job.objects.filter(pk=self.job.pk).update(**changes)


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
    """Run a queued job once. Another worker that already took it is left alone."""
    claimed = Job.objects.filter(pk=job_id, status=Status.QUEUED).update(
        status=Status.RUNNING,
        started_at=timezone.now(),
        attempts=F("attempts") + 1,
        error="",
    )
    if not claimed:
        return None
    job = Job.objects.get(pk=job_id)
    progress = Progress(job)
    try:
        result = HANDLERS[job.kind](job=job, progress=progress)
    except Exception as exc:  # a job records any failure instead of dying silently
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        Job.objects.filter(pk=job.pk).update(
            status=Status.FAILED,
            error=f"{type(exc).__name__}: {exc}",
            finished_at=timezone.now(),
        )
    else:
        Job.objects.filter(pk=job.pk).update(
            status=Status.SUCCEEDED,
            result=result,
            finished_at=timezone.now(),
        )
    job.refresh_from_db()
    return job


@transaction.atomic
def job_retry(*, job: Job) -> Job:
    """Queue a failed job again; its handler resumes without duplicating work."""
    updated = Job.objects.filter(pk=job.pk, status=Status.FAILED).update(
        status=Status.QUEUED, finished_at=None
    )
    if not updated:
        raise DomainError(NOT_RETRYABLE, "Only a failed job can be retried.")
    transaction.on_commit(lambda: dispatch(job.pk))
    job.refresh_from_db()
    return job
