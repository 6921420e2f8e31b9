"""Tenancy: a key of store B reaches nothing of store A, through every dialect.

Each call uses B's credentials with A's ids, codes and identifiers. None may read,
change or even confirm A's rows beyond what DESIGN.md allows (a 403 for A's path, a
404 or the vendor's "does not exist" answer otherwise); afterwards A is unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from assignments.models import Assignment
from audit.models import AuditEvent
from coupons.models import Coupon, Hold, Redemption
from customers.models import Customer
from legacy.models import LegacyDefinition
from tests.factories import (
    ApiKeyFactory,
    AssignmentFactory,
    CouponFactory,
    CustomerFactory,
    LegacyDefinitionFactory,
    LegacyTemplateFactory,
    RedemptionFactory,
    SeriesFactory,
    StoreFactory,
)

pytestmark = pytest.mark.django_db


class Tenant:
    def __init__(self) -> None:
        self.store = StoreFactory()
        self.key = ApiKeyFactory(store=self.store)
        self.customer = CustomerFactory(store=self.store)
        self.series = SeriesFactory(store=self.store)
        self.coupon = CouponFactory(store=self.store, code=f"A-{self.store.code}")
        self.series_coupon = CouponFactory(
            store=self.store, code=f"S-{self.store.code}", series=self.series
        )
        AssignmentFactory(
            coupon=self.series_coupon, customer=self.customer, series=self.series
        )
        self.redemption = RedemptionFactory(coupon=self.coupon, customer=self.customer)
        self.hold = Hold.objects.create(
            store=self.store,
            coupon=self.coupon,
            customer=self.customer,
            expires_at=timezone.now() + timedelta(days=1),
        )
        self.definition = LegacyDefinitionFactory(store=self.store)
        self.template = LegacyTemplateFactory(store=self.store)
        self.legacy_coupon = CouponFactory(
            store=self.store,
            code=f"L-{self.store.code}",
            origin="generated",
            legacy_definition=self.definition,
            legacy_uuid=uuid.uuid4(),
        )

    def client(self, form: str) -> APIClient:
        api = APIClient()
        md5 = hashlib.md5(self.key.secret.encode(), usedforsecurity=False).hexdigest()
        basic = base64.b64encode(f"{self.key.key_id}:{md5}".encode()).decode()
        headers = {
            "paynow": {"HTTP_AUTHORIZATION": f"APIKey {self.key.token}"},
            "shoplazza": {"HTTP_ACCESS_TOKEN": self.key.token},
            "capillary": {"HTTP_AUTHORIZATION": f"Basic {basic}"},
            "newstore": {"HTTP_AUTHORIZATION": f"Bearer {self.key.token}"},
        }[form]
        api.credentials(**headers)
        return api


def snapshot(tenant: Tenant) -> dict:
    store = tenant.store
    return {
        "customers": list(Customer.objects.filter(store=store).values()),
        "coupons": list(Coupon.objects.filter(store=store).values()),
        "redemptions": list(Redemption.objects.filter(store=store).values()),
        "holds": list(Hold.objects.filter(store=store).values()),
        "assignments": list(Assignment.objects.filter(store=store).values()),
        "legacy": list(LegacyDefinition.objects.filter(store=store).values()),
        "events": AuditEvent.objects.filter(store=store).count(),
    }


@pytest.fixture
def a():
    return Tenant()


@pytest.fixture
def b():
    return Tenant()


def _calls(a: Tenant, b: Tenant):
    """(dialect, method, path, body, expected statuses) with B's key and A's things."""
    sa, sb = a.store.id, b.store.id
    code = a.coupon.code
    return [
        # A's path with B's key: 403, whatever the object.
        ("paynow", "get", f"/v1/stores/{sa}/customers", None, {403}),
        ("paynow", "post", f"/v1/stores/{sa}/customers", {"email": "x@y.z"}, {403}),
        ("paynow", "get", f"/v1/stores/{sa}/customers/{a.customer.id}", None, {403}),
        ("paynow", "get", f"/v1/stores/{sa}/coupons", None, {403}),
        ("paynow", "get", f"/v1/stores/{sa}/coupons/{a.coupon.id}", None, {403}),
        ("paynow", "delete", f"/v1/stores/{sa}/coupons/{a.coupon.id}", None, {403}),
        ("paynow", "get", f"/v1/stores/{sa}/redemptions", None, {403}),
        ("paynow", "post", f"/v1/stores/{sa}/redemptions", {"code": code}, {403}),
        ("paynow", "post", f"/v1/stores/{sa}/holds", {"code": code}, {403}),
        ("paynow", "delete", f"/v1/stores/{sa}/holds/{a.hold.id}", None, {403}),
        ("paynow", "post", f"/v1/stores/{sb}/holds", {"code": code}, {404}),
        ("paynow", "delete", f"/v1/stores/{sb}/holds/{a.hold.id}", None, {404}),
        (
            "paynow",
            "post",
            f"/v1/stores/{sb}/redemptions",
            {"code": b.coupon.code, "hold_id": str(a.hold.id)},
            {404},
        ),
        # B's own path with A's ids or codes: not found.
        ("paynow", "get", f"/v1/stores/{sb}/customers/{a.customer.id}", None, {404}),
        (
            "paynow",
            "patch",
            f"/v1/stores/{sb}/customers/{a.customer.id}",
            {"first_name": "X"},
            {404},
        ),
        ("paynow", "delete", f"/v1/stores/{sb}/customers/{a.customer.id}", None, {404}),
        ("paynow", "get", f"/v1/stores/{sb}/coupons/{a.coupon.id}", None, {404}),
        (
            "paynow",
            "patch",
            f"/v1/stores/{sb}/coupons/{a.coupon.id}",
            {"enabled": False},
            {404},
        ),
        ("paynow", "delete", f"/v1/stores/{sb}/coupons/{a.coupon.id}", None, {404}),
        ("paynow", "post", f"/v1/stores/{sb}/redemptions", {"code": code}, {404}),
        (
            "paynow",
            "post",
            f"/v1/stores/{sb}/redemptions/{a.redemption.id}/rollback",
            None,
            {404},
        ),
        (
            "paynow",
            "post",
            f"/v1/stores/{sb}/redemptions",
            {"code": b.coupon.code, "customer_id": str(a.customer.id)},
            {400},
        ),
        # Shoplazza: A's customer does not exist for B.
        (
            "shoplazza",
            "post",
            "/openapi/2022-01/coupons/receive",
            {"customer_id": str(a.customer.id), "coupon_ids": [str(b.coupon.id)]},
            {404},
        ),
        # Capillary v1.1: A's customer and codes are unknown to B.
        ("capillary", "get", f"/v1.1/customer/coupons?id={a.customer.id}", None, {400}),
        (
            "capillary",
            "get",
            f"/v1.1/customer/coupons?email={a.customer.email}",
            None,
            {400},
        ),
        (
            "capillary",
            "get",
            f"/v1.1/coupon/isredeemable?id={b.customer.id}&code={code}",
            None,
            {200, 400},
        ),
        # NewStore: A's definitions, templates, labels and coupons are unknown to B.
        (
            "newstore",
            "get",
            f"/v0/d/coupon_definitions/{a.definition.uuid}",
            None,
            {404},
        ),
        (
            "newstore",
            "put",
            f"/v0/d/coupon_definitions/{a.definition.uuid}",
            {
                "label": "stolen",
                "pattern": "X[0-9]{3}",
                "discount_rule_id": "r",
            },
            {404},
        ),
        (
            "newstore",
            "delete",
            f"/v0/d/coupon_definitions/{a.definition.uuid}",
            None,
            {404},
        ),
        ("newstore", "get", f"/v0/d/coupon_templates/{a.template.uuid}", None, {404}),
        (
            "newstore",
            "post",
            "/v0/d/coupons",
            {"template_label": a.definition.label},
            {404},
        ),
        (
            "newstore",
            "patch",
            f"/v0/d/coupons/{a.legacy_coupon.legacy_uuid}",
            {"is_enabled": False},
            {404},
        ),
        (
            "newstore",
            "put",
            f"/v0/d/coupons/{a.legacy_coupon.legacy_uuid}",
            {"is_enabled": False},
            {404},
        ),
        (
            "capillary",
            "post",
            "/v2/coupon/issue/multiple",
            {"seriesId": a.series.id, "count": 1, "customer": {"id": b.customer.id}},
            {400},
        ),
        (
            "capillary",
            "post",
            "/v2/coupon/issue/multiple",
            {"seriesId": b.series.id, "count": 1, "customer": {"id": a.customer.id}},
            {400},
        ),
        ("capillary", "get", f"/v2/coupon/series?ids={a.series.id}", None, {400}),
        (
            "capillary",
            "post",
            "/v1.1/coupon/redeem",
            {
                "root": {
                    "coupon": [{"code": code, "customer": {"id": str(b.customer.id)}}]
                }
            },
            {400},
        ),
    ]


def test_another_stores_key_reaches_nothing(a, b):
    before = snapshot(a)
    for dialect, method, path, body, expected in _calls(a, b):
        api = b.client(dialect)
        response = getattr(api, method)(path, body, format="json")
        assert response.status_code in expected, (
            dialect,
            method,
            path,
            response.content,
        )
        text = response.content.decode()
        for secret in (a.customer.email, a.customer.mobile, str(a.coupon.id)):
            if secret in path or (body and secret in str(body)):
                continue
            assert secret not in text, (path, text)
    assert snapshot(a) == before


def test_list_filters_do_not_leak_another_stores_rows(a, b):
    api = b.client("paynow")
    base = f"/v1/stores/{b.store.id}"
    assert api.get(f"{base}/redemptions?coupon_id={a.coupon.id}").json() == []
    assert api.get(f"{base}/redemptions?customer_id={a.customer.id}").json() == []
    ids = {c["id"] for c in api.get(f"{base}/coupons").json()}
    assert str(a.coupon.id) not in ids
    ids = {c["id"] for c in api.get(f"{base}/customers").json()}
    assert str(a.customer.id) not in ids
    found = b.client("newstore").get(
        f"/v0/d/coupons?filter[code]={a.legacy_coupon.code}"
    )
    assert found.status_code == 200
    assert found.json() == {"items": []}


def test_receiving_another_stores_coupon_says_it_does_not_exist(a, b):
    api = b.client("shoplazza")
    response = api.post(
        "/openapi/2022-01/coupons/receive",
        {"customer_id": str(b.customer.id), "coupon_ids": [str(a.coupon.id)]},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["items"][0]["status"] == 6
    assert Coupon.objects.get(pk=a.coupon.pk).received_count == 0


def test_validate_of_another_stores_code_is_not_found(a, b):
    api = b.client("paynow")
    response = api.post(
        f"/v1/stores/{b.store.id}/coupons/validate",
        {"code": a.coupon.code},
        format="json",
    )
    assert response.json()["reasons"][0]["code"] == "not_found"
