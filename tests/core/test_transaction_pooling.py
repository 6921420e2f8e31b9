"""Nothing lives on a database connection beyond one transaction (DESIGN.md, Scale):
production runs behind PgBouncer in transaction pooling, and ``.ci/run`` runs the
PostgreSQL suite through it.

Two guards: a scan of the product code for the statements and calls that keep
session state (``LISTEN``, session ``SET``, session advisory locks, ``PREPARE``,
``WITH HOLD`` or named cursors, ``QuerySet.iterator``, prepared-statement options),
and PostgreSQL tests that stream the exports while another client takes the server
connection, and read the session state exports and key lookups leave behind.
"""

from __future__ import annotations

import ast
import csv
import io
import re
import threading
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from coupons.exporter import export_queryset, write_export
from tests.factories import ApiKeyFactory, CouponFactory, SeriesFactory, StoreFactory

ROOT = Path(__file__).resolve().parents[2]
NOT_PRODUCT = {"tests", "bench", ".venv", "node_modules"}

# Session state in SQL text (SQL keywords are written in upper case here, and
# docstrings are prose): the start of a statement (the string's start, or after a
# ";"), or a function that only exists at session level.
SQL_RULES = {
    "LISTEN": re.compile(r"(?:^|;)\s*(?:UN)?LISTEN\b"),
    "session SET": re.compile(
        r"(?:^|;)\s*(?:SET|RESET)\s+(?!LOCAL\b|TRANSACTION\b|CONSTRAINTS\b)"
    ),
    "set_config(..., false)": re.compile(r"set_config\s*\([^)]*,\s*false\s*\)", re.I),
    "session advisory lock": re.compile(
        r"pg_(?:try_)?advisory_(?:un)?lock(?:_shared|_all)?\s*\(", re.I
    ),
    "PREPARE": re.compile(r"(?:^|;)\s*PREPARE\s"),
    "WITH HOLD cursor": re.compile(r"\bWITH\s+HOLD\b"),
    "DECLARE cursor": re.compile(r"(?:^|;)\s*DECLARE\s"),
}
# Calls: a server-side cursor (QuerySet.iterator, a named cursor), and the options
# that make psycopg prepare statements on the server.
CALL_ATTRIBUTES = {"iterator": "QuerySet.iterator (a server-side cursor)"}
KEYWORDS = {
    "prepare": "a prepared statement",
    "prepare_threshold": "psycopg's automatic prepare",
    "server_side_binding": "server-side binding",
    "name": None,  # only on .cursor(...): a named (server-side) cursor
}
SETTING_KEYS = {"prepare_threshold", "server_side_binding"}


