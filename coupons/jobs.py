"""Background jobs: export coupons to a file under ``settings.EXPORT_DIR``; a bulk
action on a filtered set of coupons (``coupons.bulk``)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from core.actors import SYSTEM, Actor
from coupons import bulk
from coupons.exporter import export_queryset, write_export
from jobs.registry import handler
from stores.models import Store


@handler("export_coupons")
def run_export(*, job, progress) -> dict:
    store = Store.objects.get(pk=job.params["store_id"])
    fmt = job.params.get("format", "csv")
    queryset = export_queryset(
        store=store,
        series_id=job.params.get("series_id"),
        status=job.params.get("status", "all"),
    )
    path, count = _export_file(job, store, queryset, fmt, progress)
    return {"path": str(path), "rows": count}


def _export_file(job, store, queryset, fmt: str, progress) -> tuple[Path, int]:
    """Write ``queryset`` to the job's file under ``EXPORT_DIR``: (path, rows)."""
    total = queryset.count()
    progress(0, total, force=True)
    folder = settings.EXPORT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"coupons-{store.code}-{job.pk}.{fmt}"
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        progress(done)

    with path.open("w", newline="", encoding="utf-8") as out:
        count = write_export(queryset=queryset, out=out, fmt=fmt, progress=advance)
    progress(count, force=True)
    return path, count


@handler("bulk_coupons")
def run_bulk(*, job, progress) -> dict:
    """A bulk action on a filtered set of coupons (``coupons.bulk``), started from
    the coupons change list. Progress is written after each committed batch, which
    is where a cancel stops the run; a retried run does only what is left (a
    committed batch's rows no longer need the action)."""
    coupons = bulk.CouponFilter.from_params(job.params["filter"])
    action = bulk.BulkAction.from_params(job.params)
    if action.action == bulk.EXPORT:
        return _bulk_export(job, coupons, action, progress)
    actor = Actor.user(job.created_by) if job.created_by_id else SYSTEM
    # A retried run goes on from what the runs before it did.
    done = job.progress_done
    total = done + bulk.bulk_counts(coupons, action).to_change
    progress(done, total, force=True)

    def advance(changed: int) -> None:
        nonlocal done
        done += changed
        progress(done, max(total, done), force=True)

    bulk.bulk_apply(
        coupons,
        action,
        actor=actor,
        size=int(job.params.get("batch") or bulk.BATCH),
        progress=advance,
    )
    return {
        "action": action.action,
        "changed": done,
        "message": f"Changed {done:,} coupons ({action.action}).",
    }


def _bulk_export(job, coupons, action, progress) -> dict:
    store = Store.objects.get(pk=coupons.store_id)
    queryset = coupons.queryset().order_by("id")
    path, count = _export_file(job, store, queryset, action.format, progress)
    return {
        "action": action.action,
        "path": str(path),
        "rows": count,
        "message": f"Exported {count:,} coupons to {path.name}.",
    }
