from __future__ import annotations

from django.db.models import QuerySet

from audit.models import AuditEvent


def timeline(*, coupon_id=None, customer_id=None, series_id=None) -> QuerySet:
    events = AuditEvent.objects.all()
    if coupon_id is not None:
        events = events.for_coupon(coupon_id)
    if customer_id is not None:
        events = events.for_customer(customer_id)
    if series_id is not None:
        events = events.for_series(series_id)
    return events.order_by("-id")
