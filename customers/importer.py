"""Bulk customer import from CSV: upsert by identifiers, batch by batch.

A row matches an existing customer by external ID, email (folded as
``customers.identifiers.fold_email`` folds it, through its unique index) or mobile.
Good rows are written; bad rows are reported with their line number and reason. Every
batch is one transaction and the lookups of a batch are three queries, not one a row.
Re-importing the same file changes nothing.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from core import csvsafe
from customers.identifiers import fold_email
from customers.models import Customer
from stores.models import Store

COLUMNS = ("first_name", "last_name", "email", "mobile", "external_id")
IDENTIFIERS = ("external_id", "email", "mobile")
MOBILE_RE = re.compile(r"^\+?[0-9][0-9 ()\-.]{2,30}$")
LIMITS = {"first_name": 150, "last_name": 150, "email": 254, "mobile": 32}
LIMITS["external_id"] = 128


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


def read_rows(path: Path) -> tuple[int, Iterator[tuple[int, dict[str, str]]]]:
    """(row count, iterator of (line number, row)); checks the header first."""
    if not path.is_file():
        raise ImportFileError(f"No such file: {path}")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle), None)
        total = sum(1 for _ in handle)
    if not header:
        raise ImportFileError("The file is empty: it needs a header row.")
    header = [name.strip() for name in header]
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise ImportFileError(
            f"Unknown column(s): {', '.join(unknown)}. Expected: {', '.join(COLUMNS)}."
        )
    if not set(header) & set(IDENTIFIERS):
        raise ImportFileError(
            "The header needs at least one identifier column: email, mobile or "
            "external_id."
        )

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle, fieldnames=header)
            next(reader)
            for row in reader:
                if None in row:
                    yield reader.line_num, {"__error__": "too many cells"}
                    continue
                yield reader.line_num, {k: (v or "").strip() for k, v in row.items()}

    return total, rows()


def _row_problem(row: dict[str, str]) -> str | None:
    if "__error__" in row:
        return row["__error__"]
    if not any(row.get(key) for key in IDENTIFIERS):
        return "no identifier (email, mobile or external_id)"
    for key, limit in LIMITS.items():
        if len(row.get(key, "")) > limit:
            return f"{key} is longer than {limit} characters"
    if row.get("email"):
        try:
            validate_email(row["email"])
        except ValidationError:
            return f"invalid email {row['email']!r}"
    if row.get("mobile") and not MOBILE_RE.match(row["mobile"]):
        return f"invalid mobile {row['mobile']!r}"
    return None


@transaction.atomic
def import_batch(
    *, store: Store, batch: list[tuple[int, dict[str, str]]], dry_run: bool = False
) -> ImportResult:
    result = ImportResult()
    good: list[tuple[int, dict[str, str]]] = []
    for line, row in batch:
        problem = _row_problem(row)
        if problem:
            result.errors.append(RowError(line, problem))
        else:
            good.append((line, row))
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

    now = timezone.now()
    to_create: list[Customer] = []
    to_update: dict[int, Customer] = {}
    for line, row in good:
        keys = [
            (key, fold_email(row[key]) if key == "email" else row[key])
            for key in IDENTIFIERS
            if row.get(key)
        ]
        matches = {index[k].pk: index[k] for k in keys if k in index}
        if len(matches) > 1:
            names = ", ".join(name for name, value in keys if (name, value) in index)
            result.errors.append(
                RowError(line, f"identifiers ({names}) belong to different customers")
            )
            continue
        values = {key: row[key] for key in COLUMNS if row.get(key)}
        if matches:
            customer = next(iter(matches.values()))
            changed = {k: v for k, v in values.items() if getattr(customer, k) != v}
            if not changed:
                result.unchanged += 1
                continue
            for key, value in changed.items():
                setattr(customer, key, value)
            customer.updated_at = now
            if customer.pk and not customer._state.adding:
                to_update[customer.pk] = customer
            result.updated += 1
        else:
            customer = Customer(store=store, **values)
            to_create.append(customer)
            result.created += 1
        for key in keys:
            index[key] = customer
    if not dry_run:
        Customer.objects.bulk_create(to_create, batch_size=1000)
        if to_update:
            Customer.objects.bulk_update(
                list(to_update.values()), [*COLUMNS, "updated_at"], batch_size=1000
            )
    return result


def import_customers(
    *,
    store: Store,
    rows: Iterable[tuple[int, dict[str, str]]],
    batch_size: int = 1000,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    total = ImportResult()
    batch: list[tuple[int, dict[str, str]]] = []
    for item in rows:
        batch.append(item)
        if len(batch) >= batch_size:
            total.add(import_batch(store=store, batch=batch, dry_run=dry_run))
            if progress:
                progress(len(batch))
            batch = []
    if batch:
        total.add(import_batch(store=store, batch=batch, dry_run=dry_run))
        if progress:
            progress(len(batch))
    return total


def write_report(path: Path, errors: list[RowError]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csvsafe.writer(handle)
        writer.writerow(["line", "reason"])
        for error in errors:
            writer.writerow([error.line, error.reason])
