"""A path under a dialect's prefix that no route matches is a 404 in that dialect's
error body (``core.routing.not_found``), and a ``Host`` outside ``ALLOWED_HOSTS`` its
400 (``core.routing.bad_request``), not Django's HTML pages; PayNow's routes take a
trailing slash, as ASP.NET's do (``core.routing.PayNowTrailingSlash``)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.paynow import coupon_body, error_body, native_client

TRACE = "not-found-test"

CAPILLARY_V2 = {"errors": [{"status": False, "code": 404, "message": "Not found."}]}
CAPILLARY_V11 = {
    "response": {"status": {"success": "false", "code": 404, "message": "Not found."}}
}
NEWSTORE = {"error_code": "not_found", "message": "Not found."}
SHOPLAZZA = {"errors": ["Not Found"]}
OAUTH = {"data": None, "errors": [{"code": 404, "message": "Not found."}]}
PAYNOW = error_body(404, "not-found", "Not found.", trace=TRACE)


@pytest.fixture
def anonymous() -> APIClient:
    api = APIClient()
    api.credentials(HTTP_X_REQUEST_ID=TRACE)
    return api


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/openapi/2022-01/coupons/receive/", SHOPLAZZA),
        ("post", "/openapi/2022-01/coupons/give", SHOPLAZZA),
        ("get", "/v1.1/customer/coupons/", CAPILLARY_V11),
        ("post", "/v1.1/coupon/redeem/", CAPILLARY_V11),
        ("get", "/v0/d/coupons/", NEWSTORE),
        ("get", "/v0/d/no_such_thing", NEWSTORE),
        ("get", "/v2/coupon/series/", CAPILLARY_V2),
        ("post", "/v2/coupon/issue/single", CAPILLARY_V2),
        ("post", "/v3/oauth/token/generate/", OAUTH),
        ("get", "/v1/stores/1//coupons", PAYNOW),
        ("get", "/v1/stores/1/coupons/1/extra", PAYNOW),
        ("get", "/v1/stores/1/coupons//", PAYNOW),
        ("get", "/v1/no-such-thing", PAYNOW),
        ("get", "/v1/", PAYNOW),
        ("get", "/v1", PAYNOW),
    ],
)
def test_an_unknown_api_path_is_the_dialects_json_404(anonymous, method, path, body):
    response = getattr(anonymous, method)(path, {}, format="json")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == body


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/no/such/page", "/v1.2/coupons", "/v10/x"])
def test_other_unknown_paths_keep_djangos_html_404(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert b"<h1>Not Found</h1>" in response.content


def test_paynow_routes_take_a_trailing_slash(api_key, base):
    api = native_client(api_key, trace=TRACE)

    created = api.post(f"{base}/coupons/", coupon_body(code="SLASH-1"), format="json")
    assert created.status_code == 200, created.json()
    coupon = created.json()
    assert coupon["code"] == "SLASH-1"

    listed = api.get(f"{base}/coupons/")
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()] == [coupon["id"]]

    got = api.get(f"{base}/coupons/{coupon['id']}/")
    assert (got.status_code, got.json()) == (200, coupon)

    patched = api.patch(
        f"{base}/coupons/{coupon['id']}/", {"note": "slashed"}, format="json"
    )
    assert (patched.status_code, patched.json()["note"]) == (200, "slashed")

    deleted = api.delete(f"{base}/coupons/{coupon['id']}/")
    assert deleted.status_code == 204
    gone = api.get(f"{base}/coupons/{coupon['id']}/")
    assert (gone.status_code, gone.json()) == (
        404,
        error_body(404, "not-found", "Coupon not found.", trace=TRACE),
    )


def test_paynow_trailing_slash_still_authenticates(client, base):
    # The slash reaches the route, and with it the route's 401.
    response = client.get(f"{base}/coupons/", HTTP_X_REQUEST_ID=TRACE)

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/v1/stores/1/coupons",
            error_body(400, "bad-request", "Bad Request.", trace=TRACE),
        ),
        ("/openapi/2022-01/coupons/receive", {"errors": ["Bad Request."]}),
        (
            "/v1.1/customer/coupons",
            {
                "response": {
                    "status": {
                        "success": "false",
                        "code": 400,
                        "message": "Bad Request.",
                    }
                }
            },
        ),
        (
            "/v2/coupon/series",
            {"errors": [{"status": False, "code": 400, "message": "Bad Request."}]},
        ),
        (
            "/v3/oauth/token/generate",
            {"data": None, "errors": [{"code": 400, "message": "Bad Request."}]},
        ),
        ("/v0/d/coupons", {"error_code": "bad_request", "message": "Bad Request."}),
    ],
)
def test_a_host_outside_allowed_hosts_is_the_dialects_400(
    anonymous, settings, path, body
):
    settings.ALLOWED_HOSTS = ["testserver"]

    response = anonymous.get(path, HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == body


def test_a_host_outside_allowed_hosts_elsewhere_keeps_djangos_html_400(
    client, settings
):
    settings.ALLOWED_HOSTS = ["testserver"]

    response = client.get("/admin/", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert b"<h1>Bad Request (400)</h1>" in response.content
