"""``Idempotency-Key`` for every write of every dialect.

The first request with a key claims it (a unique row per store and key, committed at
once), runs, and stores its response. A retry with the same key and the same method,
path and body gets that response back and runs nothing; with anything else it is
refused. A retry that arrives while the first is still running waits for it (up to
``IDEMPOTENCY_WAIT_SECONDS``). A 5xx is not kept, so the request can be retried.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import errors
from core.errors import DomainError
from stores.models import IdempotencyKey, IdempotencyStatus, Store

HEADER = "HTTP_IDEMPOTENCY_KEY"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Claim:
    """This request holds the key; it must ``complete`` or ``release`` it."""

    record_id: int


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes
    content_type: str


def ttl() -> timedelta:
    return timedelta(hours=getattr(settings, "IDEMPOTENCY_TTL_HOURS", 24))


def fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def claim(*, store: Store, key: str, print_: str) -> Claim | StoredResponse:
    """Claim ``key`` for this request, or the first request's stored response."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise DomainError(
            errors.IDEMPOTENCY_KEY_INVALID,
            f"Idempotency-Key must be 1..{MAX_KEY_LENGTH} printable characters.",
        )
    deadline = time.monotonic() + getattr(settings, "IDEMPOTENCY_WAIT_SECONDS", 10)
    while True:
        record, created = _create_or_get(store=store, key=key, print_=print_)
        if created:
            return Claim(record.pk)
        if record.fingerprint != print_:
            raise DomainError(
                errors.IDEMPOTENCY_KEY_REUSED,
                "This Idempotency-Key was used for a different request; use a new "
                "key for a new request.",
            )
        if record.status == IdempotencyStatus.DONE:
            return StoredResponse(
                record.response_status,
                bytes(record.response_body or b""),
                record.response_content_type,
            )
        if time.monotonic() >= deadline:
            raise DomainError(
                errors.IDEMPOTENCY_IN_PROGRESS,
                "A request with this Idempotency-Key is still being processed; retry "
                "shortly.",
            )
        time.sleep(0.05)


def _create_or_get(
    *, store: Store, key: str, print_: str
) -> tuple[IdempotencyKey, bool]:
    """The key's row, and whether this request just created it."""
    cutoff = timezone.now() - ttl()
    existing = IdempotencyKey.objects.filter(store=store, key=key).first()
    if existing is not None and existing.created_at < cutoff:
        IdempotencyKey.objects.filter(pk=existing.pk).delete()
        existing = None
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            created = IdempotencyKey.objects.create(
                store=store, key=key, fingerprint=print_
            )
    except IntegrityError:  # another request claimed it first
        return IdempotencyKey.objects.get(store=store, key=key), False
    return created, True


def complete(*, claim: Claim, status: int, body: bytes, content_type: str) -> None:
    """Keep the response (or release the key after a server error)."""
    if status >= 500:
        release(claim=claim)
        return
    IdempotencyKey.objects.filter(pk=claim.record_id).update(
        status=IdempotencyStatus.DONE,
        response_status=status,
        response_body=body,
        response_content_type=content_type,
    )


def release(*, claim: Claim) -> None:
    IdempotencyKey.objects.filter(pk=claim.record_id).delete()


def purge_expired() -> int:
    deleted, _ = IdempotencyKey.objects.filter(
        created_at__lt=timezone.now() - ttl()
    ).delete()
    return deleted
