"""The SQL of the customer import's PostgreSQL path, each statement once.

A batch lives in two temporary tables of its transaction (``ON COMMIT DROP``: no
state is left on the connection, DESIGN.md Scale): ``STAGE`` holds the batch's good
rows as COPY wrote them (an empty cell is NULL: "not given"; the email folded by
Python's ``fold_email``, never by SQL), ``MATCH`` the existing customers each staged
row's identifiers found. A staged row's ``state``: ``s`` simple (written by the
set-based statements), ``c`` names a customer another row of the batch names too
(applied one by one, in file order, by ``importer.apply_in_order``), ``x`` rejected
(identifiers of different customers).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from core import sql
from customers.models import Customer

STAGE = "customers_import_stage"
MATCH = "customers_import_match"
TABLE = Customer._meta.db_table
STAGED = (
    "line",
    "id",
    "first_name",
    "last_name",
    "email",
    "email_folded",
    "mobile",
    "external_id",
    "state",
)
# The columns a row sets when its cell is not empty (every column it can give).
GIVEN = ("first_name", "last_name", "email", "email_folded", "mobile", "external_id")

CREATE = (
    f"""CREATE TEMPORARY TABLE {STAGE} (
    line integer NOT NULL, id bigint NOT NULL, first_name text, last_name text,
    email text, email_folded text, mobile text, external_id text,
    state char(1) NOT NULL
) ON COMMIT DROP""",
    f"""CREATE TEMPORARY TABLE {MATCH} (
    line integer PRIMARY KEY, c_ext bigint, c_email bigint, c_mobile bigint
) ON COMMIT DROP""",
)
# After the COPY: the batch's rows are found by line. The planner picks how the
# store's customers are read: forcing index probes (enable_hashjoin/mergejoin off)
# was tried and met stale statistics of a just-filled table with a nested loop over
# the store index, which never ended; the hash joins scan the store's customers once
# a statement instead (measured in bench/README.md).
PLAN = (
    f"ALTER TABLE {STAGE} ADD PRIMARY KEY (line)",
    f"ANALYZE {STAGE}",
)

# Every staged row that an identifier finds in the store, with what each found.
RESOLVE = f"""
INSERT INTO {MATCH} (line, c_ext, c_email, c_mobile)
SELECT s.line, x.id, e.id, m.id
FROM {STAGE} s
LEFT JOIN {TABLE} x ON x.store_id = %(store)s AND x.external_id = s.external_id
LEFT JOIN {TABLE} e ON e.store_id = %(store)s AND e.email_folded = s.email_folded
LEFT JOIN {TABLE} m ON m.store_id = %(store)s AND m.mobile = s.mobile
WHERE x.id IS NOT NULL OR e.id IS NOT NULL OR m.id IS NOT NULL
"""

# Simple rows that find a customer another staged row finds too: their order
# matters, so they go one by one.
CROWDED = f"""
WITH touch AS (
    SELECT line, c_ext AS cid FROM {MATCH} WHERE c_ext IS NOT NULL
    UNION SELECT line, c_email FROM {MATCH} WHERE c_email IS NOT NULL
    UNION SELECT line, c_mobile FROM {MATCH} WHERE c_mobile IS NOT NULL
), crowded AS (
    SELECT cid FROM touch GROUP BY cid HAVING count(*) > 1
)
UPDATE {STAGE} s SET state = 'c'
FROM (SELECT DISTINCT t.line FROM touch t JOIN crowded USING (cid)) c
WHERE s.line = c.line AND s.state = 's'
"""

# Simple rows whose identifiers found different customers: (line, what each found).
CONFLICTS = f"""
SELECT m.line, m.c_ext, m.c_email, m.c_mobile
FROM {MATCH} m JOIN {STAGE} s ON s.line = m.line
WHERE s.state = 's' AND (
    m.c_ext <> COALESCE(m.c_email, m.c_ext)
    OR m.c_ext <> COALESCE(m.c_mobile, m.c_ext)
    OR m.c_email <> COALESCE(m.c_mobile, m.c_email))
