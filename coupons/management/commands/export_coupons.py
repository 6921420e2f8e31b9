from django.core.management.base import BaseCommand, CommandError

from core import flake
from core.progress import CommandProgress
from coupons.exporter import FORMATS, STATUSES, export_queryset, write_export
from series.models import Series
from stores.management.commands._common import (
    find_store,
    open_output,
    output_path,
)


class Command(BaseCommand):
    help = (
        "Export a store's coupons as CSV or JSON lines, streamed in constant memory "
        "(to --output, or to standard output)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="Store id or code")
        parser.add_argument("--series", help="Only this series' coupons (series id)")
        parser.add_argument("--status", choices=STATUSES, default="all")
        parser.add_argument("--format", choices=FORMATS, default="csv", dest="fmt")
        parser.add_argument("--output", help="File to write (default: standard output)")

    def handle(self, *args, **opts):
        store = find_store(opts["store"])
        series_id = None
        if opts["series"] is not None:
            series_id = flake.parse(opts["series"])
            if (
                not series_id
                or not Series.objects.filter(id=series_id, store=store).exists()
            ):
                raise CommandError(
                    f"Series {opts['series']!r} not found in this store."
                )
        queryset = export_queryset(
            store=store, series_id=series_id, status=opts["status"]
        )
        if opts["output"]:
            path = output_path(opts["output"], "--output")
            with open_output(path, "--output") as out:
                bar = CommandProgress(self.stderr, total=None, desc="export_coupons")
                count = write_export(
                    queryset=queryset, out=out, fmt=opts["fmt"], progress=bar.update
                )
                bar.close()
            self.stdout.write(f"Exported {count} coupons to {path}")
        else:
            count = write_export(
                queryset=queryset, out=_Raw(self.stdout), fmt=opts["fmt"]
            )
            self.stderr.write(f"Exported {count} coupons")


class _Raw:
    """Write to a command's stdout without the newline Django appends."""

    def __init__(self, wrapper):
        self.wrapper = wrapper

    def write(self, text: str) -> None:
        self.wrapper.write(text, ending="")
