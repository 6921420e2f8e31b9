"""Staff saving a coupon's change page that others changed or deleted meanwhile
(PostgreSQL, real concurrent writers).

The admin writes only the fields staff edited, compared with the page they saw, on
the row as it is now (``coupon_update``): an API PATCH of another field and the
counters moved by redemptions since the page was opened stay, and a coupon deleted
(or archived) while the save runs is a clear message, never a 500 nor a coupon
written back.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from coupons.models import Coupon
from tests.admin_forms import (
    edit,
    open_form,
    post_while_held,
    save_after,
    save_while_deleted,
)
from tests.concurrency import paynow_client
from tests.factories import ApiKeyFactory, CouponFactory, CustomerFactory, StoreFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _url(coupon: Coupon) -> str:
    return reverse("admin:coupons_coupon_change", args=[coupon.pk])


def test_an_api_patch_and_a_redemption_made_while_the_page_was_open_are_kept(
    admin_client,
):
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    customer = CustomerFactory(store=store)
    coupon = CouponFactory(
        store=store, code="SPRING25", discount_amount=500, minimum_order_value=0
    )

    def api_writes():
        api = paynow_client(key)
        patched = api.patch(
            f"/v1/stores/{store.id}/coupons/{coupon.id}",
            {"discount_amount": 300},
            format="json",
        )
        redeemed = api.post(
            f"/v1/stores/{store.id}/redemptions",
            {"code": "SPRING25", "customer_id": str(customer.id), "order_value": 900},
            format="json",
        )
        assert (patched.status_code, redeemed.status_code) == (200, 200)

    save_after(admin_client, _url(coupon), api_writes, note="Spring sale")

    stored = Coupon.objects.get(pk=coupon.pk)
    assert (stored.note, stored.discount_amount, stored.redeemed_count) == (
        "Spring sale",
        300,
        1,
    )
    assert list(
        AuditEvent.objects.filter(object_id=coupon.pk, action="update")
        .order_by("id")
        .values_list("changes", flat=True)
    ) == [{"discount_amount": [500, 300]}, {"note": [None, "Spring sale"]}]


def test_a_coupon_deleted_while_the_save_runs_is_a_message_not_a_new_row(
    admin_client,
):
    coupon = CouponFactory(code="SPRING25")

    save_while_deleted(admin_client, Coupon, coupon.pk, note="Spring sale")


def test_a_coupon_archived_while_the_save_runs_is_a_form_error(admin_client):
    coupon = CouponFactory(code="SPRING25")
    page = open_form(admin_client, _url(coupon))

    response = post_while_held(
        admin_client,
        _url(coupon),
        edit(page, note="Spring sale"),
        "UPDATE coupons_coupon SET archived_at = now(), enabled = false WHERE id = %s",
        [coupon.pk],
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        "This coupon was deleted (archived) by someone else while the page was "
        "open: nothing was changed."
    ]
    stored = Coupon.objects.get(pk=coupon.pk)
    assert (stored.note, stored.enabled, stored.archived_at is not None) == (
        None,
        False,
        True,
    )
    # The staff's input is shown again.
    assert response.context["adminform"].form["note"].value() == "Spring sale"
