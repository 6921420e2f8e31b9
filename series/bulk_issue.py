"""Issue one code of a series to every customer listed in a CSV file: set-based,
in batches, resumable.

Each batch of ``BATCH`` rows is one transaction of a few statements, whatever its
size (``series.issue.store``'s bulk section):

1. the batch's customers, resolved from their identifiers and locked FOR NO KEY
   UPDATE in id order, in one statement;
2. the series, locked FOR NO KEY UPDATE, and what each customer holds of it (with
   the codes this run gave it before), in one round trip;
3. the limits, ``series.issue.decide``'s (``grant_each``: ``grant`` for each
   customer in turn, the series' count moving with each grant), so a batch holds
   every cap exactly as as many single issues would;
4. one pooled code claimed for each customer granted one (FOR UPDATE SKIP LOCKED,
   live codes only: a retired code is never issued), the pool refilled under the
   series lock when a random series' pool runs dry;
5. the assignments, their audit events, the codes' window and the series' counter
   (conditional on the cap, the last line of defence) in one round trip
   (``insert_issue_and_count``, the single issue's own statement).

Lock order: customers -> series -> pooled codes, the order of ``series_issue``
(its module docstring). An API issue (``POST /v2/coupon/issue/multiple``) of a
customer of the batch waits for the batch's commit at its first lock; one of
another customer claims codes beside the batch (SKIP LOCKED) and, to move the
counter, waits for the batch's commit, then sees the count the batch left.

Resumable: each assignment carries the run's marker in its purpose,
``issue_to_customers:<sha256 of the file>:<line>``. A batch is all or nothing, so a
run that stops (a crash, Ctrl-C, ``--limit``) has written whole batches, and a run
of the same file reads the markers of its customers under their locks and skips
the lines issued before: nobody is issued twice, whichever run (or how many runs at
once) gets there first. One code per customer per file: a customer listed twice is
issued once, the later line rejected.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import islice
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from assignments import services as assignment_services
from assignments.models import Assignment, Channel
from core import csvsafe, flake, metrics
from core.actors import SYSTEM, Actor
from core.errors import DomainError
from customers.identifiers import fold_email
from customers.importer import check_columns, scan_csv
from customers.refs import CustomerRef
from series import errors, pool
from series.issue import decide
from series.issue import store as issue_store
from series.models import CodeFormat, Series
from stores.models import Store

IDENTIFIERS = ("mobile", "email", "external_id", "id")
MARKER = "issue_to_customers"
BATCH = 5_000
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

    def as_dict(self) -> dict[str, int]:
        return {
            "issued": self.issued,
            "already_issued": self.already_done,
            "would_issue": self.would_issue,
            "rejected": len(self.problems),
        }


def save_list(upload: Iterable[bytes], *, folder: Path) -> tuple[Path, int]:
    """Store an uploaded customer list (its chunks) in ``folder`` for a job to
    read; returns its path and row count. A file that cannot be used (bad header)
    is removed again and its ``IssueFileError`` raised."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"issue-list-{flake.next_id()}.csv"
    with path.open("wb") as handle:
        for chunk in upload:
            handle.write(chunk)
    try:
        total, _ = read_rows(path)
    except (IssueFileError, UnicodeDecodeError) as exc:
        path.unlink()
        raise IssueFileError(str(exc)) from exc
    return path, total


def write_report(path: Path, problems: list[RowProblem]) -> None:
    """The rejected rows as CSV (line, reason), cells safe for spreadsheets."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csvsafe.writer(handle)
        writer.writerow(["line", "reason"])
        writer.writerows((problem.line, problem.reason) for problem in problems)


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def read_rows(path: Path) -> tuple[int, Iterator[tuple[int, dict[str, str]]]]:
    """(record count, iterator of (line number, row)), as the customer import reads
    its file: parsed strictly and whole, every column named, known and given once,
    before any row is given."""
    header, total = scan_csv(path, IssueFileError, "Nothing was issued.")
    check_columns(
        header,
        IDENTIFIERS,
        f"Use customer identifiers: {', '.join(IDENTIFIERS)}.",
        IssueFileError,
    )

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle, fieldnames=header, strict=True)
            next(reader)
            for row in reader:
                cells = {k: (v or "").strip() for k, v in row.items() if k is not None}
                yield reader.line_num, cells

    return total, rows()


# --- one row's identifiers ------------------------------------------------------------


@dataclass(frozen=True)
class _Named:
    """How a row names its customer: every identifier given must name it."""

    line: int
    id: int | None
    compact_id: int | None  # the id Capillary shows (CustomerRef.named's rule)
    mobile: str | None
    email_folded: str | None
    external_id: str | None


def _named(line: int, row: dict[str, str]) -> _Named | RowProblem:
    values = {key: row.get(key) or None for key in IDENTIFIERS}
    if not any(values.values()):
        return RowProblem(line, "no identifier")
    ref = CustomerRef()
    if values["id"] is not None:
        customer_id = flake.parse(values["id"])
        if customer_id is None:
            return RowProblem(line, f"invalid id {values['id']!r}")
        ref = CustomerRef.named(id=customer_id)
    email = values["email"]
    return _Named(
        line=line,
        id=ref.id,
        compact_id=ref.compact_id,
        mobile=values["mobile"],
        email_folded=None if email is None else fold_email(email),
        external_id=values["external_id"],
    )


def _resolve(
    named: _Named, index: dict[tuple[str, object], int], not_found: RowProblem
) -> int | RowProblem:
    """The customer every identifier of the row names (as ``customer_find``
    matches: all must hold), or the row's problem."""
    found = {
        index.get((kind, value))
        for kind, value in (
            ("id", named.id),
            ("compact_id", named.compact_id),
            ("mobile", named.mobile),
            ("email", named.email_folded),
            ("external_id", named.external_id),
        )
        if value is not None
    }
    if len(found) != 1 or None in found:
        return not_found
    return found.pop()


