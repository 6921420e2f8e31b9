"""Health check and the OpenAPI schema."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper

pytestmark = pytest.mark.django_db


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up", "cache": "local"}


def test_healthz_503_when_the_database_is_unreachable(client, monkeypatch):
    def refuse(self):
        raise OperationalError("connection refused")

    # The connection itself fails (as when PostgreSQL is down); no query is faked.
    monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "down",
        "cache": "local",
    }


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


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    root = Path(__file__).resolve().parents[2]
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "DJANGO_SETTINGS_MODULE", "SECURE_SSL_REDIRECT"}
    }
    env.update(
        SECRET_KEY="x" * 20 + "production-like-secret-key-for-the-check-0123456789",
        ALLOWED_HOSTS="coupons.example.com",
        # The README's production recipe: a shared cache (not contacted by the check).
        CACHE_URL="redis://127.0.0.1:6379/1",
        DJANGO_SETTINGS_MODULE="config.settings.base",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    root = Path(__file__).resolve().parents[2]
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
