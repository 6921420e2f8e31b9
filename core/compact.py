"""Compact numeric ids: what the Capillary dialect shows as a row's id.

Flake ids (``core.flake``) are the primary keys; they pass 2^53 and so do not survive a
JavaScript ``JSON.parse``, and clients generated from Capillary's OpenAPI read an
``integer`` as int32 (DESIGN.md, IDs). Coupons, customers, series and redemptions
carry a second id, ``compact_id``: unique, issued from a database sequence (1, 2,
3, ...; gaps where a transaction rolled back), so within int32 as long as a table
holds fewer than 2^31 rows, and never above 2^53-1.

Where the values come from:

- PostgreSQL: a sequence per table (``<table>_compact_id_seq``), the column's
  ``DEFAULT nextval(...)``. Every INSERT that does not name the column gets one:
  Django's (``INSERT ... DEFAULT ... RETURNING``, so the instance has it at no extra
  round trip), ``bulk_create``, the COPY paths (code generation, imports, the bench),
  hand-written SQL. ``core.sql.write`` takes the values first (``fill``: one
  ``nextval`` for a whole group), since it returns nothing.
- SQLite (development, tests): no sequences, so one table ``compact_sequence`` holds
  each table's last value; ``allocate`` raises it with ``UPDATE ... RETURNING``,
  which takes SQLite's write lock, so two connections never get the same value and a
  rolled-back transaction gives its values back with its rows (nothing was
  committed with them). The field assigns a value before Django's INSERT
  (``pre_save``), the models' ``bulk_create`` one allocation for all rows. The
  column is NOT NULL without a default there: a path that forgot fails loudly.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from django.db import connection, models
from django.db.models.expressions import DatabaseDefault, Expression
from django.utils.deconstruct import deconstructible

# A value at most this is a compact id; a flake id is above it (flake ids pass 2^53
# 25 days after their 2024 epoch), so an id given back is never ambiguous.
MAX_SAFE = 2**53 - 1
# What clients generated from Capillary's OpenAPI read as ``integer`` (int32): the
# most a count shown to them as a JSON number may be (DESIGN.md, IDs).
INT32 = 2**31 - 1
SQLITE_TABLE = "compact_sequence"


def is_compact(value: int) -> bool:
    """Whether an id a client gave back is a compact id (else a flake id)."""
    return 0 < value <= MAX_SAFE


def lookup(value: int, prefix: str = "") -> models.Q:
    """The filter for an id the Capillary dialect takes: its compact id, or (as the
    dialect showed before compact ids) the flake id."""
    field = "compact_id" if is_compact(value) else "id"
    return models.Q(**{f"{prefix}{field}": value})


def sequence_name(table: str) -> str:
    return f"{table}_compact_id_seq"


@deconstructible(path="core.compact.NextValue")
class NextValue(Expression):
    """The column default: ``nextval('<sequence>')`` on PostgreSQL; NULL elsewhere
    (SQLite: ``CompactIdField.pre_save`` assigns the value)."""

    allowed_default = True

    def __init__(self, sequence: str) -> None:
        super().__init__(output_field=models.BigIntegerField())
        self.sequence = sequence

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NextValue) and other.sequence == self.sequence

    def __hash__(self) -> int:
        return hash((NextValue, self.sequence))

    def as_sql(self, compiler, connection) -> tuple[str, list[Any]]:
        if connection.vendor == "postgresql":
            # A constant of the code, not input: inlined (DDL takes no parameters).
            return f"nextval('{self.sequence}')", []
        return "NULL", []


class CompactIdField(models.BigIntegerField):
    """A row's compact numeric id (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("unique", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def contribute_to_class(self, cls, name, private_only=False):
        super().contribute_to_class(cls, name, private_only)
        if self.db_default is models.NOT_PROVIDED or self.db_default is None:
            self.db_default = NextValue(sequence_name(cls._meta.db_table))

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        kwargs.pop("db_default", None)
        for key, value in (("unique", True), ("editable", False)):
            if kwargs.get(key) == value:
                kwargs.pop(key)
        return name, "core.compact.CompactIdField", args, kwargs

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.attname)
        if add and unset(value) and not in_database():
            fill([model_instance])
            value = getattr(model_instance, self.attname)
        return value


def unset(value: object) -> bool:
    return value is None or isinstance(value, DatabaseDefault)


def in_database() -> bool:
    """Whether the database fills the column itself (a sequence default)."""
    return connection.vendor == "postgresql"


def value_of(obj: models.Model) -> object:
    """The compact id of ``obj`` (of a model with one)."""
    return getattr(obj, compact_fields(type(obj))[0].attname)


@cache
def compact_fields(model: type[models.Model]) -> list[CompactIdField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, CompactIdField)]


