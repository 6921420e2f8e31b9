"""core.sql.copy_rows: the one COPY writer of the bulk paths (the bulk issue's
``sql.copy``, the customer import's and code generation's staging tables)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection, transaction

from core import sql

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

AWKWARD = [
    (1, "tab\there", True, None),
    (2, "back\\slash and \\N", False, datetime(2026, 3, 1, 12, tzinfo=UTC)),
    (3, "new\nline\r", None, datetime(2026, 3, 1, 12, 0, 0, 1, tzinfo=UTC)),
    (4, "\u00df\u0131\ufb01 \U0001f600", True, None),
    (5, "", False, None),
]


def test_copy_rows_writes_every_value_as_given_and_counts_them():
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE copy_probe (id bigint, body text, "
            '"Flag" boolean, at timestamptz) ON COMMIT DROP'
        )

        count = sql.copy_rows(
            cursor, "copy_probe", ("id", "body", "Flag", "at"), AWKWARD
        )

        cursor.execute('SELECT id, body, "Flag", at FROM copy_probe ORDER BY id')
        assert cursor.fetchall() == AWKWARD
    assert count == 5


def test_copy_rows_of_no_rows_writes_nothing():
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE copy_probe (id bigint) ON COMMIT DROP")

        count = sql.copy_rows(cursor, "copy_probe", ("id",), iter(()))

        cursor.execute("SELECT count(*) FROM copy_probe")
        assert cursor.fetchone() == (0,)
    assert count == 0
