"""The audit trail: who changed what, through which channel; append-only."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from audit.models import AppendOnlyError, AuditEvent
from core.actors import SYSTEM
from coupons.models import Coupon
from tests.factories import CouponFactory, CustomerFactory, RedemptionFactory

pytestmark = pytest.mark.django_db


def events(**filters):
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


def test_api_writes_record_the_key_and_dialect(paynow, store, api_key):
    response = paynow.post(
        f"/v1/stores/{store.id}/customers", {"email": "a@example.com"}, format="json"
    )
    customer_id = int(response.json()["id"])
    paynow.patch(
        f"/v1/stores/{store.id}/customers/{customer_id}",
        {"first_name": "Ann", "email": "a@example.com"},
        format="json",
    )
    paynow.delete(f"/v1/stores/{store.id}/customers/{customer_id}")
    trail = events(customer_id=customer_id)
    assert [e.action for e in trail] == ["create", "update", "delete"]
    for event in trail:
        assert (event.actor_type, event.actor_id) == ("api_key", api_key.id)
        assert event.actor_label == api_key.key_id
        assert event.channel == "paynow"
        assert event.store_id == store.id
    assert trail[0].changes["email"] == "a@example.com"
    assert trail[1].changes == {"first_name": ["", "Ann"]}


def test_coupon_lifecycle_and_redemptions(paynow, store):
    coupon = CouponFactory(store=store, code="LIFE")
    base = f"/v1/stores/{store.id}"
    paynow.patch(f"{base}/coupons/{coupon.id}", {"note": "n"}, format="json")
    redemption = paynow.post(
        f"{base}/redemptions", {"code": "LIFE", "order_value": 1000}, format="json"
    ).json()
    paynow.post(f"{base}/redemptions/{redemption['id']}/rollback")
    paynow.delete(f"{base}/coupons/{coupon.id}")
    trail = events(coupon_id=coupon.id)
    assert [e.action for e in trail] == ["update", "redeem", "rollback", "archive"]
    assert trail[0].changes == {"note": [None, "n"]}
    assert trail[1].object_type == "redemption"
    assert trail[1].object_id == int(redemption["id"])
    assert trail[1].changes["discount_amount"] == 500


def test_a_refused_write_records_nothing(paynow, store):
    CouponFactory(store=store, code="OFF", enabled=False)
    response = paynow.post(
        f"/v1/stores/{store.id}/redemptions", {"code": "OFF"}, format="json"
    )
    assert response.status_code == 409
    assert not AuditEvent.objects.exists()


def test_staff_edits_record_the_user(admin_client, admin_user, store):
    coupon = CouponFactory(store=store, code="STAFF")
    url = reverse("admin:coupons_coupon_change", args=[coupon.pk])
    page = admin_client.get(url)
    form = page.context["adminform"].form
    data = {
        name: form.initial.get(name, "")
        for name in form.fields
        if form.initial.get(name) is not None
    }
    data.update({"store": store.pk, "code": "STAFF", "note": "by staff"})
    data = {k: v for k, v in data.items() if v is not False}
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content[:2000]
    (event,) = events(coupon_id=coupon.id)
    assert (event.actor_type, event.actor_id) == ("user", admin_user.pk)
    assert event.actor_label == admin_user.username
    assert event.channel == "admin"
    assert event.changes["note"] == [None, "by staff"]
    page = admin_client.get(url)
    assert "by staff" in page.content.decode()


def test_commands_record_the_system(store):
    coupon = CouponFactory(store=store, expires_at=timezone.now() - timedelta(days=1))
    call_command("expire_coupons", "--store", str(store.id), stdout=StringIO())
    (event,) = events(coupon_id=coupon.id)
    assert (event.action, event.actor_type, event.channel) == ("expire", "internal", "")
    assert event.changes == {"enabled": [True, False]}


def test_the_trail_cannot_be_edited_or_deleted_through_the_app(paynow, store):
    paynow.post(f"/v1/stores/{store.id}/customers", {}, format="json")
    event = AuditEvent.objects.get()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.update(action="tampered")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    event.action = "tampered"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert AuditEvent.objects.get().action == "create"


def test_admin_shows_the_trail_read_only(admin_client, paynow, store):
    customer = CustomerFactory(store=store)
    paynow.patch(
        f"/v1/stores/{store.id}/customers/{customer.id}",
        {"first_name": "Zed"},
        format="json",
    )
    event = AuditEvent.objects.get()
    page = admin_client.get(
        reverse("admin:customers_customer_change", args=[customer.pk])
    )
    assert "Audit trail" in page.content.decode()
    assert "Zed" in page.content.decode()
    listing = admin_client.get(reverse("admin:audit_auditevent_changelist"))
    assert listing.status_code == 200
    assert admin_client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:audit_auditevent_delete", args=[event.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_redemption_history_keeps_the_rollback(store):
    redemption = RedemptionFactory(coupon=CouponFactory(store=store))
    Coupon.objects.filter(pk=redemption.coupon_id).update(redeemed_count=1)
    from coupons.redeem import service

    service.redemption_rollback(store=store, redemption_id=redemption.id, actor=SYSTEM)
    (event,) = events(object_id=redemption.id)
    assert event.action == "rollback"
    assert event.customer_id == redemption.customer_id


@pytest.mark.postgres
def test_postgres_refuses_raw_updates_and_deletes(paynow, store):
    paynow.post(f"/v1/stores/{store.id}/customers", {}, format="json")
    for sql in (
        "UPDATE audit_auditevent SET action = 'x'",
        "DELETE FROM audit_auditevent",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert AuditEvent.objects.count() == 1


def test_the_channel_filter_offers_every_channel_events_are_recorded_through(
    admin_client, store
):
    from core.admin import STORE_PARAMETER
    from core.dialects.capillary import CAPILLARY_V2
    from core.dialects.capillary_v11 import CAPILLARY_V11
    from core.dialects.newstore import NEWSTORE
    from core.dialects.paynow import PAYNOW
    from core.dialects.shoplazza import SHOPLAZZA

    listing = admin_client.get(
        reverse("admin:audit_auditevent_changelist"), {STORE_PARAMETER: store.pk}
    )

    (channel,) = [
        spec
        for spec in listing.context["cl"].filter_specs
        if getattr(spec, "parameter_name", None) == "channel"
    ]
    offered = {value for value, _label in channel.lookup_choices}
    dialects = [CAPILLARY_V2, CAPILLARY_V11, NEWSTORE, PAYNOW, SHOPLAZZA]
    assert offered == {dialect.name for dialect in dialects} | {"admin", "command"}