def _text(node: ast.AST) -> str | None:
    """A string literal's text; an f-string's with ``{}`` for each value."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else "{}"
            for part in node.values
        )
    return None


def session_state_uses(source: str) -> list[str]:
    """What in ``source`` (Python) would hold state on a connection."""
    found = []
    tree = ast.parse(source)
    skip = {  # an f-string's parts (read whole), and docstrings
        id(part)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for part in node.values
    } | {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    for node in ast.walk(tree):
        text = None if id(node) in skip else _text(node)
        if text is not None:
            found += [
                f"{rule} in {text[:60]!r}"
                for rule, pattern in SQL_RULES.items()
                if pattern.search(text)
            ]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in CALL_ATTRIBUTES:
                found.append(CALL_ATTRIBUTES[node.func.attr])
            for keyword in node.keywords:
                if keyword.arg == "name" and node.func.attr == "cursor":
                    found.append("a named (server-side) cursor")
                elif keyword.arg in KEYWORDS and keyword.arg != "name":
                    found.append(KEYWORDS[keyword.arg])
        if isinstance(node, ast.Dict):
            found += [
                f"{key.value} in database OPTIONS"
                for key in node.keys
                if isinstance(key, ast.Constant) and key.value in SETTING_KEYS
            ]
    return found


def product_files() -> list[Path]:
    packages = [
        path.parent
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name not in NOT_PRODUCT
    ]
    return sorted(file for package in packages for file in package.rglob("*.py"))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('cursor.execute(f"LISTEN {CHANNEL}")', ["LISTEN in 'LISTEN {}'"]),
        ('c.execute("UNLISTEN *")', ["LISTEN in 'UNLISTEN *'"]),
        (
            'c.execute("SET statement_timeout = 0")',
            ["session SET in 'SET statement_timeout = 0'"],
        ),
        ('c.execute("SELECT 1; SET search_path TO x")', ["session SET in "]),
        ('c.execute("RESET ALL")', ["session SET in 'RESET ALL'"]),
        (
            "c.execute(\"SELECT set_config('x', '1', false)\")",
            ["set_config(..., false) in "],
        ),
        ('c.execute("SELECT pg_advisory_lock(%s)", [1])', ["session advisory lock"]),
        ('c.execute("SELECT pg_try_advisory_lock(1)")', ["session advisory lock"]),
        ('c.execute("SELECT pg_advisory_unlock_all()")', ["session advisory lock"]),
        ('c.execute("PREPARE q AS SELECT 1")', ["PREPARE in "]),
        (
            'c.execute("DECLARE c CURSOR WITH HOLD FOR SELECT 1")',
            ["WITH HOLD", "DECLARE"],
        ),
        ("rows = qs.values_list('id').iterator(chunk_size=100)", ["QuerySet.iterator"]),
        ('cur = connection.cursor(name="big")', ["a named (server-side) cursor"]),
        ("c.execute(sql, prepare=True)", ["a prepared statement"]),
        ('OPTIONS = {"prepare_threshold": 5}', ["prepare_threshold in database"]),
        ('OPTIONS = {"server_side_binding": True}', ["server_side_binding in"]),
        # What is allowed: transaction-scoped state and ordinary statements.
        ('c.execute("SET LOCAL lock_timeout = 100")', []),
        ('c.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")', []),
        ('c.execute("SET CONSTRAINTS ALL IMMEDIATE")', []),
        ('c.execute("SELECT pg_try_advisory_xact_lock(%s)", [1])', []),
        ('c.execute("SELECT pg_advisory_xact_lock(1)")', []),
        ('c.execute("UPDATE t SET n = n + 1 WHERE id = %s")', []),
        ('c.execute(f"UPDATE {table} " "SET n = 1")', []),
        ("c.execute(\"SELECT set_config('x', '1', true)\")", []),
        ('items = iter(rows); d = dict(name="x")', []),
        ('"""Set up; LISTEN to me."""', []),  # a docstring is prose
    ],
)
def test_the_scan_finds_session_state_and_only_that(source, expected):
    found = session_state_uses(source)
    assert len(found) == len(expected), found
    for item, start in zip(found, expected, strict=True):
        assert start in item


def test_product_code_keeps_no_state_on_a_database_connection():
    files = product_files()
    assert {file.relative_to(ROOT).parts[0] for file in files} >= {
        "config",
        "core",
        "stores",
        "coupons",
        "series",
    }
    found = {
        str(file.relative_to(ROOT)): uses
        for file in files
        if (uses := session_state_uses(file.read_text(encoding="utf-8")))
    }
    assert found == {}


# On PostgreSQL ------------------------------------------------------------------


def _holding_a_transaction(started: threading.Event, release: threading.Event):
    """Another client: a transaction that has run a statement (so PgBouncer gave it
    a server connection: the one this test's thread has just released) and stays
    open until ``release``."""

    def run() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                started.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    return threading.Thread(target=run)


class _Interleaving(io.StringIO):
    """An export's output that, after the first chunk's rows, lets another client
    take a server connection and hold it while the rest is read."""

    def __init__(self, after_lines: int) -> None:
        super().__init__()
        self.after_lines = after_lines
        self.started, self.release = threading.Event(), threading.Event()
        self.other = _holding_a_transaction(self.started, self.release)

    def write(self, text: str) -> int:
        written = super().write(text)
        if self.getvalue().count("\n") == self.after_lines:
            self.other.start()
            assert self.started.wait(timeout=30)
        return written

    def finish(self) -> None:
        self.release.set()
        if self.other.is_alive() or self.started.is_set():
            self.other.join(timeout=30)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_reads_every_row_while_another_client_takes_its_connection(fmt):
    store = StoreFactory()
    codes = [f"C{i:02d}" for i in range(7)]
    for code in codes:
        CouponFactory(store=store, code=code)
    # The header (csv) and the first chunk's 2 rows, then the other client.
    out = _Interleaving(after_lines=3 if fmt == "csv" else 2)
    try:
        count = write_export(
            queryset=export_queryset(store=store), out=out, fmt=fmt, chunk=2
        )
    finally:
        out.finish()

    assert out.started.is_set()
    assert count == 7
    lines = out.getvalue().splitlines()
    if fmt == "csv":
        assert [row[1] for row in csv.reader(lines)] == ["code", *codes]
    else:
        assert [line.split('"code":"')[1][:3] for line in lines] == codes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_series_codes_download_reads_every_row_while_another_client_takes_its_connection(  # noqa: E501
    admin_client, monkeypatch
):
    monkeypatch.setattr("series.admin.EXPORT_CHUNK", 2)
    series = SeriesFactory()
    codes = [f"S{i:02d}" for i in range(5)]
    for code in codes:
        CouponFactory(store=series.store, series=series, code=code)
    response = admin_client.post(
        reverse("admin:series_series_changelist"),
        {"action": "export_codes_csv", "_selected_action": [str(series.pk)]},
    )
    assert response.status_code == 200
    stream = iter(response.streaming_content)
    lines = [next(stream), next(stream), next(stream)]  # header, first chunk
    started, release = threading.Event(), threading.Event()
    other = _holding_a_transaction(started, release)
    other.start()
    try:
        assert started.wait(timeout=30)
        lines += list(stream)
    finally:
        release.set()
        other.join(timeout=30)

    rows = list(csv.reader(io.StringIO(b"".join(lines).decode())))
    assert [row[1] for row in rows] == ["code", *codes]


def _session_state() -> dict[str, list]:
    """What this connection's server session holds beyond a transaction, and who
    in this database is listening."""
    queries = {
        "open cursors": "SELECT name FROM pg_cursors",
        "prepared statements": "SELECT name FROM pg_prepared_statements",
        "listening channels": "SELECT pg_listening_channels()",
        "advisory locks": (
            "SELECT objid FROM pg_locks "
            "WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        ),
        "session settings": (
            "SELECT name FROM pg_settings WHERE source = 'session' "
            "AND name NOT IN ('TimeZone', 'DateStyle', 'client_encoding', "
            "'application_name', 'standard_conforming_strings', 'IntervalStyle', "
            "'extra_float_digits')"
        ),
        "listeners elsewhere": (
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND query ILIKE 'listen%%'"
        ),
    }
    with connection.cursor() as cursor:
        state = {}
        for what, sql in queries.items():
            cursor.execute(sql)
            state[what] = [row[0] for row in cursor.fetchall()]
    return state


NOTHING = {
    "open cursors": [],
    "prepared statements": [],
    "listening channels": [],
    "advisory locks": [],
    "session settings": [],
    "listeners elsewhere": [],
}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_key_lookups_and_a_streaming_download_leave_no_session_state(
    admin_client, monkeypatch
):
    """On a direct connection this reads the very session that did the work (behind
    PgBouncer it reads whichever server connection the pooler gives)."""
    monkeypatch.setattr("series.admin.EXPORT_CHUNK", 2)
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    series = SeriesFactory(store=store)
    for i in range(5):
        CouponFactory(store=store, series=series, code=f"K{i}")
    api = APIClient()
    for auth in (f"APIKey {key.token}", key.token):
        api.credentials(HTTP_AUTHORIZATION=auth)
        assert api.get(f"/v1/stores/{store.id}/coupons").status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key.token}")
    unknown = "/v0/d/coupon_definitions/00000000-0000-4000-8000-000000000000"
    assert api.get(unknown).status_code == 404
    api.credentials(HTTP_AUTHORIZATION=f"APIKey {key.key_id}.wrong")
    assert api.get(f"/v1/stores/{store.id}/coupons").status_code == 401
    assert _session_state() == NOTHING

    response = admin_client.post(
        reverse("admin:series_series_changelist"),
        {"action": "export_codes_csv", "_selected_action": [str(series.pk)]},
    )
    stream = iter(response.streaming_content)
    first = [next(stream), next(stream)]  # the header and the first row
    # Mid-download: the rest of the rows are still to be read.
    assert _session_state() == NOTHING
    rows = list(csv.reader(io.StringIO(b"".join([*first, *stream]).decode())))
    assert len(rows) == 6
    assert _session_state() == NOTHING
