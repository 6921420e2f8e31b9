"""Benchmark: ``import_customers`` vs a plain COPY of the same rows (issue 21 item 2).

For each size (default 100,000 and 1,000,000 rows) in one run: writes a CSV of that
many customers (first and last name, email, mobile, external ID; one row in 1,000
has a bad email and is rejected), then
- imports it into an empty store with ``manage.py import_customers`` in a child
  process (wall time, process start included, and its peak RSS by /usr/bin/time);
- imports it again (a rerun: it must change nothing; checked);
- COPYs the same good rows, prepared beforehand (ids, store, the folded email,
  timestamps: only the COPY is timed), into ``bench_copy_customer``, a table made
  ``LIKE customers_customer INCLUDING ALL`` plus its foreign key (same columns,
  checks, unique indexes and defaults, the compact id's sequence included).
Prints each time, the ratio import / COPY (target <= 3) and the peak RSS, and
writes ``results/<date>-import-customers.md`` and ``.json``.

It WIPES the customer tables of the database it runs on: give it its own database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/couponhub_h21m_bench \\
        .venv/bin/python bench/import_customers.py [--sizes 100000 1000000]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from bench.codegen import time_copy  # noqa: E402
from core import flake  # noqa: E402
from customers.identifiers import fold_email  # noqa: E402
from customers.models import Customer  # noqa: E402
from stores.services import store_create  # noqa: E402

COPY_TABLE = "bench_copy_customer"
COLUMNS = ("first_name", "last_name", "email", "mobile", "external_id")
BAD_EVERY = 1000


def write_csv(path: Path, count: int) -> list[tuple[str, ...]]:
    """``count`` rows into ``path``; returns the good ones."""
    good = []
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for i in range(count):
            email = f"Customer.{i}@Example{i % 97}.com"
            if i % BAD_EVERY == BAD_EVERY - 1:
                email = f"not-an-email-{i}"
            row = (f"First{i}", f"Last{i}", email, f"+1555{i:07d}", f"CRM-{i}")
            writer.writerow(row)
            if i % BAD_EVERY != BAD_EVERY - 1:
                good.append(row)
    return good


def wipe() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE customers_customer CASCADE")


def run_command(*args: str) -> tuple[float, int, str]:
    """(seconds, peak RSS in KiB, stdout) of ``manage.py *args`` in a child process."""
    # Peak RSS through /usr/bin/time: a child's own ru_maxrss (wait4) counts the
    # pages it shared with this process when it was forked, the rows held here.
    started = time.perf_counter()
    child = subprocess.run(
        [
            *("/usr/bin/time", "-f", "maxrss_kib=%M", sys.executable),
            *(str(ROOT / "manage.py"), *args),
        ],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=False,
    )
    seconds = time.perf_counter() - started
    if child.returncode:
        sys.exit(f"{args[0]} failed:\n{child.stdout}\n{child.stderr}")
    rss = next(
        int(line.split("=")[1])
        for line in child.stderr.splitlines()
        if line.startswith("maxrss_kib=")
    )
    return seconds, rss, child.stdout


def run_import(store_code: str, path: Path) -> tuple[float, int, str]:
    """(seconds, peak RSS in KiB, the command's summary line) of one import."""
    seconds, rss, out = run_command(
        "import_customers", "--store", store_code, str(path)
    )
    summary = next(line for line in out.splitlines() if line.startswith("created"))
    return seconds, rss, summary


def copy_rows(store_id: int, rows: list[tuple[str, ...]]) -> float:
    """Seconds to COPY ``rows``, prepared first, into ``COPY_TABLE``."""
    now = datetime.now(UTC).isoformat()
    ids = flake.next_ids(len(rows))
    data = "".join(
        f"{i}\t{store_id}\t{first}\t{last}\t{email}\t{fold_email(email)}\t"
        f"{mobile}\t{external_id}\t{now}\t{now}\n"
        for i, (first, last, email, mobile, external_id) in zip(ids, rows, strict=True)
    )
    columns = (
        "id, store_id, first_name, last_name, email, email_folded, mobile, "
        "external_id, created_at, updated_at"
    )
    return time_copy(COPY_TABLE, data, columns)


def make_copy_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {COPY_TABLE}")
        cursor.execute(
            f"CREATE TABLE {COPY_TABLE} (LIKE customers_customer INCLUDING ALL)"
        )
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'customers_customer'::regclass AND contype = 'f'"
        )
        for n, (definition,) in enumerate(cursor.fetchall()):
            cursor.execute(
                f"ALTER TABLE {COPY_TABLE} ADD CONSTRAINT bench_fk_{n} {definition}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--tag", default="")
    parser.add_argument(
        "--rerun-max",
        type=int,
        default=100_000,
        help="Time a rerun for sizes up to this (default 100,000)",
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/import_customers.py needs PostgreSQL: DATABASE_URL=...")
    call_command("migrate", verbosity=0)
    make_copy_table()
    version = connection.cursor().connection.info.server_version
    print(f"PostgreSQL {version}, sizes {args.sizes}")
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            wipe()
            store = store_create(name=f"Bench {size}", code=f"bench-{flake.next_id()}")
            path = Path(folder) / f"customers-{size}.csv"
            good = write_csv(path, size)
            first, rss, summary = run_import(store.code, path)
            count = Customer.objects.filter(store=store).count()
            assert count == len(good), (count, len(good))
            rerun, rerun_rss, rerun_summary = float("nan"), 0, "not run"
            if size <= args.rerun_max:
                rerun, rerun_rss, rerun_summary = run_import(store.code, path)
                assert rerun_summary.startswith("created 0, updated 0,"), rerun_summary
                assert Customer.objects.filter(store=store).count() == count
            copy = copy_rows(store.id, good)
            row = {
                "rows": size,
                "good_rows": len(good),
                "import_s": round(first, 2),
                "copy_s": round(copy, 2),
                "ratio": round(first / copy, 2),
                "peak_rss_mib": round(rss / 1024, 1),
                "rerun_s": round(rerun, 2),
                "rerun_ratio": round(rerun / copy, 2),
                "rerun_peak_rss_mib": round(rerun_rss / 1024, 1),
                "summary": summary,
                "rerun_summary": rerun_summary,
            }
            results.append(row)
            print(
                f"{size:>9,} rows: import {first:.2f} s ({summary}), "
                f"COPY {copy:.2f} s, "
                f"ratio {first / copy:.2f} (target <= 3), peak RSS "
                f"{rss / 1024:.0f} MiB; rerun {rerun:.2f} s ({rerun / copy:.2f}x), "
                f"peak RSS {rerun_rss / 1024:.0f} MiB"
            )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {COPY_TABLE}")
    wipe()
    day = datetime.now(UTC).date().isoformat()
    name = f"{day}-import-customers{'-' + args.tag if args.tag else ''}"
    out = Path(__file__).resolve().parent / "results"
    (out / f"{name}.json").write_text(
        json.dumps({"postgresql": version, "results": results}, indent=2) + "\n"
    )
    lines = [
        f"# import_customers vs COPY ({day}, PostgreSQL {version})",
        "",
        "| rows | import s | COPY s | ratio | peak RSS MiB | rerun s | rerun ratio |"
        " rerun RSS MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['rows']:,} | {r['import_s']} | {r['copy_s']} | {r['ratio']} | "
        f"{r['peak_rss_mib']} | {r['rerun_s']} | {r['rerun_ratio']} | "
        f"{r['rerun_peak_rss_mib']} |"
        for r in results
    ]
    lines += [
        "",
        *(
            f"- {r['rows']:,}: {r['summary']}; rerun: {r['rerun_summary']}"
            for r in results
        ),
    ]
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / name}.md and .json")


if __name__ == "__main__":
    main()
