"""Benchmark: ``issue_to_customers`` against its set-based floor, in one run.

For each N (default 20,000 and 100,000): a store with N customers (COPY), two
random series each with a pool of N codes (``series_generate_codes``), and a CSV
of the customers' mobiles. Then, timed:

- the command, ``manage.py issue_to_customers --series A list.csv`` (in process:
  reading the file, resolving the mobiles, locks, the limits of
  ``series.issue.decide``, claims, assignments, audit events, counter), batches of
  ``--batch`` rows;
- the floor on series B: one SQL statement that claims N pooled codes (FOR UPDATE
  SKIP LOCKED, through the pool index), pairs them with the store's N customers,
  inserts the N assignments and moves the counter. It writes no audit event and
  resolves no identifier, so the ratio is, if anything, unfair to the command.

Prints both, their ratio (target <= 10x) and the process's peak RSS after the
command, and writes ``results/<date>-bulk-issue[-<tag>].md`` and ``.json``.

It WIPES the ledger tables of the database it runs on: give it its own database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/couponhub_bench \\
        .venv/bin/python bench/bulk_issue.py [--sizes 20000,100000] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from assignments.models import Assignment  # noqa: E402
from bench.dataset import copy_rows  # noqa: E402
from core import flake  # noqa: E402
from customers.models import Customer  # noqa: E402
from series import bulk_issue, pool, services  # noqa: E402
from series.models import Series  # noqa: E402
from stores.services import store_create  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"

FLOOR = """
WITH claimed AS (
    SELECT id FROM coupons_coupon
    WHERE series_id = ANY(%(series)s) AND pooled AND archived_at IS NULL AND enabled
    ORDER BY series_id, id LIMIT %(count)s FOR UPDATE SKIP LOCKED
), numbered AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n FROM claimed
), people AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n
    FROM customers_customer WHERE store_id = %(store)s
), pairs AS (
    SELECT numbered.id AS coupon_id, people.id AS customer_id, numbered.n
    FROM numbered JOIN people USING (n)
), claim AS (
    UPDATE coupons_coupon c
    SET pooled = false, usable_by_customer_id = pairs.customer_id
    FROM pairs WHERE c.id = pairs.coupon_id RETURNING c.id
), assigned AS (
    INSERT INTO assignments_assignment
        (id, store_id, coupon_id, customer_id, series_id, channel, purpose, created_at)
    SELECT %(base)s + pairs.n, %(store)s, pairs.coupon_id, pairs.customer_id,
        %(series_id)s, 'command', '', now()
    FROM pairs JOIN claim ON claim.id = pairs.coupon_id
    RETURNING 1
)
UPDATE series_series SET issued_count = issued_count + (SELECT COUNT(*) FROM assigned)
WHERE id = %(series_id)s
"""


def _wipe() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_dataset")
        cursor.execute(
            "TRUNCATE audit_auditevent, coupons_redemption, assignments_assignment, "
            "coupons_coupon, series_series, customers_customer, jobs_job, "
            "stores_store CASCADE"
        )


def _series(store, name: str, count: int) -> Series:
    series = services.series_create(
        store=store,
        description=name,
        discount_type="ABS",
        discount_value=5,
        alpha_numeric=True,
        random_code_length=10,
        code_prefix=name,
    )
    pool.series_generate_codes(series=series, count=count)
    return series


def _setup(count: int, folder: Path) -> tuple[Series, Series, Path]:
    _wipe()
    now = timezone.now()
    store = store_create(name="Bench bulk issue", code=f"bulk-{flake.next_id()}")
    with transaction.atomic():
        copy_rows(
            Customer,
            Customer(store=store, first_name="Bench", created_at=now, updated_at=now),
            ["id", "mobile", "external_id"],
            (
                (cid, f"9{n:011d}", f"bench-{n}")
                for n, cid in enumerate(flake.next_ids(count))
            ),
        )
    command, floor = _series(store, "CMD", count), _series(store, "FLR", count)
    path = folder / f"list-{count}.csv"
    path.write_text("mobile\n" + "".join(f"9{n:011d}\n" for n in range(count)))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return command, floor, path


def time_command(series: Series, path: Path, batch: int) -> float:
    out = StringIO()
    started = time.perf_counter()
    call_command(
        "issue_to_customers",
        "--series",
        str(series.id),
        "--batch",
        str(batch),
        str(path),
        stdout=out,
    )
    seconds = time.perf_counter() - started
    assert "rejected 0" in out.getvalue(), out.getvalue()[-300:]
    return seconds


def time_floor(series: Series, count: int) -> float:
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            FLOOR,
            {
                "series": [series.id],
                "count": count,
                "store": series.store_id,
                "base": flake.next_id(),
                "series_id": series.id,
            },
        )
    return time.perf_counter() - started


def _check(series: Series, count: int) -> None:
    series.refresh_from_db()
    issued = Assignment.objects.filter(series=series).count()
    assert series.issued_count == issued == count, (series.issued_count, issued)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="20000,100000")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--batch", type=int, default=bulk_issue.BATCH)
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit(
            "bench/bulk_issue.py needs PostgreSQL: set DATABASE_URL=postgres://..."
        )
    call_command("migrate", verbosity=0)
    version = connection.cursor().connection.info.server_version
    load_before = os.getloadavg()[0]
    print(
        f"PostgreSQL {version}, batch {args.batch:,}, {args.rounds} round(s), "
        f"load average {load_before:.1f}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for count in (int(size) for size in args.sizes.split(",")):
            commands, floors = [], []
            for round_no in range(1, args.rounds + 1):
                command_series, floor_series, path = _setup(count, Path(folder))
                commands.append(time_command(command_series, path, args.batch))
                _check(command_series, count)
                floors.append(time_floor(floor_series, count))
                _check(floor_series, count)
                print(
                    f"{count:,} customers, round {round_no}: command "
                    f"{commands[-1]:.2f} s, floor {floors[-1]:.2f} s"
                )
            command, floor = statistics.median(commands), statistics.median(floors)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
            row = {
                "customers": count,
                "command_s": round(command, 3),
                "floor_s": round(floor, 3),
                "ratio": round(command / floor, 2),
                "per_second": round(count / command),
                "peak_rss_mb": rss,
            }
            rows.append(row)
            print(
                f"{count:,} customers: command {command:.2f} s "
                f"({row['per_second']:,}/s), floor {floor:.2f} s, ratio "
                f"{row['ratio']:.2f}x, peak RSS {rss} MB"
            )
    _wipe()
    today = datetime.now(UTC).date().isoformat()
    stem = f"{today}-bulk-issue" + (f"-{args.tag}" if args.tag else "")
    load = f"{load_before:.1f} -> {os.getloadavg()[0]:.1f}"
    meta = {
        "postgresql": version,
        "batch": args.batch,
        "rounds": args.rounds,
        "load_average": load,
    }
    (RESULTS / f"{stem}.json").write_text(
        json.dumps({**meta, "rows": rows}, indent=2) + "\n"
    )
    lines = [
        f"# issue_to_customers vs its set-based floor ({today})",
        "",
        f"PostgreSQL {version}; batch {args.batch:,}; median of {args.rounds} "
        f"round(s); 1-minute load average {load} (2 cores); `bench/bulk_issue.py`.",
        "",
        "| customers | command (s) | rows/s | floor (s) | ratio | peak RSS (MB) |",
        "|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {r['customers']:,} | {r['command_s']:.2f} | {r['per_second']:,} | "
            f"{r['floor_s']:.2f} | {r['ratio']:.2f}x | {r['peak_rss_mb']} |"
            for r in rows
        ),
        "",
    ]
    (RESULTS / f"{stem}.md").write_text("\n".join(lines))
    print(f"wrote {RESULTS / stem}.md and .json")


if __name__ == "__main__":
    main()
