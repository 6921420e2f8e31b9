"""Issue one code of a series to every customer listed in a CSV file, resumably.

Each row is its own transaction (``series_issue``) and its assignment carries the
run's marker, ``issue_to_customers:<sha256 of the file>:<line>``. A run that was
stopped (a crash, Ctrl-C, ``--limit``) and started again skips the lines it already
issued, so nothing is issued twice; every series cap holds because every issue goes
through the same service as the API.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from assignments.models import Assignment, Channel
from core import flake
from core.actors import SYSTEM
from core.errors import DomainError
from customers.refs import CustomerRef
from customers.selectors import customer_find
from series.issue import service as issue_service
from series.models import Series

IDENTIFIERS = ("mobile", "email", "external_id", "id")
MARKER = "issue_to_customers"
# Who issues: the system, through the command (the assignments' channel).
COMMAND = SYSTEM.via(Channel.COMMAND)


class IssueFileError(Exception):
    """The file as a whole cannot be used (missing, bad header)."""


@dataclass
class RowProblem:
    line: int
    reason: str


@dataclass
class BulkIssueResult:
    issued: int = 0
    already_done: int = 0
    would_issue: int = 0
    problems: list[RowProblem] = field(default_factory=list)


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def read_rows(path: Path) -> tuple[int, Iterator[tuple[int, dict[str, str]]]]:
    if not path.is_file():
        raise IssueFileError(f"No such file: {path}")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle), None)
        total = sum(1 for _ in handle)
    if not header:
        raise IssueFileError("The file is empty: it needs a header row.")
    header = [name.strip() for name in header]
    unknown = [name for name in header if name not in IDENTIFIERS]
    if unknown or not header:
        raise IssueFileError(
            f"Unknown column(s): {', '.join(unknown)}. Use customer identifiers: "
            f"{', '.join(IDENTIFIERS)}."
        )

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle, fieldnames=header)
            next(reader)
            for row in reader:
                cells = {k: (v or "").strip() for k, v in row.items() if k is not None}
                yield reader.line_num, cells

    return total, rows()


def _customer(store, row: dict[str, str]):
    values = {key: row.get(key) or None for key in IDENTIFIERS}
    if not any(values.values()):
        return None, "no identifier"
    customer_id = None
    if values["id"] is not None:
        customer_id = flake.parse(values["id"])
        if customer_id is None:
            return None, f"invalid id {values['id']!r}"
    customer = customer_find(
        store=store,
        email=values["email"],
        mobile=values["mobile"],
        external_id=values["external_id"],
        customer_id=customer_id,
    )
    return customer, None if customer else "customer not found"


def issue_to_customers(
    *,
    series: Series,
    path: Path,
    dry_run: bool = False,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> BulkIssueResult:
    store = series.store
    _, rows = read_rows(path)
    prefix = f"{MARKER}:{file_digest(path)}:"
    done_lines = {
        int(purpose.rsplit(":", 1)[1])
        for purpose in Assignment.objects.filter(
            series_id=series.id, purpose__startswith=prefix
        ).values_list("purpose", flat=True)
    }
    result = BulkIssueResult()
    handled = 0
    for line, row in rows:
        if progress:
            progress(1)
        if line in done_lines:
            result.already_done += 1
            continue
        if limit is not None and handled >= limit:
            break
        handled += 1
        customer, problem = _customer(store, row)
        if problem:
            result.problems.append(RowProblem(line, problem))
            continue
        if dry_run:
            result.would_issue += 1
            continue
        try:
            issue_service.series_issue(
                store=store,
                series_id=series.id,
                customer=CustomerRef.by_id(customer.id),
                count=1,
                actor=COMMAND,
                purpose=f"{prefix}{line}",
            )
        except DomainError as exc:
            result.problems.append(RowProblem(line, f"{exc.reason}: {exc.message}"))
        else:
            result.issued += 1
    return result
