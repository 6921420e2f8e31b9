"""Hand-written SQL for the checkout paths, with model instances in and out.

The ORM builds and compiles every query anew: about 1 ms a query on our machines,
several times the round trip to PostgreSQL. The few statements of the hot paths
(authenticating a key, redeeming, receiving, issuing) are written once instead, with
these helpers around ``connection.cursor()``:

- ``loader(Model, alias)``: a model's select list (``.columns``) and its rows made
  into instances by Django's own ``Model.from_db``, after each field's database
  converters, as the ORM makes them;
- ``fetch_batch``: several SELECTs in one round trip on PostgreSQL;
- ``for_update`` / ``locked``: the row-lock clause where the database has one;
- ``write``: INSERTs of model instances and an UPDATE as one statement on
  PostgreSQL (data-modifying CTEs), one after the other elsewhere: one round trip
  for the redemption, its counter and its audit event;
- ``copy_rows``: COPY of many rows into a table's columns (the bulk paths' one
  writer), and ``copy`` over it: rows that share a template instance's other
  columns (``series.bulk_issue``).

``write`` sends a column of plain values (ints, strings, bools, aware datetimes on
PostgreSQL) as they are, where Django's preparation would hand them back unchanged
or wrapped for psycopg (``Int8``), and prepares every other value as Django does: with
Django's preparation of every value, an issue of 500 codes (500 assignments and 500
audit events) costs 30 % more CPU (bench/README.md, 2026-12-07).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

from django.db import connection, models
from django.db.models import Field, ForeignKey, Model

from core import compact


@dataclass(frozen=True)
class Loader:
    """Turns a slice of a row into an instance of ``model`` (None for a row of
    NULLs from an outer join)."""

    model: type[Model]
    columns: str  # the select list, each column qualified by the table alias
    names: tuple[str, ...]  # attnames, in select-list order
    converters: tuple[tuple[int, tuple[Callable, ...], Any], ...]

    @property
    def width(self) -> int:
        return len(self.names)

    def load(self, row: Sequence[Any], offset: int = 0) -> Model | None:
        values = list(row[offset : offset + self.width])
        if values[0] is None:
            return None
        for index, functions, expression in self.converters:
            value = values[index]
            for function in functions:
                value = function(value, expression, connection)
            values[index] = value
        return self.model.from_db(connection.alias, self.names, values)


@cache
def _converters(
    field: Field, alias: str, vendor: str
) -> tuple[tuple[Callable, ...], Any]:
    """The database's and the field's converters of a column, as the ORM applies
    them to a selected value, and the expression they are given (built once per
    database)."""
    column = field.get_col(alias)
    return (
        tuple(
            connection.ops.get_db_converters(column)
            + field.get_db_converters(connection)
        ),
        column,
    )


@cache
def _loader(model: type[Model], alias: str, vendor: str) -> Loader:
    quote = connection.ops.quote_name
    fields = model._meta.concrete_fields
    converters = []
    for index, field in enumerate(fields):
        functions, column = _converters(field, alias, vendor)
        if functions:
            converters.append((index, functions, column))
    return Loader(
        model=model,
        columns=", ".join(f"{quote(alias)}.{quote(f.column)}" for f in fields),
        names=tuple(f.attname for f in fields),
        converters=tuple(converters),
    )


def loader(model: type[Model], alias: str) -> Loader:
    """The loader of ``model`` selected as ``alias`` (built once per database)."""
    return _loader(model, alias, connection.vendor)


def placeholders(count: int) -> str:
    """``%s, %s, ...`` for an ``IN (...)`` of ``count`` values (portable)."""
    return ", ".join(["%s"] * count)


def for_update(*, no_key: bool = False, skip_locked: bool = False) -> str:
    """The row-lock clause where the database has one (SQLite locks the file)."""
    features = connection.features
    if not features.has_select_for_update:
        return ""
    clause = " FOR UPDATE"
    if no_key and features.has_select_for_no_key_update:
        clause = " FOR NO KEY UPDATE"
    if skip_locked and features.has_select_for_update_skip_locked:
        clause += " SKIP LOCKED"
    return clause


def prep(model: type[Model], name: str, value: Any) -> Any:
    """``value`` as a parameter for ``model``'s field ``name`` (e.g. a datetime
    becomes SQLite's UTC text), as the ORM would send it."""
    return model._meta.get_field(name).get_db_prep_save(value, connection)


