"""The admin's action pages share one head (templates/admin/couponhub/action_page.html):
the form's media, the model's body class, and breadcrumbs back to the change list,
which on the coupons' bulk page keeps the list's filter."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import CouponFactory, SeriesFactory, StoreFactory

pytestmark = pytest.mark.django_db


def breadcrumbs(content: str) -> str:
    start = content.index('<div class="breadcrumbs">')
    return content[start : content.index("</div>", start)]


def test_the_series_action_page_leads_back_to_the_series_list(admin_client):
    series = SeriesFactory()
    changelist = reverse("admin:series_series_changelist")

    response = admin_client.post(
        changelist,
        {"action": "generate_codes", "_selected_action": [str(series.pk)]},
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert [t.name for t in response.templates[:2]] == [
        "admin/series/series/action_form.html",
        "admin/couponhub/action_page.html",
    ]
    assert breadcrumbs(content) == (
        '<div class="breadcrumbs">\n'
        f'<a href="{reverse("admin:index")}">Home</a>\n'
        f'&rsaquo; <a href="{reverse("admin:app_list", args=["series"])}">'
        "Coupon series</a>\n"
        f'&rsaquo; <a href="{changelist}">Series</a>\n'
        f"&rsaquo; {response.context['title']}\n"
    )
    assert "app-series model-series" in content
    assert f'<script src="{reverse("admin:jsi18n")}"></script>' in content


def test_the_bulk_page_leads_back_to_the_coupon_list_with_its_filter(admin_client):
    store = StoreFactory()
    CouponFactory(store=store)
    changelist = reverse("admin:coupons_coupon_changelist")
    query = f"store__id__exact={store.pk}&enabled__exact=1"

    response = admin_client.get(f"{reverse('admin:coupons_coupon_bulk')}?{query}")

    content = response.content.decode()
    assert response.status_code == 200
    assert [t.name for t in response.templates[:2]] == [
        "admin/coupons/coupon/bulk_action.html",
        "admin/couponhub/action_page.html",
    ]
    assert breadcrumbs(content) == (
        '<div class="breadcrumbs">\n'
        f'<a href="{reverse("admin:index")}">Home</a>\n'
        f'&rsaquo; <a href="{reverse("admin:app_list", args=["coupons"])}">'
        "Coupons</a>\n"
        f'&rsaquo; <a href="{changelist}?{query.replace("&", "&amp;")}">'
        "Coupons</a>\n"
        "&rsaquo; Bulk action on the filtered coupons\n"
    )
    assert "app-coupons model-coupon" in content
    assert f'<script src="{reverse("admin:jsi18n")}"></script>' in content
