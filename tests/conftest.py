from __future__ import annotations

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from core import flake
from tests.factories import ApiKeyFactory, StoreFactory


@pytest.fixture(autouse=True)
def _fresh_flake_clock():
    """Tests that travel in time leave the module's generator ahead of the real clock
    (by design it never goes back); give each test a fresh one."""
    yield
    flake._generator = None


@pytest.fixture(autouse=True)
def _fresh_content_types():
    """A test that flushes the database (transaction=True) or migrates it makes new
    content type rows; a process-wide cache of the old ids would then point the
    admin's log entries at rows that are gone (a foreign-key error at commit)."""
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
    yield
    ContentType.objects.clear_cache()


@pytest.fixture
def store(db):
    return StoreFactory()


@pytest.fixture
def other_store(db):
    return StoreFactory()


@pytest.fixture
def base(store):
    """The native API's root for ``store``."""
    return f"/v1/stores/{store.id}"


@pytest.fixture
def api_key(store):
    return ApiKeyFactory(store=store)


@pytest.fixture
def client() -> APIClient:
    return APIClient()


@pytest.fixture
def paynow(api_key) -> APIClient:
    """A client sending ``Authorization: APIKey <token>`` for ``store``."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"APIKey {api_key.token}")
    return api


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres`` need real row locks and concurrent connections."""
    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL=postgres://...)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
