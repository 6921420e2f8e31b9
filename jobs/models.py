from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.fields import FlakeIdField


class Status(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class Job(models.Model):
    """A unit of background work (code generation, import, export) and its outcome.

    Handlers are resumable: a retried job continues where the failed run stopped
    instead of doing the work twice.
    """

    id = FlakeIdField()
    store = models.ForeignKey(
        "stores.Store",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="jobs",
    )
    kind = models.CharField(max_length=64)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    progress_done = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    # The running worker's lease: set when it claims the job and refreshed with
    # each progress write; a RUNNING job whose heartbeat is older than
    # ``JOBS_LEASE_SECONDS`` lost its worker and may be claimed again.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # progress_done when this run claimed the job (a resumed job starts past 0):
    # the run's rate counts only the rows it did itself.
    run_started_done = models.BigIntegerField(default=0)
    # Staff asked the job to stop; the running worker notices at its next progress
    # write (between batches) and stops, the job CANCELLED.
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress_done__gte=0) & Q(progress_total__gte=0),
                name="job_progress_non_negative",
            ),
        ]
        # One per filter of the admin's list, each in its order (newest first).
        indexes = [
            models.Index(fields=["status", "id"], name="job_status_idx"),
            models.Index(fields=["kind", "id"], name="job_kind_idx"),
            models.Index(fields=["store", "id"], name="job_store_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.id} ({self.status})"

    @property
    def percent(self) -> int:
        if not self.progress_total:
            return 100 if self.status == Status.SUCCEEDED else 0
        return min(100, self.progress_done * 100 // self.progress_total)

    @property
    def rate(self) -> float | None:
        """Rows per second of the current (or last) run: the rows it did, over the
        time from its claim to its last progress write; None before it wrote any."""
        if self.started_at is None or self.heartbeat_at is None:
            return None
        seconds = (self.heartbeat_at - self.started_at).total_seconds()
        rows = self.progress_done - self.run_started_done
        if seconds <= 0 or rows <= 0:
            return None
        return rows / seconds

    @property
    def estimated_end(self) -> datetime | None:
        """When a running job should be done at its rate (from its last progress
        write); None when not running, or its total or rate is unknown."""
        rate = self.rate
        if self.status != Status.RUNNING or not rate or not self.progress_total:
            return None
        left = max(0, self.progress_total - self.progress_done)
        return self.heartbeat_at + timedelta(seconds=left / rate)
