"""Every stored instant renders in every store's time zone (core.timefmt): a time
past 9999-12-30 UTC (9999-12-31T23:59:59Z is year 10000 in Berlin) is refused by
every input, and a row stored before that rule is shown, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from audit.models import AuditEvent
from coupons.models import Coupon
from tests.coupons.test_admin import coupon_form_data
from tests.coupons.test_api_paynow import body as paynow_body
from tests.customers.test_api_capillary import capillary
from tests.factories import (
    ApiKeyFactory,
    AssignmentFactory,
    CouponFactory,
    CustomerFactory,
    SeriesFactory,
    StoreFactory,
)
from tests.paynow import validation_error

pytestmark = pytest.mark.django_db

LAST_DAY = "9999-12-31T23:59:59.000Z"
STORED_LAST_DAY = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
OUT_OF_RANGE = "The date-time is out of range (0001-01-02 to 9999-12-30 UTC)."


@pytest.fixture
def berlin(db):
    return StoreFactory(timezone="Europe/Berlin", code="berlin")


def test_v11_customer_coupons_shows_a_stored_year_9999_expiry_in_utc(berlin):
    customer = CustomerFactory(store=berlin, mobile="9988776655")
    coupon = CouponFactory(store=berlin, expires_at=STORED_LAST_DAY)
    AssignmentFactory(store=berlin, coupon=coupon, customer=customer)
    api = capillary(ApiKeyFactory(store=berlin))

    response = api.get("/v1.1/customer/coupons", {"mobile": "9988776655"})

    assert response.status_code == 200, response.content
    (customer_body,) = response.json()["response"]["customers"]["customer"]
    (rendered,) = customer_body["coupons"]["coupon"]
    assert rendered["valid_till"] == "9999-12-31 23:59:59"


def test_v2_series_shows_a_stored_year_9999_valid_till_in_utc(berlin):
    series = SeriesFactory(store=berlin, valid_till=STORED_LAST_DAY)
    api = capillary(ApiKeyFactory(store=berlin, scopes=["series"]))

    response = api.get("/v2/coupon/series", {"ids": series.id})

    assert response.status_code == 200, response.content
    (entity,) = response.json()["entity"]
    assert entity["validTillDate"] == "9999-12-31T23:59:59+00:00"


def paynow_error(path: str) -> dict:
    return validation_error(path, "out_of_range", OUT_OF_RANGE)


def test_paynow_patch_to_year_9999_is_a_400_and_changes_nothing(paynow, store):
    coupon = CouponFactory(store=store, expires_at=None)
    url = f"/v1/stores/{store.pk}/coupons/{coupon.pk}"

    response = paynow.patch(url, {"expires_at": LAST_DAY}, format="json")

    assert response.status_code == 400, response.content
    body = response.json()
    assert (body["status"], body["code"]) == (400, "bad-request")
    assert body["errors"] == [paynow_error("expires_at")]
    coupon.refresh_from_db()
    assert coupon.expires_at is None
    assert not AuditEvent.objects.exists()


def test_paynow_accepts_the_latest_instant(paynow, store):
    coupon = CouponFactory(store=store, expires_at=None)
    url = f"/v1/stores/{store.pk}/coupons/{coupon.pk}"

    response = paynow.patch(
        url, {"expires_at": "9999-12-30T23:59:59.999Z"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["expires_at"] == "9999-12-30T23:59:59.999Z"


def test_paynow_create_with_a_year_9999_start_is_a_400(paynow, store):
    response = paynow.post(
        f"/v1/stores/{store.pk}/coupons",
        paynow_body(usable_at=LAST_DAY),
        format="json",
    )

    assert response.status_code == 400, response.content
    assert response.json()["errors"] == [paynow_error("usable_at")]
    assert not Coupon.objects.exists()


def test_admin_coupon_form_refuses_year_9999(admin_client):
    coupon = CouponFactory(code="SPRING25", expires_at=None)

    response = admin_client.post(
        reverse("admin:coupons_coupon_change", args=[coupon.pk]),
        coupon_form_data(expires_at_0="9999-12-31", expires_at_1="23:59:59"),
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"expires_at": [OUT_OF_RANGE]}
    coupon.refresh_from_db()
    assert coupon.expires_at is None


def test_admin_bulk_extend_to_year_9999_is_a_form_error(admin_client, berlin):
    coupon = CouponFactory(store=berlin, expires_at=datetime(2030, 1, 1, tzinfo=UTC))

    response = admin_client.post(
        reverse("admin:coupons_coupon_bulk") + f"?store__id__exact={berlin.pk}",
        {
            "action": "extend_expiry",
            "expires_at_0": "9999-12-31",
            "expires_at_1": "23:59:59",
            "confirm": "yes",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"expires_at": [OUT_OF_RANGE]}
    coupon.refresh_from_db()
    assert coupon.expires_at == datetime(2030, 1, 1, tzinfo=UTC)


def test_bulk_command_refuses_year_9999(berlin):
    coupon = CouponFactory(store=berlin, expires_at=datetime(2030, 1, 1, tzinfo=UTC))

    with pytest.raises(CommandError) as refused:
        call_command(
            "bulk_coupons",
            "--store=berlin",
            "--action=extend_expiry",
            "--expires-at=9999-12-31T23:59:59Z",
            stdout=StringIO(),
            stderr=StringIO(),
        )

    assert str(refused.value) == OUT_OF_RANGE
    coupon.refresh_from_db()
    assert coupon.expires_at == datetime(2030, 1, 1, tzinfo=UTC)
    assert not AuditEvent.objects.exists()
