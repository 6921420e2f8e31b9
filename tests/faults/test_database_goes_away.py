"""The database connection dies in the middle of a write: 503, nothing half-written."""

from __future__ import annotations

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from core import sql
from coupons.models import Coupon, Redemption
from tests.factories import ApiKeyFactory, CouponFactory, StoreFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _kill_backend(pid: int) -> None:
    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname=connection.settings_dict["NAME"],
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_redemption_answers_503_and_writes_nothing(monkeypatch):
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    coupon = CouponFactory(
        store=store,
        code="FAULT",
        redeem_limit_store_enabled=True,
        redeem_limit_store_amount=1,
    )
    original = sql.write

    def write_then_die(*groups, **kwargs):
        # The redemption row, its audit event and the counter are written; the
        # connection dies before the transaction commits.
        written = original(*groups, **kwargs)
        # The server's own pid, asked inside the transaction: behind PgBouncer the
        # client connection's backend_pid is the pooler's, not a server's.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (pid,) = cursor.fetchone()
        _kill_backend(pid)
        return written

    monkeypatch.setattr(sql, "write", write_then_die)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"APIKey {key.token}")
    response = api.post(
        f"/v1/stores/{store.id}/redemptions", {"code": "FAULT"}, format="json"
    )
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["code"]) == (503, "service-unavailable")
    assert response["Retry-After"] == "5"
    monkeypatch.undo()
    connection.close()
    assert not Redemption.objects.exists()
    assert Coupon.objects.get(pk=coupon.pk).redeemed_count == 0
    retry = api.post(
        f"/v1/stores/{store.id}/redemptions", {"code": "FAULT"}, format="json"
    )
    assert retry.status_code == 200