@dataclass(frozen=True)
class ValueLoader:
    """Loads one column converted as ``field``'s values are (a loader of a value,
    e.g. an aggregate, rather than of an instance)."""

    field: Field
    width = 1

    def load(self, row: Sequence[Any], offset: int = 0) -> Any:
        result = row[offset]
        if result is None:
            return None
        functions, column = _converters(
            self.field, self.field.model._meta.db_table, connection.vendor
        )
        for function in functions:
            result = function(result, column, connection)
        return result


@dataclass(frozen=True)
class Columns:
    """Loads ``width`` columns as they come (a tuple)."""

    width: int

    def load(self, row: Sequence[Any], offset: int = 0) -> tuple:
        return tuple(row[offset : offset + self.width])


def fetch(
    sql: str, params: Sequence[Any], *loaders: Loader | ValueLoader | Columns
) -> list[tuple]:
    """Run ``sql`` and load each row's consecutive slices with ``loaders``."""
    return _load(fetch_rows(sql, params), loaders)


def fetch_rows(sql: str, params: Sequence[Any]) -> list[tuple]:
    """Run ``sql``; its rows as the database driver gives them (see ``load``)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def load(row: Sequence[Any], *loaders: Loader | ValueLoader | Columns) -> tuple:
    """One row of ``fetch_rows``, its consecutive slices loaded with ``loaders``."""
    offset, instances = 0, []
    for item in loaders:
        instances.append(item.load(row, offset))
        offset += item.width
    return tuple(instances)


def _load(
    rows: Sequence[Sequence[Any]], loaders: Sequence[Loader | ValueLoader | Columns]
) -> list[tuple]:
    return [load(row, *loaders) for row in rows]


# A query to load: its SQL, its parameters and the loaders of each row's slices.
Query = tuple[str, Sequence[Any], tuple[Loader | ValueLoader | Columns, ...]]


def locked(query: Query, *, no_key: bool = False) -> Query:
    """``query`` with the row-lock clause added (see ``for_update``)."""
    sql, params, loaders = query
    return sql + for_update(no_key=no_key), params, loaders


def fetch_batch(*queries: Query) -> list[list[tuple]]:
    """Several queries, each ``(sql, params, loaders)``, in one round trip on
    PostgreSQL (one string of statements, run in order, each with a snapshot of its
    own, so a later one sees what an earlier one waited for); one by one elsewhere.
    Answers each query's loaded rows."""
    if connection.vendor != "postgresql":
        return [fetch(sql, params, *loaders) for sql, params, loaders in queries]
    with connection.cursor() as cursor:
        cursor.execute(
            "; ".join(sql for sql, _params, _loaders in queries),
            [p for _sql, params, _loaders in queries for p in params],
        )
        results = []
        for n, (_sql, _params, loaders) in enumerate(queries):
            if n:
                cursor.nextset()
            results.append(_load(cursor.fetchall(), loaders))
    return results


def fetch_one(query: Query) -> tuple | None:
    """The first loaded row of ``query`` (``(sql, params, loaders)``), or None."""
    sql, params, loaders = query
    rows = fetch(sql, params, *loaders)
    return rows[0] if rows else None


@lru_cache(maxsize=256)
def _written(model: type[Model], defaulted: bool) -> list[Field]:
    """The columns an INSERT names: all, or all but the compact ids that the
    database's sequence default fills (``core.compact``)."""
    fields = model._meta.local_concrete_fields
    if not defaulted:
        return list(fields)
    return [f for f in fields if not isinstance(f, compact.CompactIdField)]


