"""``generate_codes --series ID --count N``: fill a series' pool with new codes."""

from __future__ import annotations

import time
from typing import TextIO

from django.core.management.base import BaseCommand, CommandError

from core import flake
from core.errors import DomainError
from series import pool
from series.models import CodeFormat, Series

BAR_WIDTH = 30


class ProgressReport:
    """A redrawn bar on a terminal; otherwise a plain line every 10 % (for logs)."""

    def __init__(self, stream: TextIO, total: int) -> None:
        self.stream = stream
        self.total = total
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self.last_step = -1

    def __call__(self, done: int, total: int) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = done / elapsed
        percent = done * 100 // total if total else 100
        if self.tty:
            filled = BAR_WIDTH * done // total if total else BAR_WIDTH
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            self.stream.write(
                f"\r[{bar}] {percent:3d}% {done:,}/{total:,} codes, {rate:,.0f}/s"
            )
            if done >= total:
                self.stream.write("\n")
            self.stream.flush()
            return
        step = percent // 10
        if step > self.last_step or done >= total:
            self.last_step = step
            self.stream.write(
                f"generated {done:,}/{total:,} codes ({percent}%), {rate:,.0f}/s\n"
            )
            self.stream.flush()


class Command(BaseCommand):
    help = (
        "Generate N new unique codes into a series' pool, in batches (one transaction "
        "each). Refuses at once a count that cannot fit in the code format beside the "
        "store's other codes, or beyond what the series may still issue."
    )

    def add_arguments(self, parser):
        parser.add_argument("--series", required=True, help="Series ID")
        parser.add_argument("--count", required=True, type=int, help="How many codes")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=pool.GENERATE_BATCH,
            help=f"Codes per transaction (default {pool.GENERATE_BATCH:,})",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check that the codes fit and say what would happen; write nothing",
        )

    def handle(self, *args, **opts):
        series_id = flake.parse(opts["series"])
        series = (
            Series.objects.select_related("store").filter(pk=series_id).first()
            if series_id
            else None
        )
        if series is None:
            raise CommandError(f"No series {opts['series']!r}.")
        if series.code_format != CodeFormat.RANDOM:
            raise CommandError("Only a series of random codes generates codes.")
        count, batch = opts["count"], opts["batch_size"]
        if count < 1 or batch < 1:
            raise CommandError("--count and --batch-size must be at least 1.")
        if opts["dry_run"]:
            self._dry_run(series, count)
            return
        progress = ProgressReport(self.stdout, count)
        started = time.monotonic()
        try:
            done = pool.series_generate_codes(
                series=series, count=count, progress=progress, batch_size=batch
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        seconds = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated {done:,} codes for series {series.id} in {seconds:.1f} s; "
                f"pool: {pool.pool_size(series):,} codes."
            )
        )

    def _dry_run(self, series: Series, count: int) -> None:
        spec = pool.series_spec(series)
        try:
            room = pool.generation_room(series, count)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        pooled = pool.pool_size(series)
        self.stdout.write(
            f"Format: {spec.describe()}; {spec.space:,} codes, {room:,} free in "
            f"store {series.store.code}. Pool: {pooled:,}. Issued: "
            f"{series.issued_count:,} of "
            f"{'unlimited' if series.max_create == -1 else f'{series.max_create:,}'}."
        )
        self.stdout.write(f"Would generate {count:,} codes (dry run: nothing written).")
