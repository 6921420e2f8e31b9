"""Health check and the OpenAPI schema."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper

pytestmark = pytest.mark.django_db


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up"}


def test_healthz_503_when_the_database_is_unreachable(client, monkeypatch):
    def refuse(self):
        raise OperationalError("connection refused")

    # The connection itself fails (as when PostgreSQL is down); no query is faked.
    monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "down"}


def test_openapi_schema_describes_endpoints_and_auth(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert "/v1/stores/{store_id}/customers" in schema["paths"]
    assert "/v1/stores/{store_id}/customers/{customer_id}" in schema["paths"]
    schemes = schema["components"]["securitySchemes"]
    assert schemes["PayNowAPIKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`APIKey <token>` (the bare `<token>` is accepted too).",
    }
    listing = schema["paths"]["/v1/stores/{store_id}/customers"]["get"]
    assert listing["security"] == [{"PayNowAPIKey": []}]
    assert {"200", "400", "401", "403"} <= set(listing["responses"])


def test_swagger_ui_page(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
