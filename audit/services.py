"""Recording the audit trail. Services call ``record`` inside their transaction, so an
event exists exactly when its change does, with the ``Actor`` they were given (who,
through which channel): the same value that stamps the row's created_by/updated_by."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from django.db import models

from audit.models import AuditEvent
from core.actors import Actor


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def snapshot(instance: models.Model, fields: list[str] | tuple[str, ...]) -> dict:
    return {name: _plain(getattr(instance, name)) for name in fields}


def diff(before: dict, after: dict) -> dict:
    """``{field: [old, new]}`` for the fields that changed."""
    return {
        key: [before.get(key), value]
        for key, value in after.items()
        if before.get(key) != value
    }


def event(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: int,
    store_id: int,
    changes: dict | None = None,
    coupon_id: int | None = None,
    customer_id: int | None = None,
    series_id: int | None = None,
) -> AuditEvent:
    """The unsaved event of a change made by ``actor``: the one the service was
    given, which also stamps the row it changed."""
    return AuditEvent(
        store_id=store_id,
        actor_type=actor.type,
        actor_id=actor.id,
        actor_label=actor.label,
        channel=actor.channel,
        action=action,
        object_type=object_type,
        object_id=object_id,
        coupon_id=coupon_id,
        customer_id=customer_id,
        series_id=series_id,
        changes={key: _plain(value) for key, value in (changes or {}).items()},
    )


class CouponRow(Protocol):
    """A row of a checkout path that names its store, coupon and customer: a
    redemption, a hold, an assignment."""

    pk: int
    store_id: int
    coupon_id: int
    customer_id: int | None


def event_of(
    row: CouponRow,
    *,
    object_type: str,
    action: str,
    actor: Actor,
    changes: dict | None = None,
    series_id: int | None = None,
) -> AuditEvent:
    """The unsaved event of a change to ``row`` (``event``): its store, coupon and
    customer are the row's own; its series only when given (redeem, hold, issue and
    receive events name it, rollbacks, returns and releases never have)."""
    return event(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=row.pk,
        store_id=row.store_id,
        changes=changes,
        coupon_id=row.coupon_id,
        customer_id=row.customer_id,
        series_id=series_id,
    )


def record(**kwargs: Any) -> AuditEvent:
    made = event(**kwargs)
    made.save()
    return made


def record_many(events: list[dict[str, Any]], *, actor: Actor) -> None:
    """Many events of one actor in one INSERT (bulk issue, bulk expire)."""
    AuditEvent.objects.bulk_create(
        [event(actor=actor, **kwargs) for kwargs in events], 1000
    )
