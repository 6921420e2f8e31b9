"""The admin's redemption page shows a cart's lines and its returns (issue 19)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import CouponFactory, RedemptionFactory

pytestmark = pytest.mark.django_db


def test_redemption_page_shows_lines_and_returns(admin_client, paynow, store):
    store.currency = "EUR"
    store.save(update_fields=["currency"])
    CouponFactory(store=store, code="TEN", discount_type="percent", discount_amount=100)
    base = f"/v1/stores/{store.id}"
    order = {
        "currency": "EUR",
        "lines": [
            {"id": "shoe", "quantity": 2, "unit_price": 1000, "sale_unit_price": 800},
            {"id": "sock", "quantity": 1, "unit_price": 500},
        ],
    }
    made = paynow.post(
        f"{base}/redemptions", {"code": "TEN", "order": order}, format="json"
    ).json()
    returned = paynow.post(
        f"{base}/redemptions/{made['id']}/rollback",
        {"lines": [{"id": "shoe", "quantity": 1}]},
        format="json",
    )
    assert returned.status_code == 200

    response = admin_client.get(
        reverse("admin:coupons_redemption_change", args=[made["id"]])
    )

    assert response.status_code == 200
    inline = response.context["inline_admin_formsets"][0]
    rows = [
        (o.line_id, o.quantity, o.discount, o.returned_quantity, o.returned_discount)
        for o in (form.original for form in inline)
    ]
    assert rows == [("shoe", 2, 160, 1, 80), ("sock", 1, 50, 0, 0)]
    page = response.content.decode()
    assert "Returns and rollback" in page
    assert "<td>return</td>" in page
    assert "<td>800</td><td>80</td><td>shoe x1</td>" in page


def test_redemption_page_without_a_cart_says_none(admin_client):
    redemption = RedemptionFactory()
    response = admin_client.get(
        reverse("admin:coupons_redemption_change", args=[redemption.pk])
    )
    assert response.status_code == 200
    assert "Returns and rollback" in response.content.decode()


def test_the_lines_list_finds_a_redemptions_lines_by_its_id(
    admin_client, paynow, store
):
    store.currency = "EUR"
    store.save(update_fields=["currency"])
    CouponFactory(store=store, code="TEN", discount_type="percent", discount_amount=100)
    order = {
        "currency": "EUR",
        "lines": [
            {"id": "shoe", "quantity": 2, "unit_price": 1000},
            {"id": "sock", "quantity": 1, "unit_price": 500},
        ],
    }
    made = [
        paynow.post(
            f"/v1/stores/{store.id}/redemptions",
            {"code": "TEN", "order": order},
            format="json",
        ).json()
        for _ in range(2)
    ]
    url = reverse("admin:coupons_redemptionline_changelist")

    def listed(query: str) -> list[tuple[int, str, int]]:
        response = admin_client.get(url, {"q": query})
        assert response.status_code == 200
        return sorted(
            (line.redemption_id, line.line_id, line.discount)
            for line in response.context["cl"].result_list
        )

    first = int(made[0]["id"])
    assert listed(str(first)) == [(first, "shoe", 200), (first, "sock", 50)]
    assert len(listed("")) == 4
    for nothing in ("shoe", "12ab", "9" * 30, "١٢", "-1"):
        assert listed(nothing) == []
    assert (
        admin_client.get(reverse("admin:coupons_redemptionline_add")).status_code == 403
    )
