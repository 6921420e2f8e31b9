from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.progress import CommandProgress
from customers.importer import (
    COLUMNS,
    ImportFileError,
    import_customers,
    read_rows,
    write_report,
)
from stores.management.commands._common import (
    find_store,
    output_path,
    read_input,
    unreadable,
    unwritable,
)


class Command(BaseCommand):
    help = (
        "Import customers from a CSV file (header: "
        + ", ".join(COLUMNS)
        + "; at least one identifier column). Upserts by external_id, email (any "
        "case) or mobile; bad rows go to a report with their line numbers. Rows "
        "naming the same customer apply in file order (a later row's non-empty "
        "cells win). Running the same file again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="Store id or code")
        parser.add_argument("file", help="CSV file")
        parser.add_argument(
            "--report", help="Where to write rejected rows (default: FILE.rejected.csv)"
        )
        parser.add_argument(
            "--batch",
            type=int,
            help="Rows a batch (default: 50,000 on PostgreSQL, 1,000 elsewhere)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and count; write nothing"
        )

    def handle(self, *args, **opts):
        store = find_store(opts["store"])
        if opts["batch"] is not None and opts["batch"] < 1:
            raise CommandError("--batch must be at least 1.")
        path = Path(opts["file"])
        report = output_path(opts["report"] or f"{path}.rejected.csv", "--report")
        total, rows = read_input(read_rows, path, ImportFileError)
        bar = CommandProgress(self.stdout, total=total, desc="import_customers")
        try:
            result = import_customers(
                store=store,
                rows=rows,
                batch_size=opts["batch"],
                dry_run=opts["dry_run"],
                progress=bar.update,
            )
        except OSError as exc:  # the file went away or broke while it was read
            raise unreadable(path, exc) from exc
        finally:
            bar.close()
        summary = result.as_dict()
        prefix = "[dry run] would have: " if opts["dry_run"] else ""
        self.stdout.write(
            f"{prefix}created {summary['created']}, updated {summary['updated']}, "
            f"unchanged {summary['unchanged']}, rejected {summary['rejected']}"
        )
        if result.errors:
            try:
                write_report(report, result.errors)
            except OSError as exc:
                raise unwritable(report, "--report", exc) from exc
            self.stdout.write(f"Rejected rows (line, reason): {report}")
