"""Idempotency-Key on writes, and rate limits per API key (PayNow dialect here)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from customers.models import Customer
from stores import idempotency
from stores.models import IdempotencyKey
from tests.factories import ApiKeyFactory, CouponFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def post(api, url, body, key):
    return api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_retry_returns_the_first_response_and_writes_nothing(paynow, store):
    url = f"/v1/stores/{store.id}/customers"
    first = post(paynow, url, {"email": "a@example.com"}, "key-1")
    again = post(paynow, url, {"email": "a@example.com"}, "key-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Customer.objects.count() == 1


def test_an_error_answer_is_replayed_too(paynow, store):
    url = f"/v1/stores/{store.id}/customers"
    first = post(paynow, url, {"email": "not-an-email"}, "key-2")
    again = post(paynow, url, {"email": "not-an-email"}, "key-2")
    assert first.status_code == again.status_code == 400
    assert again.json() == first.json()


def test_same_key_with_another_body_is_refused(paynow, store):
    url = f"/v1/stores/{store.id}/customers"
    post(paynow, url, {"email": "a@example.com"}, "key-3")
    response = post(paynow, url, {"email": "b@example.com"}, "key-3")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "unprocessable-entity"
    assert body["message"].startswith("This Idempotency-Key was used for a different")
    assert Customer.objects.count() == 1


def test_same_key_on_another_path_or_method_is_refused(paynow, store):
    coupon = CouponFactory(store=store)
    url = f"/v1/stores/{store.id}/coupons/{coupon.id}"
    first = paynow.patch(url, {"note": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k4")
    assert first.status_code == 200
    response = paynow.delete(url, HTTP_IDEMPOTENCY_KEY="k4")
    assert response.status_code == 422
    assert paynow.get(url).status_code == 200


def test_delete_is_replayed_with_its_204(paynow, store):
    coupon = CouponFactory(store=store)
    url = f"/v1/stores/{store.id}/coupons/{coupon.id}"
    first = paynow.delete(url, HTTP_IDEMPOTENCY_KEY="del-1")
    again = paynow.delete(url, HTTP_IDEMPOTENCY_KEY="del-1")
    assert (first.status_code, again.status_code) == (204, 204)
    assert paynow.delete(url).status_code == 404


def test_keys_are_per_store(paynow, store, other_store):
    theirs = ApiKeyFactory(store=other_store)
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"APIKey {theirs.token}")
    mine = post(paynow, f"/v1/stores/{store.id}/customers", {"email": "x@e.com"}, "k")
    their = post(
        other, f"/v1/stores/{other_store.id}/customers", {"email": "x@e.com"}, "k"
    )
    assert mine.status_code == their.status_code == 200
    assert mine.json()["id"] != their.json()["id"]
    assert Customer.objects.count() == 2


def test_reads_ignore_the_header(paynow, store):
    url = f"/v1/stores/{store.id}/customers"
    assert paynow.get(url, HTTP_IDEMPOTENCY_KEY="r").status_code == 200
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("key", ["", "x" * 256, "bad\x01key"])
def test_invalid_keys_are_400(paynow, store, key):
    response = post(paynow, f"/v1/stores/{store.id}/customers", {}, key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["message"]
    assert not Customer.objects.exists()


@pytest.mark.parametrize("key", ["İ-1", "ß-1", "ﬁ-1", "k\u00e9y"])
def test_non_ascii_keys_are_400_and_nothing_is_written(paynow, store, key):
    response = post(
        paynow, f"/v1/stores/{store.id}/customers", {"email": "a@example.com"}, key
    )
    assert response.status_code == 400
    body = response.json()
    assert (body["status"], body["code"]) == (400, "bad-request")
    assert body["message"] == (
        "Idempotency-Key must be 1..255 printable ASCII characters."
    )
    assert not Customer.objects.exists()
    assert not IdempotencyKey.objects.exists()


def test_keys_expire_after_the_ttl(paynow, store, settings):
    settings.IDEMPOTENCY_TTL_HOURS = 24
    url = f"/v1/stores/{store.id}/customers"
    post(paynow, url, {"email": "a@example.com"}, "old")
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        response = post(paynow, url, {"email": "b@example.com"}, "old")
        assert response.status_code == 200
        assert "Idempotent-Replayed" not in response
    assert Customer.objects.count() == 2


def test_purge_command_deletes_expired_keys(paynow, store):
    from io import StringIO

    from django.core.management import call_command

    post(paynow, f"/v1/stores/{store.id}/customers", {"email": "a@e.com"}, "p")
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        out = StringIO()
        call_command("purge_idempotency_keys", stdout=out)
    assert out.getvalue().startswith("Deleted 1 idempotency keys")
    assert not IdempotencyKey.objects.exists()


def test_a_key_left_in_progress_by_a_dead_process_is_taken_over(
    paynow, store, settings
):
    """A row committed before the work (as the old scheme did) whose process then
    died: the key is not stuck, the retry runs."""
    settings.IDEMPOTENCY_WAIT_SECONDS = 0.2
    url = f"/v1/stores/{store.id}/customers"
    raw = b'{"email": "a@example.com"}'
    IdempotencyKey.objects.create(
        store=store, key="stuck", fingerprint=idempotency.fingerprint("POST", url, raw)
    )

    def send():
        return paynow.post(
            url, raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY="stuck"
        )

    response = send()
    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response
    again = send()
    assert again.status_code == 200
    assert again.json() == response.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Customer.objects.count() == 1
    record = IdempotencyKey.objects.get(store=store, key="stuck")
    assert (record.status, record.response_status) == ("done", 200)


def test_a_partial_success_of_issue_multiple_is_replayed_exactly(store, settings):
    from assignments.models import Assignment
    from tests.factories import CustomerFactory
    from tests.series.conftest import capillary_client, make_series

    settings.SERIES_POOL_TARGET, settings.SERIES_POOL_LOW = 20, 5
    customer = CustomerFactory(store=store)
    series = make_series(store, max_vouchers_per_user=2)
    api = capillary_client(ApiKeyFactory(store=store))
    body = {"seriesId": series.id, "count": 3, "customer": {"id": customer.id}}

    first = post(api, "/v2/coupon/issue/multiple", body, "issue-3")
    again = post(api, "/v2/coupon/issue/multiple", body, "issue-3")

    assert first.status_code == again.status_code == 200
    answer = first.json()
    assert (answer["successCount"], answer["failureCount"]) == (2, 1)
    assert answer["errors"] == [
        {"status": False, "code": 5002, "message": "max coupon per user exceeded"}
    ]
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert Assignment.objects.filter(series=series, customer=customer).count() == 2


# --- rate limits ---------------------------------------------------------------------


def test_a_keys_rate_limit_answers_429_with_retry_after(store):
    limited = ApiKeyFactory(store=store)
    limited.rate_limit = "3/min"
    limited.save()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"APIKey {limited.token}")
    url = f"/v1/stores/{store.id}/customers"
    statuses = [api.get(url).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = api.get(url)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    body = response.json()
    assert (body["status"], body["code"]) == (429, "too-many-requests")


def test_limits_are_per_key(store, settings):
    settings.API_KEY_RATE_LIMIT = "2/min"
    a, b = ApiKeyFactory(store=store), ApiKeyFactory(store=store)
    url = f"/v1/stores/{store.id}/customers"
    for key in (a, b):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"APIKey {key.token}")
        assert [api.get(url).status_code for _ in range(3)] == [200, 200, 429]


def test_rate_limit_is_editable_in_the_admin(admin_client, api_key):
    url = reverse("admin:stores_apikey_change", args=[api_key.pk])
    response = admin_client.post(url, {"name": "till", "rate_limit": "10/s"})
    assert response.status_code == 302
    api_key.refresh_from_db()
    assert api_key.rate_limit == "10/s"
    response = admin_client.post(url, {"name": "till", "rate_limit": "lots"})
    assert response.status_code == 200
    assert "Use N/s, N/min, N/hour or N/day." in response.content.decode()
