"""The series admin form takes the counts Capillary v2's API takes: -1 or up to
int32 (its OpenAPI's type), with the API's message, never a larger stored value; the
model's constraints speak in words, not by their names."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import SeriesFactory
from tests.series.test_admin import series_form_data

pytestmark = pytest.mark.django_db

INT32 = 2**31 - 1


@pytest.mark.parametrize(
    "field", ["max_create", "max_vouchers_per_user", "max_redemptions_per_coupon"]
)
def test_a_count_above_int32_is_a_form_error(admin_client, field):
    series = SeriesFactory()
    before = getattr(series, field)

    response = admin_client.post(
        reverse("admin:series_series_change", args=[series.pk]),
        series_form_data(series, **{field: str(INT32 + 1)}),
    )

    assert response.status_code == 200
    assert dict(response.context["adminform"].form.errors) == {
        field: ["Ensure this value is less than or equal to 2147483647."]
    }
    series.refresh_from_db()
    assert getattr(series, field) == before


def test_counts_at_int32_are_saved(admin_client):
    series = SeriesFactory()

    response = admin_client.post(
        reverse("admin:series_series_change", args=[series.pk]),
        series_form_data(
            series,
            max_create=str(INT32),
            max_vouchers_per_user=str(INT32),
            max_redemptions_per_coupon=str(INT32),
        ),
    )

    assert response.status_code == 302
    series.refresh_from_db()
    assert (
        series.max_create,
        series.max_vouchers_per_user,
        series.max_redemptions_per_coupon,
    ) == (INT32, INT32, INT32)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "discount_value",
            "-1",
            "discount_value and discount_upto cannot be negative.",
        ),
        ("discount_upto", "-1", "discount_value and discount_upto cannot be negative."),
        ("random_code_length", "65", "random_code_length is 1 to 64."),
    ],
)
def test_a_negative_discount_is_the_constraints_message(
    admin_client, field, value, message
):
    series = SeriesFactory()

    response = admin_client.post(
        reverse("admin:series_series_change", args=[series.pk]),
        series_form_data(series, **{field: value}),
    )

    assert response.status_code == 200
    assert dict(response.context["adminform"].form.errors) == {"__all__": [message]}
