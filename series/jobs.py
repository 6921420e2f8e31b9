"""Background job: generate codes into a series' pool (the admin's "generate N
codes" action)."""

from __future__ import annotations

from coupons.services import INTERNAL, Actor
from jobs.registry import handler
from series import pool
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
