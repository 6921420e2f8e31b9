"""The jobs as Prometheus metrics, read from the jobs table when ``/metrics`` is
scraped (``core.metrics``): a scrape sees every worker's jobs, whichever process
runs them, without the workers exporting anything."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db import DatabaseError
from django.db.models import Count, Sum
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from jobs.models import Job, Status
from jobs.services import abandoned

logger = logging.getLogger(__name__)


class JobsCollector(Collector):
    """Background jobs, read from the jobs table when scraped: the count of queued
    and running jobs per kind, and the rows done and to do of the running ones
    (their rate is Prometheus' ``rate()`` of the rows done). A database that does
    not answer leaves these out and says so (``couponhub_jobs_up 0``)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "couponhub_jobs_up", "1 when the jobs could be read from the database."
        )
        try:
            rows = self._read()
        except DatabaseError as exc:
            logger.warning("metrics: jobs not read (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        active = GaugeMetricFamily(
            "couponhub_jobs", "Queued and running jobs.", labels=["kind", "status"]
        )
        done = GaugeMetricFamily(
            "couponhub_job_rows_done",
            "Rows done by the running jobs, per kind.",
            labels=["kind"],
        )
        total = GaugeMetricFamily(
            "couponhub_job_rows_expected",
            "Rows the running jobs have to do in all, per kind (0 while unknown).",
            labels=["kind"],
        )
        stale = GaugeMetricFamily(
            "couponhub_jobs_abandoned",
            "Running jobs whose worker's lease ran out (no progress written).",
            labels=["kind"],
        )
        for kind, status, count, rows_done, rows_total, gone in rows:
            active.add_metric([kind, status], count)
            if status == Status.RUNNING:
                done.add_metric([kind], rows_done or 0)
                total.add_metric([kind], rows_total or 0)
                stale.add_metric([kind], gone)
        yield from (active, done, total, stale)

    @staticmethod
    def _read() -> list[tuple]:
        return list(
            Job.objects.filter(status__in=[Status.QUEUED, Status.RUNNING])
            .order_by()
            .values_list("kind", "status")
            .annotate(
                count=Count("id"),
                done=Sum("progress_done"),
                total=Sum("progress_total"),
                abandoned=Count("id", filter=abandoned(timezone.now())),
            )
            .order_by("kind", "status")
        )
