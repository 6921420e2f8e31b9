"""``Idempotency-Key`` for every write of every dialect.

A write sent with a key runs in one transaction that starts by inserting the key's
row and ends by storing the response on it (``begin``, then ``Guard.finish``): the key
is recorded together with the work it guards, or not at all (DESIGN.md invariant 7).
If the process dies half-way, both vanish and a retry simply runs.

A retry with the same key and the same method, path and body gets the stored
response back and runs nothing; with anything else it is refused. A retry that
arrives while the first is still running waits on the key's unique index for the
first transaction to end (at most ``IDEMPOTENCY_WAIT_SECONDS``, a transaction-local
``lock_timeout``), then replays what it stored, or runs if it rolled back; past the
wait it is a 409. An error answer (4xx) is stored and replayed like any other; a 5xx
rolls back the work and the key together, so the request can be retried.

No state outlives the transaction (PgBouncer in transaction pooling is fine).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import timedelta
from types import TracebackType

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import Q
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from core import errors, flake, sql
from core.errors import DomainError
from stores.models import IdempotencyKey, IdempotencyStatus, Store

HEADER = "HTTP_IDEMPOTENCY_KEY"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MAX_KEY_LENGTH = 255
# PostgreSQL (14+) polls a guarded request's client this often while a statement
# runs: when the worker dies (killed, timed out) while its transaction waits on a
# row lock, the server ends the transaction, and frees the key, within this time
# instead of when that lock is let go.
CLIENT_CHECK_INTERVAL = "1s"
_LOCK_NOT_AVAILABLE = "55P03"
_CLAIM_ATTEMPTS = 3


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes
    content_type: str


class Guard:
    """The open transaction of one guarded write, holding its key's new row.

    ``finish`` keeps the response with the work (commit) or rolls both back; ``abort``
    rolls both back after an exception. Exactly one of them must be called.
    """

    def __init__(self, atomic: transaction.Atomic, record_id: int) -> None:
        self._atomic = atomic
        self.record_id = record_id

    def finish(self, *, status: int, body: bytes, content_type: str) -> None:
        """Store the response and commit; a 5xx (or a broken transaction) rolls
        back instead. Raises ``DatabaseError`` when the commit fails (then nothing
        is kept)."""
        try:
            broken = transaction.get_rollback()
            if broken and status < 400:
                # Work that cannot commit must not be answered as a success.
                raise TransactionManagementError(
                    f"The transaction was marked for rollback; answered {status}."
                )
            if status >= 500 or broken:
                transaction.set_rollback(True)
            else:
                IdempotencyKey.objects.filter(pk=self.record_id).update(
                    status=IdempotencyStatus.DONE,
                    response_status=status,
                    response_body=body,
                    response_content_type=content_type,
                )
        except BaseException as exc:
            self.abort(type(exc), exc, exc.__traceback__)
            raise
        self._atomic.__exit__(None, None, None)

    def abort(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(exc_type, exc, tb)


def ttl() -> timedelta:
    return timedelta(hours=getattr(settings, "IDEMPOTENCY_TTL_HOURS", 24))


def wait_seconds() -> float:
    return float(getattr(settings, "IDEMPOTENCY_WAIT_SECONDS", 10))


def fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def begin(*, store: Store, key: str, print_: str) -> Guard | StoredResponse:
    """Open the guarded write's transaction holding ``key``, or return the first
    request's stored response (then no transaction stays open)."""
    # A header's value is bytes read as Latin-1: non-ASCII keys arrive as mojibake
    # (``İ`` printable, ``ß`` with a control character), so only ASCII is a key.
    if not key or len(key) > MAX_KEY_LENGTH or not _printable_ascii(key):
        raise DomainError(
            errors.IDEMPOTENCY_KEY_INVALID,
            f"Idempotency-Key must be 1..{MAX_KEY_LENGTH} printable ASCII characters.",
        )
    atomic = transaction.atomic()
    atomic.__enter__()
    try:
        outcome = _claim(store=store, key=key, print_=print_)
    except BaseException as exc:
        atomic.__exit__(type(exc), exc, exc.__traceback__)
        raise
    if isinstance(outcome, StoredResponse):
        atomic.__exit__(None, None, None)  # read only
        return outcome
    return Guard(atomic, outcome)


def _printable_ascii(key: str) -> bool:
    return key.isascii() and key.isprintable()