@lru_cache(maxsize=256)
def _insert_sql(
    model: type[Model], rows: int, vendor: str, defaulted: bool = False
) -> str:
    table = connection.ops.quote_name(model._meta.db_table)
    fields = _written(model, defaulted)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return f"INSERT INTO {table} ({columns}) VALUES " + ", ".join([row] * rows)


@cache
def _unnest_sql(model: type[Model], vendor: str, defaulted: bool = False) -> str | None:
    """``INSERT ... SELECT * FROM UNNEST(arrays)`` of every column, one array a
    column, as Django's PostgreSQL compiler writes it; None where that compiler
    would not use UNNEST for this model."""
    fields = _written(model, defaulted)
    if any(hasattr(field, "get_placeholder") for field in fields) or any(
        (field.target_field if field.is_relation else field).get_internal_type()
        not in connection.data_types
        for field in fields
    ):
        return None
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    # varchar[], not varchar(16)[]: nothing is truncated on the way in.
    arrays = ", ".join(
        f"(%s)::{field.db_type(connection).split('(')[0]}[]" for field in fields
    )
    return f"INSERT INTO {table} ({columns}) SELECT * FROM UNNEST({arrays})"


_INTEGERS = {
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
}
_STRINGS = {"CharField", "TextField", "SlugField", "EmailField"}
_PREP_METHODS = ("pre_save", "get_db_prep_save", "get_db_prep_value", "get_prep_value")


@cache
def _passthrough(field: Field, vendor: str) -> frozenset[type]:
    """The types of value that ``field``'s preparation for an INSERT on ``vendor``
    hands back as they are (aware datetimes: see ``_column``), so that preparing
    thousands of values costs nothing. Only Django's own fields with their own
    preparation (subclasses that override none of it, like ``FlakeIdField``); any
    other field, and any other value, is prepared as Django does.

    (On PostgreSQL Django wraps integers in psycopg's ``Int8`` and the like, which
    matters only to server-side binding; with the client-side binding used here an
    ``Int8`` and an ``int`` are the same literal, and arrays are cast by the
    statement.)"""
    if field.is_relation:
        if (
            type(field).get_db_prep_save is not ForeignKey.get_db_prep_save
            or type(field).pre_save is not Field.pre_save
        ):
            return frozenset()
        return _passthrough(field.target_field, vendor)
    internal = field.get_internal_type()
    base = getattr(models, internal, None)
    if base is None or not isinstance(field, base):
        return frozenset()
    if any(getattr(type(field), m) is not getattr(base, m) for m in _PREP_METHODS):
        return frozenset()
    if internal in _INTEGERS:
        return frozenset({int, type(None)})
    if internal in _STRINGS:
        return frozenset({str, type(None)})
    if internal == "BooleanField":
        return frozenset({bool, type(None)})
    if (
        internal == "DateTimeField"
        and vendor == "postgresql"  # SQLite's adapter turns it into text
        and not field.auto_now
        and not field.auto_now_add
    ):
        return frozenset({datetime, type(None)})
    return frozenset()


def _column(field: Field, objects: Sequence[Model], vendor: str) -> list[Any]:
    """Every object's value of ``field``, prepared as Django's INSERT prepares it
    (``pre_save`` for defaults and ``auto_now``, then ``get_db_prep_save``)."""
    values = [getattr(obj, field.attname) for obj in objects]
    passthrough = _passthrough(field, vendor)
    if all(type(value) in passthrough for value in values) and (
        datetime not in passthrough
        # A naive datetime is made aware (with a warning) by Django: not here.
        or all(value is None or value.utcoffset() is not None for value in values)
    ):
        return values
    return [
        field.get_db_prep_save(field.pre_save(obj, True), connection) for obj in objects
    ]


