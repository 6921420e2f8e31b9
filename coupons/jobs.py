"""Background job: export coupons to a file under ``settings.EXPORT_DIR``."""

from __future__ import annotations

from django.conf import settings

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
    return {"path": str(path), "rows": count}
