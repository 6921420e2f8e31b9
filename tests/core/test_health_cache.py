"""``/healthz`` reports the cache (issue 16, item 6): a cache that is down is
``degraded`` with 200 while the database answers, 503 when the database does not.
Before: the cache was not looked at, so a dead Redis answered ``{"status": "ok"}``.
"""

from __future__ import annotations

import time

import pytest
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper

from core import cache as shared_cache
from tests.stores.cache_servers import (
    REDIS_URL,
    black_hole,
    closed_port,
    needs_redis,
    production_caches,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_breaker():
    shared_cache.reset()
    yield
    shared_cache.reset()


def test_healthz_with_a_live_redis(client, settings, monkeypatch):
    needs_redis()
    settings.CACHES = production_caches(monkeypatch, REDIS_URL)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up", "cache": "up"}


def test_healthz_with_a_dead_redis_is_degraded_not_down(client, settings, monkeypatch):
    with closed_port() as url:
        settings.CACHES = production_caches(monkeypatch, url)
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "up", "cache": "down"}


def test_healthz_with_a_silent_redis_answers_promptly(client, settings, monkeypatch):
    with black_hole() as url:
        settings.CACHES = production_caches(monkeypatch, url)
        started = time.monotonic()
        response = client.get("/healthz")
        elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "up", "cache": "down"}
    assert elapsed < 3  # redis-py's default would wait 5 s


def test_healthz_503_when_the_database_and_the_cache_are_down(
    client, settings, monkeypatch
):
    def refuse(self):
        raise OperationalError("connection refused")

    with closed_port() as url:
        settings.CACHES = production_caches(monkeypatch, url)
        monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", refuse)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "down",
        "cache": "down",
    }
