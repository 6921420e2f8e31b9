"""Benchmark: a million rows through the operators' commands (issue 21 item 5).

On a database of its own, each step a ``manage.py`` command in a child process
(wall time, process start included; peak RSS by /usr/bin/time), each against the
floor its own bench measures, in the same run:

1. ``generate_codes --series A --count N`` against a COPY of N prepared code rows
   into a table like ``coupons_coupon`` (``bench/codegen.py``'s floor);
2. ``import_customers`` of a CSV of N customers (one row in 1,000 a bad email,
   rejected) into an empty store against a COPY of the same good rows into a table
   like ``customers_customer`` (``bench/import_customers.py``'s floor);
3. ``issue_to_customers --series A`` of a CSV of every imported customer's mobile
   (one code each) against one set-based claim and insert on series B, a second pool
   of as many codes generated beforehand (``bench/bulk_issue.py``'s floor).

Each step's counts are checked exactly. It prints each step as it ends and rewrites
``results/<date>-million[-<tag>].md`` and ``.json`` after each step (a run cut short
keeps the steps done), with the 1-minute load average before and after each step.

It WIPES the ledger tables of the database it runs on: give it its own database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/couponhub_bench \\
        .venv/bin/python bench/million.py [--count 1000000] [--tag name]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from bench import bulk_issue, codegen, import_customers  # noqa: E402
from coupons.models import Coupon  # noqa: E402
from customers.models import Customer  # noqa: E402
from series import pool, services  # noqa: E402
from stores.services import store_create  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def _series(store, name: str):
    return services.series_create(
        store=store,
        description=name,
        discount_type="ABS",
        discount_value=5,
        alpha_numeric=True,
        random_code_length=10,
        code_prefix=name,
        max_create=-1,
    )


def _load() -> float:
    return round(os.getloadavg()[0], 1)


class Report:
    """The steps so far, written out after each."""

    def __init__(self, count: int, tag: str) -> None:
        self.count = count
        self.day = datetime.now(UTC).date().isoformat()
        self.stem = f"{self.day}-million" + (f"-{tag}" if tag else "")
        self.version = connection.cursor().connection.info.server_version
        self.started = time.perf_counter()
        self.steps: list[dict] = []

    def add(self, step: str, command: str, seconds: float, floor: float, **extra):
        row = {
            "step": step,
            "command": command,
            "command_s": round(seconds, 2),
            "floor_s": round(floor, 2),
            "ratio": round(seconds / floor, 2),
            **extra,
        }
        self.steps.append(row)
        print(
            f"{step}: {seconds:.1f} s, floor {floor:.1f} s, "
            f"ratio {row['ratio']:.2f}, peak RSS {row['peak_rss_mib']} MiB, "
            f"load {row['load']} ({row['summary']})",
            flush=True,
        )
        self.write()

    def write(self) -> None:
        meta = {
            "postgresql": self.version,
            "count": self.count,
            "cores": os.cpu_count(),
            "elapsed_s": round(time.perf_counter() - self.started),
        }
        (RESULTS / f"{self.stem}.json").write_text(
            json.dumps({**meta, "steps": self.steps}, indent=2) + "\n"
        )
        lines = [
            f"# A million rows through the commands ({self.day}, `bench/million.py`)",
            "",
            f"PostgreSQL {self.version}; N = {self.count:,}; {os.cpu_count()} cores, "
            "shared with other work (the 1-minute load average before -> after each "
            f"step is in the table); whole run {meta['elapsed_s']} s.",
            "",
            "| step | command (s) | floor | floor (s) | ratio | peak RSS (MiB) "
            "| load |",
            "|---|---:|---|---:|---:|---:|---|",
            *(
                f"| {r['step']} | {r['command_s']:.1f} | {r['floor_is']} | "
                f"{r['floor_s']:.1f} | {r['ratio']:.2f}x | {r['peak_rss_mib']} | "
                f"{r['load']} |"
                for r in self.steps
            ),
            "",
            *(f"- {r['step']}: `{r['command']}` -> {r['summary']}" for r in self.steps),
            "",
        ]
        (RESULTS / f"{self.stem}.md").write_text("\n".join(lines))


def generate(report: Report, store, count: int):
    series = _series(store, "MIL")
    before = _load()
    args = ("generate_codes", "--series", str(series.id), "--count", str(count))
    seconds, rss, _ = import_customers.run_command(*args)
    pooled = Coupon.objects.filter(series=series, pooled=True).count()
    assert pooled == count + pool.pool_target(), pooled
    data, columns = codegen._copy_rows(series, count)
    floor = codegen.time_copy(codegen.COPY_TABLE, data, columns)
    report.add(
        "generate codes",
        "manage.py " + " ".join(args),
        seconds,
        floor,
        floor_is="COPY of the same number of coupon rows",
        peak_rss_mib=round(rss / 1024),
        load=f"{before} -> {_load()}",
        summary=f"{pooled:,} pooled codes",
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"DROP TABLE {codegen.COPY_TABLE}, {codegen.NOFK_TABLE}, "
            f"{codegen.BARE_TABLE}"
        )
    return series


def import_(report: Report, store, count: int, folder: Path) -> list[tuple]:
    path = folder / "customers.csv"
    good = import_customers.write_csv(path, count)
    before = _load()
    seconds, rss, summary = import_customers.run_import(store.code, path)
    imported = Customer.objects.filter(store=store).count()
    assert imported == len(good), (imported, len(good))
    assert summary == (
        f"created {len(good)}, updated 0, unchanged 0, rejected {count - len(good)}"
    ), summary
    import_customers.make_copy_table()
    floor = import_customers.copy_rows(store.id, good)
    report.add(
        "import customers",
        f"manage.py import_customers --store {store.code} customers.csv",
        seconds,
        floor,
        floor_is="COPY of the same good rows",
        peak_rss_mib=round(rss / 1024),
        load=f"{before} -> {_load()}",
        summary=summary,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {import_customers.COPY_TABLE}")
    return good


def issue(report: Report, store, series, good: list[tuple], folder: Path) -> None:
    path = folder / "list.csv"
    # The mobiles as imported (column 3 of write_csv's rows), one row a customer.
    path.write_text("mobile\n" + "".join(f"{row[3]}\n" for row in good))
    floor_series = _series(store, "FLR")
    pool.series_generate_codes(series=floor_series, count=len(good))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    before = _load()
    args = ("issue_to_customers", "--series", str(series.id), str(path))
    seconds, rss, out = import_customers.run_command(*args)
    summary = out.strip().splitlines()[-1]
    assert summary == f"issued {len(good)}, already issued 0, rejected 0", summary
    bulk_issue._check(series, len(good))
    floor = bulk_issue.time_floor(floor_series, len(good))
    bulk_issue._check(floor_series, len(good))
    report.add(
        "issue one code to each",
        f"manage.py issue_to_customers --series {series.id} list.csv",
        seconds,
        floor,
        floor_is="one set-based claim and insert (bench/bulk_issue.py)",
        peak_rss_mib=round(rss / 1024),
        load=f"{before} -> {_load()}",
        summary=summary,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/million.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    call_command("migrate", verbosity=0)
    bulk_issue._wipe()
    codegen.make_copy_tables()
    report = Report(args.count, args.tag)
    print(
        f"PostgreSQL {report.version}, N = {args.count:,}, load {_load()}", flush=True
    )
    store = store_create(name="Bench million", code="bench-million")
    with tempfile.TemporaryDirectory() as folder:
        series = generate(report, store, args.count)
        good = import_(report, store, args.count, Path(folder))
        issue(report, store, series, good, Path(folder))
    report.write()
    bulk_issue._wipe()
    print(f"wrote {RESULTS / report.stem}.md and .json")


if __name__ == "__main__":
    main()
