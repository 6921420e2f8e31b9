"""The bulk page (coupons.admin_bulk) refuses a filter it cannot carry with the
change list's redirect and message, never a 500: an unknown store, a parameter
given twice, a NUL in the search."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from coupons.models import Coupon
from jobs.models import Job
from tests.factories import CouponFactory, StoreFactory

pytestmark = pytest.mark.django_db

BULK = reverse("admin:coupons_coupon_bulk")
CHANGELIST = reverse("admin:coupons_coupon_changelist")


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


@pytest.fixture
def store():
    store = StoreFactory(code="shop")
    CouponFactory(store=store)
    return store


@pytest.mark.parametrize("twice", [False, True])
def test_an_unknown_store_is_an_unknown_value(admin_client, store, twice):
    unknown = store.pk + 1
    query = f"?store__id__exact={unknown}"
    if twice:  # QueryDict.items() keeps the last value
        query = f"?store__id__exact={store.pk}&store__id__exact={unknown}"
    given = f"['{store.pk}', '{unknown}']" if twice else f"'{unknown}'"

    response = admin_client.get(BULK + query)

    assert response.status_code == 302
    assert response.url == CHANGELIST + query
    assert messages_of(response) == [f"Unknown value {given} for 'store__id__exact'."]


def test_a_nul_in_the_search_is_refused_and_disables_nothing(
    admin_client, store, django_capture_on_commit_callbacks
):
    query = f"?store__id__exact={store.pk}&q=%00"
    assert admin_client.get(CHANGELIST + query).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            BULK + query, {"action": "disable", "confirm": "yes"}
        )

    assert response.status_code == 302
    assert response.url == CHANGELIST + f"?store__id__exact={store.pk}&q=%00"
    assert messages_of(response) == ["Unknown value '\\x00' for 'q'."]
    assert not Job.objects.exists()
    assert Coupon.objects.filter(enabled=True).count() == 1
    assert not AuditEvent.objects.exists()
