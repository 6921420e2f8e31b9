"""Code formats, their code space, and bulk inserts of pooled codes.

A series' random codes are ``prefix + body + suffix``, the body drawn uniformly from
the alphabet (digits, or A-Z and digits) with ``os.urandom`` and ``bytes.translate``:
a million codes cost a fraction of a second, not a Python call per character.

Codes are inserted in bulk and the database's unique index on the folded code decides
collisions (``ON CONFLICT DO NOTHING``; ``INSERT OR IGNORE`` on SQLite): no code is
checked one at a time. On PostgreSQL the rows (id, code, and the code folded by
``coupons.codes.fold_codes``) go through ``COPY`` into a temporary staging table,
then one ``INSERT ... SELECT``.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models.expressions import RawSQL

from core import compact, flake, sql
from coupons import typed_codes
from coupons.codes import fold_code, fold_codes
from coupons.models import Coupon

ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
DIGITS = "0123456789"
# Codes people can type: Crockford's base32 and a check character (coupons.typed_codes).
CROCKFORD = typed_codes.ALPHABET
# Below this many codes a space is enumerated (exact, whatever its fill); above it,
# codes are drawn at random and the unique index rejects the taken ones.
ENUMERATE_LIMIT = 1_000_000
# Most candidates drawn in one round (memory bound of an oversampled round).
MAX_CANDIDATES = 2_000_000
# A session's temporary table outlives its transactions (ON COMMIT DELETE ROWS): a
# new name for a new shape, so a connection that made the old one is no trouble.
STAGE_TABLE = "series_code_stage_folded"
AFFIX_RE = re.compile(r"^[A-Za-z0-9_-]*$")


def _translation(alphabet: str) -> tuple[bytes, bytes]:
    """A byte table mapping 0..255 onto the alphabet without bias: the top
    ``256 % len(alphabet)`` byte values are deleted instead of wrapping around."""
    size = len(alphabet)
    usable = 256 - 256 % size
    table = bytes(ord(alphabet[value % size]) for value in range(256))
    return table, bytes(range(usable, 256))


_TABLES = {
    alphabet: _translation(alphabet) for alphabet in (ALPHANUMERIC, DIGITS, CROCKFORD)
}


@dataclass(frozen=True)
class CodeSpec:
    """The format of a series' random codes. With ``check``: ``length`` symbols of
    Crockford's base32 then their check character (``coupons.typed_codes``)."""

    alphabet: str
    length: int
    prefix: str = ""
    suffix: str = ""
    check: bool = False

    @classmethod
    def of(
        cls,
        *,
        alpha_numeric: bool,
        length: int,
        prefix: str,
        suffix: str,
        check: bool = False,
    ):
        if check:
            return cls(CROCKFORD, length, prefix, suffix, check=True)
        return cls(ALPHANUMERIC if alpha_numeric else DIGITS, length, prefix, suffix)

    @property
    def shape(self) -> typed_codes.Shape:
        """How a lookup recognises the codes of a check-character format."""
        return typed_codes.Shape(self.prefix, self.length, self.suffix)

    @property
    def space(self) -> int:
        """How many distinct codes the format has."""
        return len(self.alphabet) ** self.length

    @property
    def total_length(self) -> int:
        return len(self.prefix) + self.length + self.check + len(self.suffix)

    @property
    def folded_regex(self) -> str:
        """Matches the folded codes of the format (``fold_code``: the unique index
        is on the folded code)."""
        body = {DIGITS: "[0-9]", CROCKFORD: "[0-9A-HJKMNP-TV-Z]"}.get(
            self.alphabet, "[A-Z0-9]"
        )
        return (
            f"^{re.escape(fold_code(self.prefix))}{body}{{{self.length + self.check}}}"
            f"{re.escape(fold_code(self.suffix))}$"
        )

    def describe(self) -> str:
        kind = {DIGITS: "digits", CROCKFORD: "base32 symbols"}.get(
            self.alphabet, "letters/digits"
        )
        parts = [f"{self.length} random {kind}"]
        if self.check:
            parts.append("a check character")
        if self.prefix:
            parts.insert(0, f"prefix {self.prefix!r}")
        if self.suffix:
            parts.append(f"suffix {self.suffix!r}")
        return " + ".join(parts)

    def draw(self, count: int) -> list[str]:
        """``count`` random codes (they may repeat)."""
        table, delete = _TABLES[self.alphabet]
        usable = 256 - len(delete)
        need = count * self.length
        buffer = bytearray()
        while len(buffer) < need:
            missing = need - len(buffer)
            buffer += os.urandom(missing * 256 // usable + 16).translate(table, delete)
        text = buffer[:need].decode("ascii")
        step, prefix, suffix = self.length, self.prefix, self.suffix
        if self.check:
            checks = typed_codes.check_symbols(text, step)
            return [
                prefix + text[i * step : (i + 1) * step] + check + suffix
                for i, check in enumerate(checks)
            ]
        return [prefix + text[i : i + step] + suffix for i in range(0, need, step)]

    def distinct(self, count: int) -> list[str]:
        """``count`` distinct random codes (at most half the space)."""
        count = min(count, self.space // 2)
        codes: set[str] = set()
        while len(codes) < count:
            codes.update(self.draw(count - len(codes)))
        return list(codes)

    def body_of(self, index: int) -> str:
        if self.alphabet == DIGITS:
            return f"{index:0{self.length}d}"
        size, chars = len(self.alphabet), []
        for _ in range(self.length):
            index, digit = divmod(index, size)
            chars.append(self.alphabet[digit])
        return "".join(reversed(chars))

    def sample_free(self, count: int, taken: set[str]) -> list[str]:
        """``count`` random codes of the space that are not in ``taken`` (folded).

        Only for small spaces: samples indices, never materialises the whole space.
        """
        rng = secrets.SystemRandom()
        picks = rng.sample(range(self.space), min(self.space, count + len(taken)))
        codes: list[str] = []
        for index in picks:
            body = self.body_of(index)
            if self.check:
                body += typed_codes.check_symbol(body)
            code = self.prefix + body + self.suffix
            if fold_code(code) not in taken:
                codes.append(code)
                if len(codes) == count:
                    break
        return codes


def readable(
    codes: Sequence[str], spec: CodeSpec, shapes: Sequence[typed_codes.Shape]
) -> Sequence[str]:
    """``codes`` without those a lookup would read as a mistyped check-character
    code in a store whose check-character series have ``shapes``
    (``typed_codes.reserved_by``): such a code could never be redeemed. A check
    format's own codes never are; a format whose codes cannot have a shape's length
    is not looked at (no cost)."""
    if spec.check or not shapes:
        return codes
    length = (
        len(typed_codes.normalise(spec.prefix))
        + spec.length
        + len(typed_codes.normalise(spec.suffix))
    )
    if all(shape.total_length != length for shape in shapes):
        return codes
    return [code for code in codes if typed_codes.reserved_by(code, shapes) is None]


def distinct_readable(
    spec: CodeSpec, count: int, shapes: Sequence[typed_codes.Shape]
) -> Sequence[str]:
    """``spec.distinct(count)``, drawing again for the codes ``readable`` drops (at
    most 20 draws: a format of which almost nothing is readable gets fewer)."""
    codes = readable(spec.distinct(count), spec, shapes)
    if len(codes) >= count:
        return codes
    kept = dict.fromkeys(codes)
    for _ in range(20):
        kept.update(dict.fromkeys(readable(spec.distinct(count), spec, shapes)))
        if len(kept) >= count:
            break
    return list(kept)[:count]


def taken_in_space(*, store_id: int, spec: CodeSpec) -> Any:
    """The store's taken codes (folded: live, or held by an archived coupon someone
    received or used) that fall inside ``spec``'s space: a queryset of folded codes.
    One scan of the store's codes."""
    return (
        Coupon.objects.for_store(store_id)
        .holding_codes()
        .filter(code_folded__regex=spec.folded_regex)
        .values_list("code_folded", flat=True)
    )


def insert_pooled(
    *,
    values: dict[str, Any],
    codes: Sequence[str],
    limit: int | None = None,
    sparse: bool = False,
) -> int:
    """Insert ``codes`` as coupons made of ``values``; taken codes are skipped.

    With ``limit``, at most that many are inserted (the codes were oversampled).
    ``sparse``: a collision is unlikely, so PostgreSQL first tries a plain INSERT
    (a fifth faster than ``ON CONFLICT``) and redoes it with ``ON CONFLICT DO
    NOTHING`` if a code was taken after all. Returns how many rows were inserted.
    Runs in the caller's transaction.
    """
    if not codes or limit == 0:
        return 0
    if connection.vendor == "postgresql":
        return _insert_postgresql(
            values=values, codes=codes, limit=limit, sparse=sparse
        )
    return _insert_portable(values=values, codes=codes, limit=limit)


def _insert_postgresql(
    *, values: dict[str, Any], codes: Sequence[str], limit: int | None, sparse: bool
) -> int:
    template = Coupon(**values)
    fields = [
        field
        for field in Coupon._meta.concrete_fields
        # compact_id: the column's sequence default numbers each row.
        if field.attname not in ("id", "code", "code_folded", "compact_id")
    ]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    constants = ", ".join(f"%s::{field.cast_db_type(connection)}" for field in fields)
    params: list[Any] = [
        field.get_db_prep_save(getattr(template, field.attname), connection)
        for field in fields
    ]
    table = quote(Coupon._meta.db_table)
    where = ""
    if limit is not None:
        # The columns and the condition of the folded-code unique index (the ORM's
        # ``holding_codes``, compiled), so it is used and agrees with it.
        taken, taken_params = (
            Coupon.objects.for_store(template.store_id)
            .holding_codes()
            .filter(code_folded=RawSQL("s.code_folded", []))
            .order_by()
            .values("pk")
            .query.sql_with_params()
        )
        where = f" WHERE NOT EXISTS ({taken}) LIMIT %s"
        params += [*taken_params, limit]
    ids = flake.next_ids(len(codes))
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE_TABLE} "
            "(id bigint NOT NULL, code varchar(100) NOT NULL, "
            "code_folded varchar(100) NOT NULL) ON COMMIT DELETE ROWS"
        )
        sql.copy_rows(
            cursor,
            STAGE_TABLE,
            ("id", "code", "code_folded"),
            zip(ids, codes, fold_codes(codes), strict=True),
        )
        insert = (
            f"INSERT INTO {table} ({quote('id')}, {quote('code')}, "
            f"{quote('code_folded')}, {columns}) "
            f"SELECT s.id, s.code, s.code_folded, {constants} "
            f"FROM {STAGE_TABLE} s{where}"
        )
        inserted = None
        if sparse and limit is None:
            try:
                with transaction.atomic():
                    cursor.execute(insert, params)
                    inserted = cursor.rowcount
            except IntegrityError:
                inserted = None  # a code was taken: the savepoint undid the insert
        if inserted is None:
            cursor.execute(insert + " ON CONFLICT DO NOTHING", params)
            inserted = cursor.rowcount
        # Empty for the next round of this transaction (a rolled-back round takes
        # its staged rows with it).
        cursor.execute(f"TRUNCATE {STAGE_TABLE}")
    return inserted


def _insert_portable(
    *, values: dict[str, Any], codes: Sequence[str], limit: int | None
) -> int:
    """SQLite (development, tests): ``bulk_create(ignore_conflicts=True)``."""
    store_id = values["store_id"] if "store_id" in values else values["store"].id
    chosen: Iterable[str] = codes
    if limit is not None:
        taken: set[str] = set()
        for start in range(0, len(codes), 500):
            chunk = fold_codes(list(codes[start : start + 500]))
            taken.update(
                Coupon.objects.for_store(store_id)
                .holding_codes()
                .filter(code_folded__in=chunk)
                .values_list("code_folded", flat=True)
            )
        chosen = [code for code in codes if fold_code(code) not in taken][:limit]
    chosen = list(chosen)
    ids = flake.next_ids(len(chosen))
    rows = [
        Coupon(id=i, code=code, **values) for i, code in zip(ids, chosen, strict=True)
    ]
    # Numbered first: the allocation's own write must not count as a row inserted.
    compact.fill(rows)
    raw = connection.connection
    before = raw.total_changes
    Coupon.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
    return raw.total_changes - before
