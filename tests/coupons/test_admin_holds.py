"""Holds for staff (issue 20 part 1): listed on the coupon's page (who, until when,
state), released from the holds list through the service; ``expire_holds`` tidies
ended holds."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from coupons.models import Hold, HoldState
from tests.factories import CouponFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def make_hold(coupon, *, customer=None, ends_in=timedelta(minutes=15), **fields):
    return Hold.objects.create(
        store=coupon.store,
        coupon=coupon,
        customer=customer,
        expires_at=timezone.now() + ends_in,
        **fields,
    )


def test_coupon_page_lists_its_holds(admin_client):
    coupon = CouponFactory(code="HELD")
    customer = CustomerFactory(store=coupon.store, email="held@example.com")
    live = make_hold(coupon, customer=customer)
    ended = make_hold(coupon, ends_in=timedelta(seconds=-1))
    released = make_hold(coupon, state=HoldState.RELEASED)
    make_hold(CouponFactory(store=coupon.store))  # another coupon's

    response = admin_client.get(
        reverse("admin:coupons_coupon_change", args=[coupon.pk])
    )

    assert response.status_code == 200
    table = {t["key"]: t for t in response.context["related_pages"]}["holds"]
    assert table["headings"] == ["id", "customer", "until", "state", "redemption"]
    rows = {str(row[0]): row for row in table["rows"]}
    assert len(rows) == 3
    (live_row,) = [row for key, row in rows.items() if str(live.pk) in key]
    assert f"/customers/customer/{customer.pk}/change/" in live_row[1]
    assert live_row[2] == live.expires_at
    assert live_row[3] == "Active"
    (ended_row,) = [row for key, row in rows.items() if str(ended.pk) in key]
    assert ended_row[3] == "ended (not tidied)"
    (released_row,) = [row for key, row in rows.items() if str(released.pk) in key]
    assert released_row[3] == "Released"


def test_release_action_releases_live_holds_and_reports_the_rest(admin_client):
    coupon = CouponFactory()
    live = make_hold(coupon)
    ended = make_hold(coupon, ends_in=timedelta(seconds=-1))

    response = admin_client.post(
        reverse("admin:coupons_hold_changelist"),
        {"action": "release", "_selected_action": [live.pk, ended.pk]},
        follow=True,
    )

    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert shown == [f"{ended.pk}: This hold has expired.", "Released 1 hold(s)."]
    live.refresh_from_db()
    ended.refresh_from_db()
    assert (live.state, ended.state) == (HoldState.RELEASED, HoldState.ACTIVE)
    event = AuditEvent.objects.get(action="release")
    assert (event.object_id, event.actor_type) == (live.pk, "user")


def test_hold_page_is_read_only(admin_client):
    hold = make_hold(CouponFactory())
    response = admin_client.get(reverse("admin:coupons_hold_change", args=[hold.pk]))
    assert response.status_code == 200
    assert b'name="expires_at"' not in response.content
    assert admin_client.get(reverse("admin:coupons_hold_add")).status_code == 403


def test_expire_holds_marks_only_ended_active_holds(capsys):
    coupon = CouponFactory()
    ended = [make_hold(coupon, ends_in=timedelta(seconds=-n)) for n in (1, 2, 3)]
    live = make_hold(coupon)
    released = make_hold(coupon, state=HoldState.RELEASED, ends_in=timedelta(-1))

    out = StringIO()
    call_command("expire_holds", "--dry-run", stdout=out)
    assert out.getvalue() == "[dry run] 3 ended holds would be marked expired\n"
    assert not Hold.objects.filter(state=HoldState.EXPIRED).exists()

    out = StringIO()
    call_command("expire_holds", "--batch-size", "2", stdout=out)
    assert out.getvalue() == "Marked 3 ended holds expired\n"
    assert set(
        Hold.objects.filter(state=HoldState.EXPIRED).values_list("pk", flat=True)
    ) == {hold.pk for hold in ended}
    live.refresh_from_db()
    released.refresh_from_db()
    assert (live.state, released.state) == (HoldState.ACTIVE, HoldState.RELEASED)

    out = StringIO()
    call_command("expire_holds", stdout=out)
    assert out.getvalue() == "Marked 0 ended holds expired\n"
