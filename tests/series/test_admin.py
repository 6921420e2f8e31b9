"""The series admin: find a series by number, never write back issued_count."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from series.models import Series
from tests.factories import SeriesFactory

pytestmark = pytest.mark.django_db


def series_form_data(series: Series, **overrides: Any) -> dict[str, Any]:
    data = {
        "description": series.description,
        "is_active": "on",
        "discount_code": "",
        "discount_type": series.discount_type,
        "discount_value": str(series.discount_value),
        "discount_upto": "0",
        "discount_on": series.discount_on,
        "min_bill_amount": "0",
        "code_format": series.code_format,
        "generic_code": "",
        "alpha_numeric": "on",
        "random_code_length": "8",
        "code_prefix": "",
        "code_suffix": "",
        "max_create": str(series.max_create),
        "max_vouchers_per_user": "-1",
        "is_multiple_vouchers_per_user_allowed": "on",
        "valid_till_0": "",
        "valid_till_1": "",
        "expiry_strategy_type": series.expiry_strategy_type,
        "expiry_strategy_value": "0",
        "redemption_valid_after_days": "0",
        "max_redemptions_per_coupon": "1",
        "custom_properties": "{}",
    }
    data.update(overrides)
    return data


def test_changelist_loads_with_rows(admin_client):
    SeriesFactory.create_batch(3)

    response = admin_client.get(reverse("admin:series_series_changelist"))

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 3


def test_add_and_change_pages_load(admin_client):
    series = SeriesFactory()

    add = admin_client.get(reverse("admin:series_series_add"))
    change = admin_client.get(reverse("admin:series_series_change", args=[series.pk]))

    assert (add.status_code, change.status_code) == (200, 200)


def test_search_by_series_id_or_description(admin_client):
    spring = SeriesFactory(description="Spring sale")
    SeriesFactory(description="Summer sale")
    url = reverse("admin:series_series_changelist")

    def found(term: str) -> list[Series]:
        return list(admin_client.get(url, {"q": term}).context["cl"].result_list)

    assert found(str(spring.pk)) == [spring]
    assert found("spring") == [spring]
    assert len(found("sale")) == 2


def test_change_keeps_issued_count_moved_while_the_form_was_open(
    admin_client, monkeypatch
):
    series = SeriesFactory(max_create=100)
    Series.objects.filter(pk=series.pk).update(issued_count=3)
    original_save = Series.save

    def issue_concurrently_then_save(self, *args, **kwargs):
        Series.objects.filter(pk=self.pk).update(issued_count=9)
        original_save(self, *args, **kwargs)

    monkeypatch.setattr(Series, "save", issue_concurrently_then_save)

    response = admin_client.post(
        reverse("admin:series_series_change", args=[series.pk]),
        series_form_data(series, description="Renamed"),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    series.refresh_from_db()
    assert (series.description, series.issued_count) == ("Renamed", 9)


def test_cap_below_issued_is_a_form_error(admin_client):
    series = SeriesFactory(max_create=100)
    Series.objects.filter(pk=series.pk).update(issued_count=10)

    response = admin_client.post(
        reverse("admin:series_series_change", args=[series.pk]),
        series_form_data(series, max_create="9"),
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["max_create"] == [
        "10 already issued: the cap cannot be lower."
    ]
    series.refresh_from_db()
    assert series.max_create == 100