def _insert(objects: Sequence[Model]) -> tuple[str, list[Any]]:
    """One INSERT of these objects of one model, every column given, with values
    prepared as Django's own INSERT prepares them (``_column``).

    One row: the statement's text is built once per model. Several rows on
    PostgreSQL: ``INSERT ... SELECT * FROM UNNEST(arrays)``, as Django's compiler
    writes it, which PostgreSQL plans in a fraction of the time of a ``VALUES`` list
    (500 rows: ~10 ms against ~150 ms).
    """
    model = type(objects[0])
    vendor = connection.vendor  # (the proxy's lookup is not free, per column)
    # Compact ids not given yet: PostgreSQL's column default numbers the rows (the
    # column is left out; the instances do not learn their values); elsewhere they
    # are allocated first, one statement for the group.
    defaulted = False
    if compact.compact_fields(model):
        unset = [compact.unset(compact.value_of(obj)) for obj in objects]
        if vendor == "postgresql" and all(unset):
            defaulted = True
        elif any(unset):
            compact.fill(objects)
    fields = _written(model, defaulted)
    columns = [_column(field, objects, vendor) for field in fields]
    if len(objects) > 1 and vendor == "postgresql":
        unnest = _unnest_sql(model, vendor, defaulted)
        if unnest is not None:
            return unnest, columns
    params = [value for row in zip(*columns, strict=True) for value in row]
    return _insert_sql(model, len(objects), vendor, defaulted), params


Statement = tuple[str, Sequence[Any]]


def write(
    *groups: Sequence[Model], then: Statement | list[Statement] | None = None
) -> int:
    """INSERT each non-empty group of same-model objects, then run ``then`` (one
    statement or several, in order); answer the row count of the last statement.

    On PostgreSQL it is one statement (every INSERT a data-modifying CTE), so one
    round trip; the parts see one snapshot, so ``then`` must not depend on the rows
    inserted. Call it inside the caller's transaction.
    """
    groups = [group for group in groups if group]
    statements = [_insert(group) for group in groups]
    for sql, params in [then] if isinstance(then, tuple) else then or []:
        statements.append((sql, list(params)))
    if not statements:
        return 0
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql" or len(statements) == 1:
            for sql, params in statements:
                cursor.execute(sql, params)
        else:
            *heads, (last_sql, last_params) = statements
            ctes = ", ".join(f"w{n} AS ({sql})" for n, (sql, _p) in enumerate(heads))
            params = [p for _sql, head_params in heads for p in head_params]
            cursor.execute(f"WITH {ctes} {last_sql}", params + last_params)
        count = cursor.rowcount
    for group in groups:
        for obj in group:
            obj._state.adding = False
            obj._state.db = connection.alias
    return count


def copy_rows(
    cursor: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """COPY ``rows`` into ``table``'s ``columns`` (PostgreSQL) on ``cursor``, in the
    caller's transaction; returns how many. Each row's values are adapted by
    psycopg: ints, strings, bools, aware datetimes, None, JSON as its text.

    The one COPY writer of the bulk paths (``copy`` below for the bulk issue, the
    customer import's staging, code generation's staging): thousands of rows cost
    a fraction of an ``INSERT``'s parameters, each of which is quoted into the
    statement's text in Python."""
    quote = connection.ops.quote_name
    statement = f"COPY {quote(table)} ({', '.join(map(quote, columns))}) FROM STDIN"
    count = 0
    with cursor.copy(statement) as out:
        for row in rows:
            out.write_row(row)
            count += 1
    return count


def copy(template: Model, varying: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """``copy_rows`` of model instances: ``rows`` into ``template``'s table, in the
    caller's transaction; returns how many. Each row gives the values of the
    ``varying`` fields (attnames), as ``copy_rows`` takes them. Every other column
    takes ``template``'s value, prepared once as Django's INSERT prepares it; a
    compact id (``core.compact``) is left to the column's sequence default."""
    model = type(template)
    fields = [
        field
        for field in model._meta.local_concrete_fields
        if field.attname not in varying
        and not isinstance(field, compact.CompactIdField)
    ]
    constants = tuple(
        field.get_db_prep_save(field.pre_save(template, True), connection)
        for field in fields
    )
    columns = [model._meta.get_field(name).column for name in varying]
    columns += [field.column for field in fields]
    with connection.cursor() as cursor:
        return copy_rows(
            cursor,
            model._meta.db_table,
            columns,
            ((*row, *constants) for row in rows),
        )