def allocate(model: type[models.Model], count: int) -> list[int]:
    """``count`` new compact ids of ``model``, increasing; one statement."""
    if count <= 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
                [sequence_name(table), count],
            )
            return sorted(row[0] for row in cursor.fetchall())
        cursor.execute(
            f"INSERT INTO {SQLITE_TABLE} (name, value) VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value "
            "RETURNING value",
            [table, count],
        )
        last = cursor.fetchone()[0]
    return list(range(last - count + 1, last + 1))


def known(obj: models.Model) -> int:
    """The compact id of ``obj``, read back when the database's default gave it
    (``core.sql.write`` on PostgreSQL); one query then."""
    value = value_of(obj)
    if unset(value):
        field = compact_fields(type(obj))[0]
        value = (
            type(obj)
            ._base_manager.filter(pk=obj.pk)
            .values_list(field.attname, flat=True)
            .get()
        )
        setattr(obj, field.attname, value)
    return value


def fill(objects: Iterable[models.Model]) -> None:
    """Give each object of one model that has no compact id yet a new one: one
    allocation for all of them."""
    objects = list(objects)
    if not objects:
        return
    for field in compact_fields(type(objects[0])):
        missing = [obj for obj in objects if unset(getattr(obj, field.attname))]
        for obj, value in zip(
            missing, allocate(type(objects[0]), len(missing)), strict=True
        ):
            setattr(obj, field.attname, value)


def fill_for_bulk_create(objects: Iterable[models.Model]) -> list[models.Model]:
    """``bulk_create``'s objects, numbered where the database does not number them
    (on PostgreSQL the column default does, returned by the INSERT)."""
    objects = list(objects)
    if not in_database():
        fill(objects)
    return objects


class CompactQuerySetMixin:
    """``bulk_create`` that numbers its rows in one allocation (SQLite)."""

    def bulk_create(self, objs, *args, **kwargs):
        return super().bulk_create(fill_for_bulk_create(objs), *args, **kwargs)


# --- migrations -------------------------------------------------------------------


def backfill(table: str):
    """A RunPython function: number the existing rows of ``table`` in id (creation)
    order with one set-based UPDATE, and start the sequence after the last."""

    def run(apps, schema_editor) -> None:
        conn = schema_editor.connection
        quote = conn.ops.quote_name
        number = (
            f"UPDATE {quote(table)} SET compact_id = n.rn FROM "
            f"(SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS rn "
            f"FROM {quote(table)}) n WHERE {quote(table)}.id = n.id"
        )
        with conn.cursor() as cursor:
            if conn.vendor == "postgresql":
                seq = sequence_name(table)
                cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {quote(seq)}")
                cursor.execute(number)
                cursor.execute(
                    f"SELECT setval('{seq}', COALESCE(MAX(compact_id), 0) + 1, false) "
                    f"FROM {quote(table)}"
                )
            else:
                cursor.execute(
                    f"CREATE TABLE IF NOT EXISTS {SQLITE_TABLE} "
                    "(name varchar(100) NOT NULL PRIMARY KEY, value bigint NOT NULL)"
                )
                cursor.execute(number)
                cursor.execute(
                    f"INSERT INTO {SQLITE_TABLE} (name, value) "
                    f"SELECT %s, COALESCE(MAX(compact_id), 0) FROM {quote(table)} "
                    "WHERE true ON CONFLICT (name) DO UPDATE SET "
                    "value = MAX(value, excluded.value)",
                    [table],
                )

    return run


def own_sequence(table: str):
    """A RunPython function (after the column is final): the sequence belongs to the
    column, so dropping the column drops it."""

    def run(apps, schema_editor) -> None:
        conn = schema_editor.connection
        if conn.vendor == "postgresql":
            quote = conn.ops.quote_name
            with conn.cursor() as cursor:
                cursor.execute(
                    f"ALTER SEQUENCE {quote(sequence_name(table))} "
                    f"OWNED BY {quote(table)}.compact_id"
                )

    return run


def drop_sequence(table: str):
    """Reverse of ``backfill`` (the column is dropped by Django)."""

    def run(apps, schema_editor) -> None:
        conn = schema_editor.connection
        with conn.cursor() as cursor:
            if conn.vendor == "postgresql":
                quote = conn.ops.quote_name
                cursor.execute(f"DROP SEQUENCE IF EXISTS {quote(sequence_name(table))}")
            else:
                cursor.execute(
                    f"CREATE TABLE IF NOT EXISTS {SQLITE_TABLE} "
                    "(name varchar(100) NOT NULL PRIMARY KEY, value bigint NOT NULL)"
                )
                cursor.execute(f"DELETE FROM {SQLITE_TABLE} WHERE name = %s", [table])

    return run
