"""The API docs in a real browser that cannot reach the internet: Chromium starts with
its background networking off and every request to another host is refused here, so
the pages render only if the app serves all they need."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def refuse_other_hosts(page, live_server) -> list[str]:
    refused: list[str] = []

    def route(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    return refused


def test_swagger_ui_renders_the_operations_offline(page, live_server, shoot):
    refused = refuse_other_hosts(page, live_server)

    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(
        ".opblock-summary-path:has-text('/v2/coupon/issue/multiple')", timeout=30_000
    )
    shoot(page, "swagger-ui")

    assert page.locator(".opblock").count() >= 20
    customer_coupons = ".opblock-summary-path:has-text('/v1.1/customer/coupons')"
    assert page.locator(customer_coupons).count() == 1
    assert refused == []


def test_redoc_renders_the_operations_offline(page, live_server, shoot):
    refused = refuse_other_hosts(page, live_server)

    page.goto(f"{live_server.url}/api/redoc/")
    page.wait_for_selector("[data-section-id^='operation/']", timeout=30_000)
    shoot(page, "redoc")

    assert page.locator("[data-section-id^='operation/']").count() >= 20
    assert page.get_by_text("/v2/coupon/issue/multiple", exact=True).count() >= 1
    # ReDoc's bundle always tries its vendor's logo in the menu's footer and drops the
    # image when it fails; nothing else may leave the app.
    assert set(refused) <= {REDOCLY_LOGO}
