from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core import compact, flake
from core.errors import DomainError
from core.progress import CommandProgress
from series.bulk_issue import (
    BATCH,
    IDENTIFIERS,
    IssueFileError,
    issue_to_customers,
    read_rows,
    write_report,
)
from series.models import Series
from stores.management.commands._common import (
    output_path,
    read_input,
    unreadable,
    unwritable,
)


class Command(BaseCommand):
    help = (
        "Issue one code of a series to each customer of a CSV file (columns: "
        + ", ".join(IDENTIFIERS)
        + "), set-based: a batch of rows per transaction. Resumable: run it again "
        "after a crash or Ctrl-C and it skips the rows already issued. Every series "
        "cap holds."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--series", required=True, help="Series id (Capillary's, or the flake id)"
        )
        parser.add_argument("file", help="CSV file")
        parser.add_argument(
            "--report", help="Rejected rows (default FILE.rejected.csv)"
        )
        parser.add_argument(
            "--limit", type=int, help="Handle at most this many new rows in this run"
        )
        parser.add_argument(
            "--batch",
            type=int,
            default=BATCH,
            help=f"Rows per transaction (default {BATCH:,})",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count; issue nothing"
        )

    def handle(self, *args, **opts):
        # The Capillary id v2 shows (compact) or the flake id, as every Capillary
        # input takes them (README, "Ids given back").
        series_id = flake.parse(opts["series"])
        series = (
            Series.objects.select_related("store")
            .filter(compact.lookup(series_id))
            .first()
            if series_id
            else None
        )
        if series is None:
            raise CommandError(f"Series {opts['series']!r} not found.")
        if not series.is_active:
            raise CommandError(
                f"Series {opts['series']!r} is disabled: nothing was issued. Enable "
                "it first."
            )
        if opts["limit"] is not None and opts["limit"] < 0:
            raise CommandError("--limit cannot be negative.")
        if opts["batch"] < 1:
            raise CommandError("--batch must be at least 1.")
        path = Path(opts["file"])
        report = output_path(opts["report"] or f"{path}.rejected.csv", "--report")
        total, _ = read_input(read_rows, path, IssueFileError)
        bar = CommandProgress(self.stdout, total=total, desc="issue_to_customers")
        done = 0

        def advance(rows: int) -> None:
            nonlocal done
            done += rows
            bar.update(rows)

        try:
            result = issue_to_customers(
                series=series,
                path=path,
                dry_run=opts["dry_run"],
                limit=opts["limit"],
                progress=advance,
                batch_size=opts["batch"],
            )
        except OSError as exc:  # the file went away or broke while it was read
            raise unreadable(path, exc) from exc
        except DomainError as exc:
            # A refusal of the series itself (disabled, expired or deleted meanwhile)
            # stops the run; the batches committed before it stay.
            before = (
                f"the batches before it ({done} rows) stay issued; a rerun goes on "
                "from there"
                if done and not opts["dry_run"]
                else "nothing was issued"
            )
            raise CommandError(f"{exc.reason}: {exc.message} ({before})") from exc
        finally:
            bar.close()
        if opts["dry_run"]:
            self.stdout.write(
                f"[dry run] would issue {result.would_issue}, already issued "
                f"{result.already_done}, rejected {len(result.problems)}"
            )
        else:
            self.stdout.write(
                f"issued {result.issued}, already issued {result.already_done}, "
                f"rejected {len(result.problems)}"
            )
        if result.problems:
            try:
                write_report(report, result.problems)
            except OSError as exc:
                raise unwritable(report, "--report", exc) from exc
            self.stdout.write(f"Rejected rows (line, reason): {report}")
