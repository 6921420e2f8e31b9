"""Background jobs of the series: generate codes into a series' pool (the admin's
"generate N codes" action), issue a code to each customer of a list."""

from __future__ import annotations

from pathlib import Path

from coupons.services import INTERNAL, Actor
from jobs.registry import handler
from series import bulk_issue, pool
from series.models import Series


@handler("generate_codes")
def run_generate_codes(*, job, progress) -> dict:
    """Generate ``params.count`` codes for ``params.series_id``.

    Resumable: progress is written after each committed batch, so a retried job
    generates only what the failed run did not (``count - progress_done``).
    """
    series = Series.objects.get(pk=job.params["series_id"])
    count = int(job.params["count"])
    already = min(job.progress_done, count)
    actor = Actor.user(job.created_by) if job.created_by_id else INTERNAL
    progress(already, count, force=True)
    done = already
    if count - already > 0:

        def advance(batch_done: int, _total: int) -> None:
            progress(already + batch_done, count, force=True)

        done += pool.series_generate_codes(
            series=series, count=count - already, progress=advance, actor=actor
        )
    progress(done, count, force=True)
    pooled = pool.pool_size(series)
    return {
        "series_id": str(series.pk),
        "generated": done,
        "pool": pooled,
        "message": f"Generated {done:,} codes; the pool now holds {pooled:,}.",
    }


@handler("issue_to_customers")
def run_issue_to_customers(*, job, progress) -> dict:
    """Issue one code of ``params.series_id`` to each customer of the CSV file at
    ``params.path`` (``series.bulk_issue``: a batch per transaction).

    Resumable: a retried job (its worker died, or it failed) reruns the file, and
    the rows issued before are skipped under their customers' locks, so nobody is
    issued twice. Rejected rows go to ``<path>.rejected.csv``.
    """
    series = Series.objects.select_related("store").get(pk=job.params["series_id"])
    path = Path(job.params["path"])
    total, _ = bulk_issue.read_rows(path)
    progress(0, total, force=True)
    done = 0

    def advance(rows: int) -> None:
        nonlocal done
        done += rows
        progress(done)

    actor = Actor.user(job.created_by) if job.created_by_id else bulk_issue.COMMAND
    result = bulk_issue.issue_to_customers(
        series=series, path=path, progress=advance, actor=actor
    )
    progress(done, force=True)
    summary: dict = {"series_id": str(series.pk), **result.as_dict()}
    del summary["would_issue"]
    if result.problems:
        report = path.with_name(path.name + ".rejected.csv")
        bulk_issue.write_report(report, result.problems)
        summary["report"] = str(report)
    summary["message"] = (
        f"Issued {result.issued:,}, already issued {result.already_done:,}, "
        f"rejected {len(result.problems):,}."
    )
    return summary