# --- the run --------------------------------------------------------------------------


@dataclass
class _Run:
    series_id: int
    marker: str
    dry_run: bool
    left: int | None  # rows this run may still handle (--limit)
    actor: Actor
    result: BulkIssueResult
    # Dry run: what earlier batches would have issued (nothing moved the counter).
    counted: int = 0


def issue_to_customers(
    *,
    series: Series,
    path: Path,
    dry_run: bool = False,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH,
    actor: Actor = COMMAND,
) -> BulkIssueResult:
    """Issue one code of ``series`` to each customer the file lists, a batch of
    ``batch_size`` rows per transaction (the module's docstring).

    ``limit``: handle at most that many rows not issued before. ``progress(n)`` is
    called after each batch with the rows it read. A refusal of the series itself
    (gone, disabled, expired) stops the run with its ``DomainError``; the batches
    before it stay issued, and a rerun goes on from there.
    """
    _, rows = read_rows(path)
    run = _Run(
        series_id=series.id,
        marker=f"{MARKER}:{file_digest(path)}:",
        dry_run=dry_run,
        left=limit,
        actor=actor,
        result=BulkIssueResult(),
    )
    for batch in _batches(rows, batch_size):
        if run.left is not None and run.left <= 0:
            break
        _issue_batch(series.store, run, batch)
        if progress:
            progress(len(batch))
    if run.result.issued and series.code_format == CodeFormat.RANDOM:
        pool.top_up_after_issue(series_id=series.id)
    return run.result


def _batches(
    rows: Iterable[tuple[int, dict[str, str]]], size: int
) -> Iterator[list[tuple[int, dict[str, str]]]]:
    rows = iter(rows)
    while batch := list(islice(rows, size)):
        yield batch


def _issue_batch(
    store: Store, run: _Run, batch: list[tuple[int, dict[str, str]]]
) -> None:
    """One batch, one transaction (a dry run's is rolled back)."""
    named = [_named(line, row) for line, row in batch]
    given = [row for row in named if isinstance(row, _Named)]
    with transaction.atomic():
        holders = issue_store.lock_customers(
            store=store,
            ids=sorted({row.id for row in given if row.id is not None}),
            compact_ids=sorted(
                {row.compact_id for row in given if row.compact_id is not None}
            ),
            mobiles=sorted({row.mobile for row in given if row.mobile}),
            emails_folded=sorted(
                {row.email_folded for row in given if row.email_folded}
            ),
            external_ids=sorted({row.external_id for row in given if row.external_id}),
            lock=not run.dry_run,
        )
        index: dict[tuple[str, object], int] = {}
        for holder in holders:
            index["id", holder.id] = holder.id
            for kind, value in (
                ("compact_id", holder.compact_id),
                ("mobile", holder.mobile),
                ("email", holder.email_folded),
                ("external_id", holder.external_id),
            ):
                if value is not None:
                    index[kind, value] = holder.id
        not_found = RowProblem(0, "customer not found")
        resolved = [
            row if isinstance(row, RowProblem) else _resolve(row, index, not_found)
            for row in named
        ]
        series, holdings = issue_store.lock_series_and_read_holdings(
            store=store,
            series_id=run.series_id,
            customer_ids=sorted({c for c in resolved if isinstance(c, int)}),
            marker=run.marker,
            lock=not run.dry_run,
        )
        at = timezone.now()
        _refuse(decide.found_refusal(series=series, customer_found=True, at=at))
        window = decide.coupon_window(series, at=at, tz=store.timezone)
        _refuse(decide.window_refusal(window, at=at))
        todo = _rows_to_issue(run, batch, resolved, holdings)
        terms = decide.Terms.of(series, held=0)
        if run.dry_run:
            terms = replace(terms, issued=terms.issued + run.counted)
        grants = decide.grant_each(
            terms, [holdings.get(c, _NONE).held for _, c in todo]
        )
        granted = []
        for (line, customer_id), grant in zip(todo, grants, strict=True):
            if grant.refusal is not None:
                run.result.problems.append(RowProblem(line, _reason(grant.refusal)))
            else:
                granted.append((line, customer_id))
        if run.dry_run:
            run.result.would_issue += len(granted)
            run.counted += len(granted)
            transaction.set_rollback(True)
            return
        _write(store, run, series, granted, window, at)


