"""Benchmark: generating pooled codes vs a plain COPY of as many rows.

Generates N (default 1,000,000) codes into a fresh series' pool through the service
(``series_generate_codes``: the room check, random candidates, COPY into a staging
table, one INSERT ... SELECT into ``coupons_coupon`` per batch, redone with ON
CONFLICT DO NOTHING if a code was taken), and COPYs N prepared rows into
``bench_copy_coupon``, a table made ``LIKE coupons_coupon INCLUDING ALL`` plus its
foreign keys (same columns, checks, indexes and foreign keys), in the same run.
Median of ``--rounds`` (default 3) rounds each; prints both and their ratio. Two
more COPYs are printed for scale: into the same table without its foreign keys, and
into the same columns without any index (the floor of writing the rows).

``--check``: the series makes codes people can type (``check_character``: Crockford
base32 and a check character, ``coupons.typed_codes``), and the COPY gets the same
codes, check characters included.

It WIPES the coupon tables of the database it runs on: give it its own database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/couponhub_h_bench \\
        .venv/bin/python bench/codegen.py [--count 1000000] [--rounds 3] [--check]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from core import flake  # noqa: E402
from coupons.codes import fold_codes  # noqa: E402
from coupons.models import Coupon  # noqa: E402
from series import pool, services  # noqa: E402
from series.models import Series  # noqa: E402
from stores.services import store_create  # noqa: E402

COPY_TABLE = "bench_copy_coupon"
NOFK_TABLE = "bench_copy_nofk"
BARE_TABLE = "bench_copy_bare"


def _text(value) -> str:
    """A value in COPY text format."""
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _wipe() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE coupons_redemption, assignments_assignment, coupons_coupon, "
            "series_series CASCADE"
        )


def _fresh_series(round_no: int, *, check: bool):
    store = store_create(name=f"Bench {round_no}", code=f"bench-{flake.next_id()}")
    return services.series_create(
        store=store,
        description="bench",
        discount_type="ABS",
        discount_value=5,
        alpha_numeric=True,
        random_code_length=10,
        max_create=-1,
        check_character=check,
    )


def time_generation(count: int, round_no: int, *, check: bool) -> tuple[float, Series]:
    _wipe()
    series = _fresh_series(round_no, check=check)
    started = time.perf_counter()
    done = pool.series_generate_codes(series=series, count=count)
    seconds = time.perf_counter() - started
    assert done == count, (done, count)
    pooled = Coupon.objects.filter(series=series, pooled=True).count()
    assert pooled == count + pool.pool_target(), pooled
    return seconds, series


def _copy_rows(series: Series, count: int) -> tuple[str, str]:
    """COPY text of ``count`` coupon rows like the pool's, and the column list."""
    values = pool.series_coupon_values(series, currency="USD")
    template = Coupon(**values)
    fields = [
        f
        for f in Coupon._meta.concrete_fields
        # compact_id: numbered by the column's sequence default, as the pool's are.
        if f.attname not in ("id", "code", "code_folded", "compact_id")
    ]
    constants = "\t".join(_text(getattr(template, f.attname)) for f in fields)
    spec = pool.series_spec(series)
    codes = spec.distinct(count)
    ids = flake.next_ids(count)
    data = "".join(
        f"{i}\t{code}\t{folded}\t{constants}\n"
        for i, code, folded in zip(ids, codes, fold_codes(codes), strict=True)
    )
    columns = ", ".join(
        ["id", "code", "code_folded", *(f'"{f.column}"' for f in fields)]
    )
    return data, columns


def make_copy_tables() -> None:
    """(Re)create the COPY's tables: ``COPY_TABLE`` like ``coupons_coupon`` with its
    foreign keys, ``NOFK_TABLE`` without them, ``BARE_TABLE`` without any index."""
    with connection.cursor() as cursor:
        for table, including in (
            (COPY_TABLE, "INCLUDING ALL"),
            (NOFK_TABLE, "INCLUDING ALL"),
            # Defaults only (the compact id's sequence), no index or constraint.
            (BARE_TABLE, "INCLUDING DEFAULTS"),
        ):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(f"CREATE TABLE {table} (LIKE coupons_coupon {including})")
        # LIKE copies no foreign key: add coupons_coupon's (deferred, checked at
        # commit) so the COPY pays for them as the pool's inserts do.
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'coupons_coupon'::regclass AND contype = 'f'"
        )
        for n, (definition,) in enumerate(cursor.fetchall()):
            cursor.execute(
                f"ALTER TABLE {COPY_TABLE} ADD CONSTRAINT bench_fk_{n} {definition}"
            )


def time_copy(table: str, data: str, columns: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table}")
    started = time.perf_counter()
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        copy.write(data)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--check", action="store_true", help="codes with a check character"
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/codegen.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    call_command("migrate", verbosity=0)
    make_copy_tables()
    print(
        f"PostgreSQL {connection.cursor().connection.info.server_version}, "
        f"{args.count:,} codes{' with a check character' if args.check else ''}, "
        f"{args.rounds} rounds, "
        f"batch {pool.GENERATE_BATCH:,}, pool target {pool.pool_target()}"
    )
    generation, copy_like, copy_nofk, copy_bare = [], [], [], []
    for round_no in range(1, args.rounds + 1):
        seconds, series = time_generation(args.count, round_no, check=args.check)
        generation.append(seconds)
        # The same number of rows, of the same series (the foreign keys hold).
        data, columns = _copy_rows(series, args.count)
        copy_like.append(time_copy(COPY_TABLE, data, columns))
        copy_nofk.append(time_copy(NOFK_TABLE, data, columns))
        copy_bare.append(time_copy(BARE_TABLE, data, columns))
        print(
            f"round {round_no}: generate {generation[-1]:.2f} s, "
            f"COPY (same table) {copy_like[-1]:.2f} s, "
            f"COPY (same, no foreign keys) {copy_nofk[-1]:.2f} s, "
            f"COPY (no indexes) {copy_bare[-1]:.2f} s"
        )
    gen, like, nofk, bare = (
        statistics.median(x) for x in (generation, copy_like, copy_nofk, copy_bare)
    )
    print(
        f"median: generate {gen:.2f} s ({args.count / gen:,.0f} codes/s); "
        f"COPY same table {like:.2f} s ({args.count / like:,.0f} rows/s); "
        f"COPY without foreign keys {nofk:.2f} s; COPY no indexes {bare:.2f} s"
    )
    print(f"ratio generate / COPY (same table):          {gen / like:.2f}")
    print(f"ratio generate / COPY (same, no foreign keys): {gen / nofk:.2f}")
    print(f"ratio generate / COPY (no indexes):           {gen / bare:.2f}")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {COPY_TABLE}, {NOFK_TABLE}, {BARE_TABLE}")
    _wipe()


if __name__ == "__main__":
    main()