ORDER BY m.line
"""

REJECT = f"UPDATE {STAGE} SET state = 'x' WHERE line = ANY(%(lines)s)"

_TARGET = "COALESCE(m.c_ext, m.c_email, m.c_mobile)"
# The customer still carries an identifier of the row that found it (it may have
# changed since RESOLVE read it: a row is updated only while it is still the one).
_STILL = (
    "(c.external_id = s.external_id OR c.email_folded = s.email_folded "
    "OR c.mobile = s.mobile)"
)
_DIFFERS = (
    "("
    + " OR ".join(
        f"(s.{col} IS NOT NULL AND s.{col} IS DISTINCT FROM c.{col})"
        for col in ("first_name", "last_name", "email", "mobile", "external_id")
    )
    + ")"
)

# The customers the simple rows will change, locked in id order before anything is
# written (a fixed order against deadlocks; the rows that change nothing are not
# locked, so a rerun takes no lock).
LOCK = f"""
SELECT count(*) FROM (
    SELECT c.id FROM {TABLE} c
    JOIN {MATCH} m ON c.id = {_TARGET}
    JOIN {STAGE} s ON s.line = m.line
    WHERE s.state = 's' AND c.store_id = %(store)s AND {_STILL} AND {_DIFFERS}
    ORDER BY c.id FOR NO KEY UPDATE OF c
) locked
"""

# The given cells of the simple matched rows that differ from their customer.
UPDATE = f"""
UPDATE {TABLE} c SET
    {", ".join(f"{col} = COALESCE(s.{col}, c.{col})" for col in GIVEN)},
    updated_at = %(now)s
FROM {STAGE} s JOIN {MATCH} m ON m.line = s.line
WHERE s.state = 's' AND c.id = {_TARGET} AND c.store_id = %(store)s
    AND {_STILL} AND {_DIFFERS}
"""

# (simple matched rows, those whose customer now holds every given cell): these
# agree unless a customer changed between RESOLVE and LOCK.
SETTLED = f"""
SELECT count(*), count(c.id)
FROM {STAGE} s JOIN {MATCH} m ON m.line = s.line
LEFT JOIN {TABLE} c ON c.id = {_TARGET} AND c.store_id = %(store)s
    AND {_STILL} AND NOT {_DIFFERS}
WHERE s.state = 's'
"""

# The simple rows no identifier found: new customers (compact_id from its sequence).
INSERT = f"""
INSERT INTO {TABLE} (id, store_id, {", ".join(GIVEN)}, created_at, updated_at)
SELECT s.id, %(store)s, COALESCE(s.first_name, ''), COALESCE(s.last_name, ''),
    s.email, s.email_folded, s.mobile, s.external_id, %(now)s, %(now)s
FROM {STAGE} s
WHERE s.state = 's' AND NOT EXISTS (SELECT 1 FROM {MATCH} m WHERE m.line = s.line)
"""

ONE_BY_ONE = f"SELECT line FROM {STAGE} WHERE state = 'c' ORDER BY line"

# Dropped at the batch's end too: a caller's outer transaction (a test's) would
# otherwise keep them for the next batch.
DROP = f"DROP TABLE {STAGE}, {MATCH}"


def stage(cursor, rows: Iterable[tuple[Any, ...]]) -> None:
    """Create the batch's tables and COPY ``rows`` (``STAGED`` order) in."""
    for statement in CREATE:
        cursor.execute(statement)
    sql.copy_rows(cursor, STAGE, STAGED, rows)


def resolve(cursor, *, store_id: int) -> list[tuple]:
    """Match the staged rows; send crowded ones one by one; return the simple rows
    whose identifiers found different customers, now rejected."""
    # Temporary tables have no statistics until analysed (autovacuum skips them).
    for statement in PLAN:
        cursor.execute(statement)
    cursor.execute(RESOLVE, {"store": store_id})
    cursor.execute(f"ANALYZE {MATCH}")
    cursor.execute(CROWDED)
    cursor.execute(CONFLICTS)
    conflicts = cursor.fetchall()
    if conflicts:
        cursor.execute(REJECT, {"lines": [row[0] for row in conflicts]})
    return conflicts


def write(cursor, *, store_id: int, now: datetime) -> tuple[int, int, int, int]:
    """Lock, update and insert the simple rows: (created, updated, matched,
    settled); ``matched != settled`` means a customer moved meanwhile."""
    params = {"store": store_id, "now": now}
    cursor.execute(LOCK, params)
    cursor.execute(UPDATE, params)
    updated = cursor.rowcount
    cursor.execute(SETTLED, params)
    matched, settled = cursor.fetchone()
    cursor.execute(INSERT, params)
    return cursor.rowcount, updated, matched, settled


def one_by_one(cursor) -> list[int]:
    """The lines to apply one by one, in file order; drops the batch's tables."""
    cursor.execute(ONE_BY_ONE)
    lines = [line for (line,) in cursor.fetchall()]
    cursor.execute(DROP)
    return lines
