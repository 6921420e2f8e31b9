"""The operators' store and API key commands."""

from __future__ import annotations

import base64
import hashlib
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient, APIRequestFactory

from coupons.models import Coupon
from customers.models import Customer
from series.models import Series
from stores.auth import CapillaryBasicAuthentication
from stores.models import ApiKey, Outlet, Store
from tests.factories import OutletFactory, StoreFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def run_json(*args: str):
    return json.loads(run(*args, "--json"))


def test_create_store_prints_json_with_string_flake_id():
    data = run_json(
        "create_store", "--name", "Acme", "--code", "acme", "--timezone", "Asia/Kolkata"
    )
    store = Store.objects.get(code="acme")
    assert data["id"] == str(store.id)
    assert (data["name"], data["code"]) == ("Acme", "acme")
    assert store.timezone == "Asia/Kolkata"
    assert store.currency == "USD"


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--timezone", "Mars/Olympus", "Unknown time zone"),
        ("--currency", "euro", "three-letter"),
    ],
)
def test_create_store_rejects_bad_settings(flag, value, message):
    with pytest.raises(CommandError, match=message):
        run("create_store", "--name", "X", "--code", "x", flag, value)
    assert not Store.objects.exists()


def test_create_store_refuses_a_taken_code():
    StoreFactory(code="taken")
    with pytest.raises(CommandError, match="already exists"):
        run("create_store", "--name", "X", "--code", "taken")


def test_update_store_deactivates_and_changes_settings_by_id_or_code():
    store = StoreFactory(code="shop")
    data = run_json(
        "update_store", "--store", str(store.id), "--inactive", "--currency", "EUR"
    )
    assert data["is_active"] is False
    assert data["currency"] == "EUR"
    run("update_store", "--store", "shop", "--active", "--timezone", "Europe/Berlin")
    store.refresh_from_db()
    assert (store.is_active, store.timezone) == (True, "Europe/Berlin")


def test_update_store_unknown_store_fails_clearly():
    with pytest.raises(CommandError, match="not found"):
        run("update_store", "--store", "nope", "--inactive")


def test_create_outlet_and_duplicate_code():
    store = StoreFactory()
    data = run_json(
        "create_outlet",
        "--store",
        str(store.id),
        "--code",
        "store_001",
        "--name",
        "Main",
    )
    outlet = Outlet.objects.get(store=store, code="store_001")
    assert data == {
        "id": str(outlet.id),
        "store_id": str(store.id),
        "code": "store_001",
        "name": "Main",
    }
    with pytest.raises(CommandError, match="already has an outlet"):
        run(
            "create_outlet",
            "--store",
            str(store.id),
            "--code",
            "store_001",
            "--name",
            "X",
        )


def test_create_api_key_prints_secret_once_and_stores_only_hashes():
    store = StoreFactory()
    data = run_json(
        "create_api_key", "--store", str(store.id), "--scopes", "coupons:read,series"
    )
    assert set(data) == {"key_id", "secret", "token"}
    assert data["token"] == f"{data['key_id']}.{data['secret']}"
    key = ApiKey.objects.get(key_id=data["key_id"])
    assert key.scopes == ["coupons:read", "series"]
    stored = {f.attname: getattr(key, f.attname) for f in ApiKey._meta.concrete_fields}
    assert data["secret"] not in json.dumps(stored, default=str)
    assert key.secret_hash == hashlib.sha256(data["secret"].encode()).hexdigest()


def test_created_key_authenticates_in_paynow_and_capillary_forms():
    store = StoreFactory()
    data = run_json("create_api_key", "--store", str(store.id))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"APIKey {data['token']}")
    assert api.get(f"/v1/stores/{store.id}/customers").status_code == 200
    md5 = hashlib.md5(data["secret"].encode()).hexdigest()
    basic = base64.b64encode(f"{data['key_id']}:{md5}".encode()).decode()
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Basic {basic}")
    _user, api_key = CapillaryBasicAuthentication().authenticate(request)
    assert api_key.key_id == data["key_id"]


def test_create_api_key_bound_to_an_outlet():
    outlet = OutletFactory(code="store_002")
    data = run_json(
        "create_api_key", "--store", str(outlet.store_id), "--outlet", "store_002"
    )
    assert ApiKey.objects.get(key_id=data["key_id"]).outlet == outlet


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scopes", "coupons:read,root"], "Unknown scope"),
        (["--scopes", ","], "at least one scope"),
        (["--outlet", "missing"], "has no outlet"),
    ],
)
def test_create_api_key_bad_input(args, message):
    store = StoreFactory()
    with pytest.raises(CommandError, match=message):
        run("create_api_key", "--store", str(store.id), *args)
    assert not ApiKey.objects.exists()


def test_revoke_then_list_api_keys():
    store = StoreFactory()
    data = run_json("create_api_key", "--store", str(store.id))
    run("revoke_api_key", "--key-id", data["key_id"])
    listed = run_json("list_api_keys", "--store", str(store.id))
    assert len(listed) == 1
    assert listed[0]["key_id"] == data["key_id"]
    assert listed[0]["revoked_at"] is not None
    assert "secret" not in json.dumps(listed)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"APIKey {data['token']}")
    response = api.get(f"/v1/stores/{store.id}/customers")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_revoke_unknown_key():
    with pytest.raises(CommandError, match="No API key"):
        run("revoke_api_key", "--key-id", "chk_nope")


def test_load_demo_twice_duplicates_nothing():
    first = run("load_demo")
    assert "APIKey chk_" in first
    assert "curl -H 'Authorization: APIKey " in first
    counts = {model: model.objects.count() for model in (Store, Outlet, ApiKey)}
    more = {model: model.objects.count() for model in (Coupon, Customer, Series)}
    second = run("load_demo")
    assert "exists already" in second
    assert "create_api_key" in second
    assert {m: m.objects.count() for m in counts} == counts
    assert {m: m.objects.count() for m in more} == more
    assert all(more.values())


def test_load_demo_token_works():
    output = run("load_demo")
    token = output.split("API token (all scopes): ")[1].split()[0]
    store = Store.objects.get(code="demo")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"APIKey {token}")
    response = api.get(f"/v1/stores/{store.id}/customers")
    assert response.status_code == 200
    assert len(response.json()) == 3


def test_ensure_local_admin_needs_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        run("ensure_local_admin")


def test_ensure_local_admin_prints_a_password_that_works(settings):
    settings.DEBUG = True
    output = run("ensure_local_admin")
    password = output.rsplit("password: ", 1)[1].strip()
    browser = Client()
    assert browser.login(username="admin", password=password)
    assert browser.get("/admin/").status_code == 200