_NONE = issue_store.Holdings(held=0, marked=None)


def _rows_to_issue(
    run: _Run,
    batch: list[tuple[int, dict[str, str]]],
    resolved: list[int | RowProblem],
    holdings: dict[int, issue_store.Holdings],
) -> list[tuple[int, int]]:
    """(line, customer id) of the rows this batch issues to, in the file's order;
    the rows issued before are counted, the others' problems reported."""
    todo: list[tuple[int, int]] = []
    first_line: dict[int, int] = {}
    for (line, _row), customer in zip(batch, resolved, strict=True):
        marked = None
        if isinstance(customer, int):
            marked = holdings.get(customer, _NONE).marked
            if marked == f"{run.marker}{line}":
                run.result.already_done += 1
                continue
        if run.left is not None:
            if run.left <= 0:
                break
            run.left -= 1
        if isinstance(customer, RowProblem):
            run.result.problems.append(RowProblem(line, customer.reason))
        elif marked is not None:
            earlier = marked.rsplit(":", 1)[1]
            run.result.problems.append(RowProblem(line, f"duplicate of line {earlier}"))
        elif customer in first_line:
            earlier = first_line[customer]
            run.result.problems.append(RowProblem(line, f"duplicate of line {earlier}"))
        else:
            first_line[customer] = line
            todo.append((line, customer))
    return todo


def _write(
    store: Store,
    run: _Run,
    series: Series,
    granted: list[tuple[int, int]],
    window: decide.Window,
    at: datetime,
) -> None:
    """Claim a code for each granted row and write the issue (under the locks)."""
    if not granted:
        return
    codes = _claim(store, series, [customer for _, customer in granted])
    if len(codes) < len(granted):
        refusal = decide.settle(decide.Grant(1), available=0).refusal
        for line, _ in granted[len(codes) :]:
            run.result.problems.append(RowProblem(line, _reason(refusal)))
        granted = granted[: len(codes)]
        if not codes:
            return
    actor = run.actor
    # What every assignment and audit event of the batch shares: the single
    # issue's own forms (``series_issue``, ``assignment_events``).
    assignment = Assignment(
        store_id=store.id,
        coupon_id=0,
        customer_id=0,
        series_id=series.id,
        outlet_id=actor.outlet_id,
        api_key=actor.key,
        channel=actor.channel,
        valid_till=window.valid_till,
        transaction_number=None,
        purpose="",
        created_at=at,
    )
    [event] = assignment_services.assignment_events(
        [assignment],
        action="issue",
        changes={"valid_till": window.valid_till, "purpose": ""},
        actor=actor,
    )
    count = len(codes)
    rows = [
        (assignment_id, code_id, customer_id, f"{run.marker}{line}", event_id)
        for assignment_id, event_id, code_id, (line, customer_id) in zip(
            flake.next_ids(count), flake.next_ids(count), codes, granted, strict=True
        )
    ]
    counted = issue_store.write_bulk_issue(
        assignment=assignment,
        event=event,
        rows=rows,
        dated=[] if series.is_generic else codes,
        usable_at=window.usable_at,
        valid_till=window.valid_till,
        series=series,
    )
    if not counted:  # cannot happen under the series lock: undo the batch
        raise DomainError(errors.OUT_OF_STOCK)
    metrics.count_on_commit(store_code=store.code, operation=metrics.ISSUE, n=count)
    run.result.issued += count


def _claim(store: Store, series: Series, customer_ids: list[int]) -> list[int]:
    """The code ids for the first customers of ``customer_ids`` (all of them when
    the pool, refilled for a random series, holds enough), in their order."""
    if series.is_generic:
        coupon = pool.generic_coupon(series, store=store)
        return [] if coupon is None else [coupon.id] * len(customer_ids)
    claimed = issue_store.claim_pooled_codes_for(
        store=store, series_id=series.id, customer_ids=customer_ids
    )
    missing = customer_ids[len(claimed) :]
    if missing and series.code_format == CodeFormat.RANDOM:
        # The pool ran dry: generate the shortfall here, under the series lock.
        room = pool.code_room(series, exact=False)
        pool.fill(series, len(missing), free=room, currency=store.currency)
        claimed += issue_store.claim_pooled_codes_for(
            store=store, series_id=series.id, customer_ids=missing
        )
    by_customer = {code.customer_id: code.id for code in claimed}
    return [by_customer[c] for c in customer_ids[: len(claimed)]]


def _refuse(refusal: decide.Refusal | None) -> None:
    if refusal is not None:
        raise refusal.error()


def _reason(refusal: decide.Refusal) -> str:
    return f"{refusal.reason}: {refusal.error().message}"
