"""Capillary v2 series create: restrictions Couponhub does not enforce are refused,
never answered 200 and then ignored at redemption (attack report 2, item 15)."""

from __future__ import annotations

import pytest

from series.models import Series
from tests.series.conftest import SERIES_URL
from tests.series.test_api_capillary_series import body, error

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("small_pool")]


def refused(field: str, shown: str) -> dict:
    return error(
        f"Invalid request: {field}: Not supported: Couponhub does not enforce this "
        f"restriction. Leave it out, or send null{shown}."
    )


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("maxBillAmount", 5000, " or 0 or -1"),
        ("maxBillAmount", 0.5, " or 0 or -1"),
        ("maxBillAmount", "-1", " or 0 or -1"),
        ("maxRedeem", 10, " or -1"),
        ("maxRedeem", 0, " or -1"),
        ("maxRedemptionsInSeriesPerUser", 1, " or -1"),
        ("sameUserMultipleRedeem", False, " or true"),
        ("sameUserMultipleRedeem", 1, " or true"),
        ("minDaysBetweenVouchers", 3, " or 0"),
        ("minDaysBetweenVouchers", False, " or 0"),
        ("redemptionValidFrom", "2026-12-10", ""),
    ],
)
def test_an_unenforced_restriction_is_400_naming_it(capillary, field, value, shown):
    response = capillary.post(
        SERIES_URL, {"CouponSeriesV2": body(**{field: value})}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == refused(field, shown)
    assert not Series.objects.exists()


def test_the_attack_reports_body_is_refused_on_its_first_unenforced_field(capillary):
    payload = body(
        validTillDate="2027-12-31",
        discountType="PERC",
        discountValue=10,
        maxRedeem=-1,
        anyUser=False,
        sameUserMultipleRedeem=False,
        maxVouchersPerUser=2,
        minDaysBetweenVouchers=0,
        maxRedemptionsInSeriesPerUser=1,
        redemptionValidFrom="2026-12-10",
        minBillAmount=100,
        maxBillAmount=5000,
    )

    response = capillary.post(SERIES_URL, {"CouponSeriesV2": payload}, format="json")

    assert response.status_code == 400
    # The dialect's one message: the first three issues, in the serializer's order.
    assert response.json() == error(
        "Invalid request: maxBillAmount: Not supported: Couponhub does not enforce "
        "this restriction. Leave it out, or send null or 0 or -1.; "
        "maxRedemptionsInSeriesPerUser: Not supported: Couponhub does not enforce "
        "this restriction. Leave it out, or send null or -1.; "
        "sameUserMultipleRedeem: Not supported: Couponhub does not enforce this "
        "restriction. Leave it out, or send null or true. (and 1 more)"
    )
    assert not Series.objects.exists()


def test_values_that_restrict_nothing_are_taken(capillary):
    payload = body(
        maxBillAmount=0,
        maxRedeem=-1,
        maxRedemptionsInSeriesPerUser=-1,
        sameUserMultipleRedeem=True,
        minDaysBetweenVouchers=0,
        redemptionValidFrom=None,
    )
    nulls = body(
        maxBillAmount=None,
        maxRedeem=None,
        maxRedemptionsInSeriesPerUser=None,
        sameUserMultipleRedeem=None,
        minDaysBetweenVouchers=None,
        description="nulls",
    )

    first = capillary.post(SERIES_URL, payload, format="json")
    second = capillary.post(SERIES_URL, {"CouponSeriesV2": nulls}, format="json")
    third = capillary.post(SERIES_URL, body(maxBillAmount=-1), format="json")
    fourth = capillary.post(SERIES_URL, body(maxBillAmount=0.0), format="json")

    assert [r.status_code for r in (first, second, third, fourth)] == [200] * 4
    assert first.json()["warnings"] == []
    assert Series.objects.count() == 4


def test_the_schema_names_the_values_taken(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    fields = schema["components"]["schemas"]["CouponSeriesV2InputRequest"]["properties"]
    components = schema["components"]["schemas"]

    def said(value: int | str) -> str:
        return (
            f"Not enforced by Couponhub: only null{value} (no restriction) is taken, "
            "else 400."
        )

    assert fields["maxBillAmount"] == {
        "nullable": True,
        "description": said(" or 0 or -1"),
        "oneOf": [
            {"$ref": "#/components/schemas/MaxBillAmountEnum"},
            {"$ref": "#/components/schemas/NullEnum"},
        ],
    }
    assert components["MaxBillAmountEnum"] == {"type": "number", "enum": [0, -1]}
    for name, value in [
        ("maxRedeem", -1),
        ("maxRedemptionsInSeriesPerUser", -1),
        ("minDaysBetweenVouchers", 0),
    ]:
        assert fields[name] == {
            "type": "integer",
            "nullable": True,
            "minimum": value,
            "maximum": value,
            "description": said(f" or {value}"),
        }
    assert fields["sameUserMultipleRedeem"]["description"] == said(" or true")
    assert fields["redemptionValidFrom"] == {
        "type": "string",
        "nullable": True,
        "description": said(""),
    }
