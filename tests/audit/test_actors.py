"""One actor per change: a service records in the audit trail the actor it is given,
the same value as the row's created_by/updated_by stamps, whatever the request
around it (issue 18 item 2)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from core.actors import SYSTEM, Actor
from coupons import services as coupon_services
from coupons.models import Coupon
from customers import services as customer_services
from stores.scopes import PRICE_RULES, SERIES
from tests.assignments.conftest import RECEIVE_URL, shoplazza_client
from tests.factories import ApiKeyFactory, CouponFactory, CustomerFactory
from tests.series.conftest import SERIES_URL, capillary_client
from tests.series.test_api_capillary_series import body

pytestmark = pytest.mark.django_db


def who(event: AuditEvent) -> tuple:
    return (event.actor_type, event.actor_id, event.actor_label, event.channel)


def test_a_service_called_outside_a_request_records_the_actor_it_is_given(
    store, admin_user
):
    staff = Actor.user(admin_user)
    key = ApiKeyFactory(store=store)
    newstore = Actor.api_key(key, channel="newstore")

    customer = customer_services.customer_create(
        store=store, actor=staff, email="a@example.com"
    )
    customer_services.customer_update(customer=customer, actor=newstore, mobile="1")
    coupon = coupon_services.coupon_create(store=store, actor=newstore, code="ONE")
    coupon_services.coupon_update(coupon=coupon, actor=staff, note="n")
    coupon_services.coupon_delete(coupon=coupon, actor=SYSTEM)
    customer_services.customer_delete(customer=customer, actor=newstore)

    staff_seen = ("user", admin_user.pk, admin_user.username, "admin")
    key_seen = ("api_key", key.pk, key.key_id, "newstore")
    assert [
        (e.object_type, e.action, who(e)) for e in AuditEvent.objects.order_by("id")
    ] == [
        ("customer", "create", staff_seen),
        ("customer", "update", key_seen),
        ("coupon", "create", key_seen),
        ("coupon", "update", staff_seen),
        ("coupon", "delete", ("internal", None, "system", "")),
        ("customer", "delete", key_seen),
    ]


def test_the_stamps_and_the_events_name_the_same_actor(store, admin_user):
    staff = Actor.user(admin_user)
    key = ApiKeyFactory(store=store)
    coupon = coupon_services.coupon_create(
        store=store, actor=Actor.api_key(key, channel="paynow"), code="TWO"
    )
    coupon_services.coupon_update(coupon=coupon, actor=staff, note="n")

    coupon.refresh_from_db()
    created, updated = AuditEvent.objects.filter(coupon_id=coupon.pk).order_by("id")
    assert (coupon.created_by_type, coupon.created_by_id) == (
        created.actor_type,
        created.actor_id,
    )
    assert (coupon.updated_by_type, coupon.updated_by_id) == (
        updated.actor_type,
        updated.actor_id,
    )


def test_expiring_records_the_actor_it_is_given(store, admin_user):
    coupon = CouponFactory(store=store, expires_at=timezone.now() - timedelta(days=1))

    coupon_services.coupons_expire(store=store, actor=Actor.user(admin_user))

    coupon.refresh_from_db()
    (event,) = AuditEvent.objects.filter(coupon_id=coupon.pk)
    assert who(event) == ("user", admin_user.pk, admin_user.username, "admin")
    assert (coupon.updated_by_type, coupon.updated_by_id) == ("user", admin_user.pk)


def test_a_receive_records_the_key_through_shoplazza(store):
    key = ApiKeyFactory(store=store, scopes=[PRICE_RULES])
    customer = CustomerFactory(store=store)
    coupon = CouponFactory(store=store)

    response = shoplazza_client(key).post(
        RECEIVE_URL,
        {"customer_id": str(customer.id), "coupon_ids": [str(coupon.id)] * 2},
        format="json",
    )

    assert response.status_code == 200
    events = list(AuditEvent.objects.filter(coupon_id=coupon.pk).order_by("id"))
    assert [(e.action, e.object_type, who(e), e.changes) for e in events] == [
        (
            "receive",
            "assignment",
            ("api_key", key.pk, key.key_id, "shoplazza"),
            {"channel": "shoplazza"},
        )
    ] * 2


def test_a_capillary_series_records_its_coupon_as_the_key_through_capillary(store):
    till = ApiKeyFactory(store=store, scopes=[SERIES])

    response = capillary_client(till).post(
        SERIES_URL,
        {"CouponSeriesV2": body(genericCode="GEN10", maxVouchersPerUser=-1)},
        format="json",
    )

    assert response.status_code == 200
    coupon = Coupon.objects.get(code="GEN10")
    (event,) = AuditEvent.objects.filter(coupon_id=coupon.pk)
    assert (event.action, who(event)) == (
        "create",
        ("api_key", till.pk, till.key_id, "capillary"),
    )
    assert (coupon.created_by_type, coupon.created_by_id) == ("api_key", till.pk)
