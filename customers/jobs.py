"""Background job: import customers from an uploaded CSV (re-running is harmless)."""

from __future__ import annotations

from pathlib import Path

from customers.importer import import_customers, read_rows, write_report
from jobs.registry import handler
from stores.models import Store


@handler("import_customers")
def run_import(*, job, progress) -> dict:
    store = Store.objects.get(pk=job.params["store_id"])
    path = Path(job.params["path"])
    total, rows = read_rows(path)
    progress(0, total, force=True)
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        progress(done)

    result = import_customers(store=store, rows=rows, progress=advance)
    progress(done, force=True)
    summary: dict = result.as_dict()
    if result.errors:
        report = path.with_name(path.name + ".rejected.csv")
        write_report(report, result.errors)
        summary["report"] = str(report)
    return summary