def _claim(*, store: Store, key: str, print_: str) -> int | StoredResponse:
    """Insert the key's row in the open transaction (its id), or read the first
    request's answer. Waits at most ``wait_seconds`` for a transaction holding it."""
    deadline = time.monotonic() + wait_seconds()
    postgres = connection.vendor == "postgresql"
    for attempt in range(_CLAIM_ATTEMPTS):
        with connection.cursor() as cursor:
            try:
                if postgres:
                    _bound_lock_waits(cursor, deadline, first=attempt == 0)
                outcome = _try_claim(cursor, store=store, key=key, print_=print_)
                if postgres and isinstance(outcome, int):
                    # The view's own lock waits are not ours to bound.
                    cursor.execute("SET LOCAL lock_timeout TO DEFAULT")
            except OperationalError as exc:
                if getattr(exc.__cause__, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
                    raise
                raise _in_progress() from exc
        if outcome is not None:
            return outcome
    raise _in_progress()


def _try_claim(
    cursor, *, store: Store, key: str, print_: str
) -> int | StoredResponse | None:
    """One attempt: the new row's id, the stored answer, or None (try again)."""
    now = timezone.now()
    cursor.execute(_insert_sql(), _insert_params(store, key, print_, now))
    inserted = cursor.fetchone()
    if inserted is not None:
        return inserted[0]
    # The key's row is committed: replay it, or take it over when it is stale.
    record = IdempotencyKey.objects.filter(store=store, key=key).first()
    if record is None:
        return None  # purged meanwhile
    if _stale(record, now):
        return record.pk if _take_over(record, print_, now) else None
    if record.fingerprint != print_:
        raise DomainError(
            errors.IDEMPOTENCY_KEY_REUSED,
            "This Idempotency-Key was used for a different request; use a new "
            "key for a new request.",
        )
    return StoredResponse(
        record.response_status,
        bytes(record.response_body or b""),
        record.response_content_type,
    )


def _bound_lock_waits(cursor, deadline: float, *, first: bool) -> None:
    """Wait for another transaction's key at most until ``deadline`` (this
    transaction only: ``set_config(..., true)`` is ``SET LOCAL``)."""
    left = max(1, int((deadline - time.monotonic()) * 1000))
    if first and connection.pg_version >= 140000:
        cursor.execute(
            "SELECT set_config('lock_timeout', %s, true), "
            "set_config('client_connection_check_interval', %s, true)",
            [f"{left}ms", CLIENT_CHECK_INTERVAL],
        )
    else:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{left}ms"])


def _insert_sql() -> str:
    quote = connection.ops.quote_name
    table = quote(IdempotencyKey._meta.db_table)
    columns = ", ".join(
        quote(IdempotencyKey._meta.get_field(name).column)
        for name in (
            "id",
            "store",
            "key",
            "fingerprint",
            "status",
            "response_content_type",
            "created_at",
        )
    )
    # The conflict target is the (store, key) unique constraint: a row another
    # transaction inserted and has not committed makes this wait for its end.
    return (
        f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s) "
        f"ON CONFLICT ({quote('store_id')}, {quote('key')}) DO NOTHING "
        f"RETURNING {quote('id')}"
    )


def _insert_params(store: Store, key: str, print_: str, now) -> list:
    return [
        flake.next_id(),
        store.pk,
        key,
        print_,
        IdempotencyStatus.IN_PROGRESS.value,
        "",
        sql.prep(IdempotencyKey, "created_at", now),
    ]


def _stale(record: IdempotencyKey, now) -> bool:
    """Expired, or left ``in_progress`` by a process of the old scheme, which
    committed the key before the work (a committed row is otherwise done)."""
    return record.created_at < now - ttl() or record.status != IdempotencyStatus.DONE


def _take_over(record: IdempotencyKey, print_: str, now) -> bool:
    """Claim a stale row in this transaction (its row lock makes a concurrent
    taker wait for this transaction, then find it fresh)."""
    stale = Q(created_at__lt=now - ttl()) | ~Q(status=IdempotencyStatus.DONE)
    return bool(
        IdempotencyKey.objects.filter(stale, pk=record.pk).update(
            fingerprint=print_,
            status=IdempotencyStatus.IN_PROGRESS,
            response_status=None,
            response_body=None,
            response_content_type="",
            created_at=now,
        )
    )


def _in_progress() -> DomainError:
    return DomainError(
        errors.IDEMPOTENCY_IN_PROGRESS,
        "A request with this Idempotency-Key is still being processed; retry shortly.",
    )


def purge_expired() -> int:
    deleted, _ = IdempotencyKey.objects.filter(
        created_at__lt=timezone.now() - ttl()
    ).delete()
    return deleted
