"""The API docs are served whole by the app: no CDN, so they work with no internet."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db

PAGES = {
    "/api/docs/": [
        "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css",
        "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
        "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-standalone-preset.js",
    ],
    "/api/redoc/": ["drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"],
}


def asset_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+\.(?:js|css|png))"', html)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_docs_page_loads_only_assets_of_the_app(client, page):
    response = client.get(page)

    assert response.status_code == 200
    html = response.content.decode()
    urls = asset_urls(html)
    assert sorted(url.removeprefix("/static/") for url in urls if "sidecar" in url) == (
        sorted(
            [*PAGES[page], "drf_spectacular_sidecar/swagger-ui-dist/favicon-32x32.png"]
            if page == "/api/docs/"
            else PAGES[page]
        )
    )
    # Nothing is fetched from another host.
    assert [url for url in urls if not url.startswith("/static/")] == []
    assert "cdn.jsdelivr.net" not in html
    assert "@latest" not in html


@pytest.mark.parametrize(
    "asset",
    [asset for assets in PAGES.values() for asset in assets],
)
def test_docs_assets_are_served_by_the_app(client, asset):
    response = client.get(f"/static/{asset}")

    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert len(body) > 10_000
    expected = "text/css" if asset.endswith(".css") else "text/javascript"
    assert response["Content-Type"].startswith(expected)


def test_schema_the_docs_read_lists_the_dialects(client):
    response = client.get(
        "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/v1/stores/{store_id}/coupons",
        "/openapi/2022-01/coupons/receive",
        "/v2/coupon/issue/multiple",
        "/v1.1/customer/coupons",
        "/v0/d/coupons",
    ):
        assert path in paths
