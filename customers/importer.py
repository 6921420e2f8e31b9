"""Bulk customer import from CSV: upsert by identifiers, batch by batch.

A row matches an existing customer by external ID, email (folded as
``customers.identifiers.fold_email`` folds it, through its unique index) or mobile.
Good rows are written; bad rows are reported with their line number and reason (the
report in line order). Every batch is one transaction. Re-importing the same file
changes nothing: no row is written, no ``updated_at`` moves.

Rows are applied as if one after another, in file order: a row that matches a
customer sets the columns it gives (a non-empty cell) and leaves the others; so
when several rows of a file name the same customer (a shared identifier, or
identifiers of one customer), the later row's non-empty cells win and the earlier
ones fill the rest. A row whose identifiers belong to different customers is
rejected.

Two ways to do that, with one result (tests/customers/test_import_paths.py):
- PostgreSQL (``customers.import_store``): a batch is COPYed into a staging table
  and written by a few set-based statements; only the rows of a batch that name a
  customer another row of the batch names too go one by one (``import_batch``).
- Elsewhere (SQLite): ``import_batch`` for every batch, three lookups a batch.
The email is folded by Python (``fold_email``) on both, before it reaches the
database: SQL only compares the stored forms (DESIGN.md, identifiers).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from psycopg import errors as errors_pg

from core import csvsafe, flake
from customers import import_store
from customers.identifiers import fold_email, is_mobile
from customers.models import Customer
from stores.models import Store

COLUMNS = ("first_name", "last_name", "email", "mobile", "external_id")
IDENTIFIERS = ("external_id", "email", "mobile")
# Plain ASCII addresses that Django's ``validate_email`` accepts, matched without it
# (it costs ~10 us a call: 10 s of a million rows). A strict subset of what it
# accepts (tests/customers/test_import_normalisation.py checks that); anything else
# still goes through ``validate_email``.
PLAIN_EMAIL_RE = re.compile(
    r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\Z"
)
LIMITS = {"first_name": 150, "last_name": 150, "email": 254, "mobile": 32}
LIMITS["external_id"] = 128
COPY_BATCH = 50_000
PORTABLE_BATCH = 1_000
RETRIES = 5


class ImportFileError(Exception):
    """The file as a whole cannot be imported (missing, unreadable, bad header)."""


@dataclass
class RowError:
    line: int
    reason: str


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    def add(self, other: ImportResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.errors.extend(other.errors)

    def as_dict(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": len(self.errors),
        }


def scan_csv(
    path: Path, error: type[Exception], unused: str = "Nothing was imported."
) -> tuple[list[str], int]:
    """The header (names stripped) and the record count of the CSV file at
    ``path``, read whole before anything is done with it; ``error`` for a missing or
    empty file (``unused``: what the refusal of a malformed file says was not done).

    Parsed strictly (a quoted cell left open at the end, a quote inside an unquoted
    cell): a malformed or truncated file is refused with the line where parsing
    stopped, never used in part. The count is of records, not lines (a quoted cell
    may span lines), so a progress on it ends at 100 %. Blank lines are not records.
    """
    if not path.is_file():
        raise error(f"No such file: {path}")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle, strict=True)
        try:
            header = next(reader, None)
            total = sum(1 for cells in reader if cells)
        except csv.Error as exc:
            raise error(
                f"Line {reader.line_num}: {exc} (is a quoted cell left open, or a "
                f"quote misplaced?). {unused}"
            ) from exc
    if not header:
        raise error("The file is empty: it needs a header row.")
    return [name.strip() for name in header], total


def check_columns(
    header: list[str], allowed: Sequence[str], expected: str, error: type[Exception]
) -> None:
    """Every column of ``header`` named, one of ``allowed`` and given once
    (``expected``: the sentence that says which are). An empty name (``email,``: a
    trailing comma) is refused rather than ignored: its cells would have no column
    to go to."""
    empty = [str(i) for i, name in enumerate(header, 1) if not name]
    if empty:
        raise error(
            f"The header has an empty column name (column {', '.join(empty)}): "
            f"remove the extra comma or name the column. {expected}"
        )
    unknown = [name for name in header if name not in allowed]
    if unknown:
        raise error(f"Unknown column(s): {', '.join(unknown)}. {expected}")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise error(
            f"Duplicate column(s): {', '.join(repeated)}. Give each column once."
        )


def read_rows(path: Path) -> tuple[int, Iterator[tuple[int, dict[str, str]]]]:
    """(record count, iterator of (line number, row)); the file is parsed and its
    header checked before any row is given (``scan_csv``, ``check_columns``)."""
    header, total = scan_csv(path, ImportFileError)
    check_columns(header, COLUMNS, f"Expected: {', '.join(COLUMNS)}.", ImportFileError)
    if not set(header) & set(IDENTIFIERS):
        raise ImportFileError(
            "The header needs at least one identifier column: email, mobile or "
            "external_id."
        )

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        width = len(header)
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, strict=True)
            next(reader)
            for cells in reader:
                if not cells:
                    continue  # a blank line (csv.DictReader skipped them too)
                if len(cells) > width:
                    yield reader.line_num, {"__error__": "too many cells"}
                    continue
                yield (
                    reader.line_num,
                    {
                        name: cells[i].strip() if i < len(cells) else ""
                        for i, name in enumerate(header)
                    },
                )

    return total, rows()


def _row_problem(row: dict[str, str]) -> str | None:
    if "__error__" in row:
        return row["__error__"]
    if not any(row.get(key) for key in IDENTIFIERS):
        return "no identifier (email, mobile or external_id)"
    for key, limit in LIMITS.items():
        if len(row.get(key, "")) > limit:
            return f"{key} is longer than {limit} characters"
    email = row.get("email")
    if email and not PLAIN_EMAIL_RE.match(email):
        try:
            validate_email(email)
        except ValidationError:
            return f"invalid email {email!r}"
    if row.get("mobile") and not is_mobile(row["mobile"]):
        return f"invalid mobile {row['mobile']!r}"
    return None


def split_rows(
    batch: list[tuple[int, dict[str, str]]],
) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    """The good rows of ``batch`` and an error for each bad one (in line order)."""
    good: list[tuple[int, dict[str, str]]] = []
    errors: list[RowError] = []
    for line, row in batch:
        problem = _row_problem(row)
        if problem:
            errors.append(RowError(line, problem))
        else:
            good.append((line, row))
    return good, errors


def apply_in_order(
    *, store: Store, good: list[tuple[int, dict[str, str]]], result: ImportResult
) -> None:
    """Apply good rows one after another in file order (three lookups in all), in
    the caller's transaction. Counts into ``result``: the rows of a customer that
    changed count as updated (of a new one: the first created, the others updated),
    those of a customer whose rows leave it as it was as unchanged."""
    existing = Customer.objects.for_store(store.id)
    emails = {fold_email(row["email"]) for _, row in good if row.get("email")}
    mobiles = {row["mobile"] for _, row in good if row.get("mobile")}
    external_ids = {row["external_id"] for _, row in good if row.get("external_id")}
    matched: set[int] = set()
    for queryset in (
        existing.filter(email_folded__in=emails),
        existing.filter(mobile__in=mobiles),
        existing.filter(external_id__in=external_ids),
    ):
        matched.update(queryset.values_list("pk", flat=True))
    # One object per customer, however many identifiers found it, read under its row
    # lock (in id order) until the batch commits: the batch writes every column of a
    # row it changes, so a copy read unlocked would undo a PATCH made meanwhile.
    found: dict[int, Customer] = {
        customer.pk: customer
        for customer in existing.filter(pk__in=matched)
        .order_by("pk")
        .select_for_update()
    }
    index: dict[tuple[str, str], Customer] = {}
    for customer in found.values():
        for key in IDENTIFIERS:
            value = getattr(customer, key)
            if value:
                index[(key, fold_email(value) if key == "email" else value)] = customer

    # Rows are applied one after another to these objects; what is written is each
    # customer's net result, once: a customer whose rows end where it began is not
    # written (so a rerun writes nothing, whatever the order of its rows).
    touched: dict[int, list] = {}  # id(customer) -> [customer, rows, before]
    for line, row in good:
        keys = [
            (key, fold_email(row[key]) if key == "email" else row[key])
            for key in IDENTIFIERS
            if row.get(key)
        ]
        matches = {id(index[k]): index[k] for k in keys if k in index}
        if len(matches) > 1:
            names = ", ".join(name for name, value in keys if (name, value) in index)
            result.errors.append(
                RowError(line, f"identifiers ({names}) belong to different customers")
            )
            continue
        values = {key: row[key] for key in COLUMNS if row.get(key)}
        if matches:
            customer = next(iter(matches.values()))
            entry = touched.setdefault(id(customer), [customer, 0, _values(customer)])
            for key, value in values.items():
                setattr(customer, key, value)
        else:
            customer = Customer(store=store, **values)
            entry = touched[id(customer)] = [customer, 0, None]
        entry[1] += 1
        for key in keys:
            index[key] = customer
    now = timezone.now()
    to_create: list[Customer] = []
    to_update: list[Customer] = []
    for customer, rows, before in touched.values():
        if before is None:
            # A new customer: its first row created it, the others added to it.
            customer.created_at = customer.updated_at = now
            to_create.append(customer)
            result.created += 1
            result.updated += rows - 1
        elif _values(customer) != before:
            customer.updated_at = now
            to_update.append(customer)
            result.updated += rows
        else:
            result.unchanged += rows
    Customer.objects.bulk_create(to_create, batch_size=1000)
    if to_update:
        Customer.objects.bulk_update(
            to_update, [*COLUMNS, "updated_at"], batch_size=1000
        )


def _values(customer: Customer) -> tuple:
    return tuple(getattr(customer, key) for key in COLUMNS)


def import_batch(
    *, store: Store, batch: list[tuple[int, dict[str, str]]], dry_run: bool = False
) -> ImportResult:
    """One batch, one transaction: the portable path (SQLite), three lookups."""
    good, errors = split_rows(batch)
    result = ImportResult(errors=errors)
    with transaction.atomic():
        apply_in_order(store=store, good=good, result=result)
        if dry_run:
            transaction.set_rollback(True)
    result.errors.sort(key=lambda error: error.line)
    return result


class _Moved(Exception):
    """A customer a row found changed before the batch locked it: redo the batch."""


def _staged(
    good: list[tuple[int, dict[str, str]]],
) -> list[tuple[object, ...]]:
    """The COPY rows (``import_store.STAGED``) of a batch's good rows. A row that
    shares an identifier with another row of the batch is marked to go one by one
    (``c``), as is that other row."""
    ids = flake.next_ids(len(good))
    staged: list[list[object]] = []
    seen: dict[tuple[int, str], int] = {}
    for index, (line, row) in enumerate(good):
        email = row.get("email") or None
        folded = fold_email(email) if email else None
        mobile = row.get("mobile") or None
        external_id = row.get("external_id") or None
        state = "s"
        for key in ((0, external_id), (1, folded), (2, mobile)):
            if key[1] is None:
                continue
            other = seen.setdefault(key, index)
            if other != index:
                state = "c"
                staged[other][-1] = "c"
        staged.append(
            [
                line,
                ids[index],
                row.get("first_name") or None,
                row.get("last_name") or None,
                email,
                folded,
                mobile,
                external_id,
                state,
            ]
        )
    return [tuple(row) for row in staged]


def _copy_write(
    *,
    store: Store,
    good: list[tuple[int, dict[str, str]]],
    staged: list[tuple[object, ...]],
    result: ImportResult,
) -> None:
    with connection.cursor() as cursor:
        import_store.stage(cursor, staged)
        for line, *found in import_store.resolve(cursor, store_id=store.id):
            names = ", ".join(
                name for name, pk in zip(IDENTIFIERS, found, strict=True) if pk
            )
            result.errors.append(
                RowError(line, f"identifiers ({names}) belong to different customers")
            )
        created, updated, matched, settled = import_store.write(
            cursor, store_id=store.id, now=timezone.now()
        )
        if settled != matched:
            raise _Moved
        result.created += created
        result.updated += updated
        result.unchanged += matched - updated
        lines = set(import_store.one_by_one(cursor))
    if lines:
        apply_in_order(
            store=store,
            good=[(line, row) for line, row in good if line in lines],
            result=result,
        )


def copy_batch(
    *, store: Store, batch: list[tuple[int, dict[str, str]]], dry_run: bool = False
) -> ImportResult:
    """One batch, one transaction: the PostgreSQL path (COPY, then set-based).

    A batch that meets a concurrent write of the same customers (a unique index
    taken meanwhile, a customer changed before it was locked, a deadlock) is rolled
    back and run again, up to ``RETRIES`` times: it then sees that write committed.
    """
    good, errors = split_rows(batch)
    staged = _staged(good)
    for attempt in range(1, RETRIES + 1):
        result = ImportResult(errors=list(errors))
        try:
            with transaction.atomic():
                _copy_write(store=store, good=good, staged=staged, result=result)
                if dry_run:
                    transaction.set_rollback(True)
        except (IntegrityError, OperationalError, _Moved) as exc:
            transient = isinstance(exc, IntegrityError | _Moved) or isinstance(
                exc.__cause__, errors_pg.TransactionRollback
            )
            if not transient or attempt == RETRIES:
                raise
            continue
        break
    result.errors.sort(key=lambda error: error.line)
    return result


def import_customers(
    *,
    store: Store,
    rows: Iterable[tuple[int, dict[str, str]]],
    batch_size: int | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    copy: bool | None = None,
) -> ImportResult:
    """Import ``rows`` in batches of ``batch_size`` (default: 50,000 on the COPY
    path, 1,000 on the portable one). ``copy``: the PostgreSQL COPY path (default:
    whenever the database is PostgreSQL)."""
    if copy is None:
        copy = connection.vendor == "postgresql"
    run_batch = copy_batch if copy else import_batch
    size = batch_size or (COPY_BATCH if copy else PORTABLE_BATCH)
    total = ImportResult()
    batch: list[tuple[int, dict[str, str]]] = []
    for item in rows:
        batch.append(item)
        if len(batch) >= size:
            total.add(run_batch(store=store, batch=batch, dry_run=dry_run))
            if progress:
                progress(len(batch))
            batch = []
    if batch:
        total.add(run_batch(store=store, batch=batch, dry_run=dry_run))
        if progress:
            progress(len(batch))
    return total


def write_report(path: Path, errors: list[RowError]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csvsafe.writer(handle)
        writer.writerow(["line", "reason"])
        for error in errors:
            writer.writerow([error.line, error.reason])
