"""Staff admin in a real browser: log in, create a series, generate codes and watch
the job finish, search a code, export CSV, roll back a redemption, and check that a
store-scoped staff user never sees another store's rows."""

from __future__ import annotations

import csv
import importlib
import re

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.db import connection

from coupons.models import Coupon
from jobs.models import Status
from series.models import Series
from stores.models import StoreMembership
from tests.factories import CouponFactory, RedemptionFactory, StoreFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


@pytest.fixture
def jobs_mode(settings):
    # On SQLite the test database lives in memory, shared with the live server
    # thread only: run jobs inline there. PostgreSQL runs them in a real
    # background thread, and the job page refreshes itself until they finish.
    settings.JOBS_RUN_INLINE = connection.vendor == "sqlite"
    settings.SERIES_POOL_TARGET = 10


def log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")


def choose_action(page, live_server, model: str, action: str, *pks) -> None:
    page.goto(f"{live_server.url}/admin/{model}/")
    for pk in pks:
        page.check(f"input[name=_selected_action][value='{pk}']")
    page.select_option("select[name=action]", action)


def run_action(page, live_server, model: str, action: str, *pks) -> None:
    choose_action(page, live_server, model, action, *pks)
    page.click("button[name=index]")


def pick_autocomplete(page, field: str, text: str) -> None:
    page.click(f".field-{field} .select2-selection")
    page.fill(".select2-search__field", text)
    page.click(f".select2-results__option:has-text('{text}')")


def test_staff_run_a_campaign_end_to_end(page, live_server, shoot, jobs_mode, tmp_path):
    User.objects.create_superuser("boss", "boss@example.com", PASSWORD)
    store = StoreFactory(name="Acme Shop", code="acme")

    log_in(page, live_server, "boss")
    assert page.locator("#dashboard").is_visible()
    assert page.locator(".dashboard-store[data-store=acme] svg").count() == 1
    shoot(page, "dashboard")

    # Create a series (through the series service: it gets its first pool).
    page.goto(f"{live_server.url}/admin/series/series/add/")
    pick_autocomplete(page, "store", "Acme Shop")
    page.fill("#id_description", "Spring campaign")
    page.fill("#id_discount_value", "5")
    page.fill("#id_code_prefix", "SPR-")
    page.fill("#id_max_create", "1000")
    shoot(page, "series-form")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    shoot(page, "series-created")
    series = Series.objects.get(description="Spring campaign")
    assert Coupon.objects.filter(series=series, pooled=True).count() == 10

    # Generate codes in the background and watch the job finish.
    run_action(page, live_server, "series/series", "generate_codes", series.pk)
    page.fill("#id_count", "40")
    shoot(page, "generate-form")
    page.click("input[name=apply]")
    page.wait_for_url(re.compile(r"/admin/jobs/job/\d+/change/"))
    shoot(page, "job-page")
    page.wait_for_selector(
        ".job-outcome:has-text('Done. Generated 40 codes; the pool now holds 50.')",
        timeout=60_000,
    )
    shoot(page, "job-done")
    assert series.coupons.filter(pooled=True).count() == 50
    job = series_job(series)
    assert (job.status, job.progress_done, job.progress_total) == (
        Status.SUCCEEDED,
        40,
        40,
    )

    # Search a code, typed in another case.
    code = series.coupons.order_by("id").values_list("code", flat=True).first()
    page.goto(f"{live_server.url}/admin/coupons/coupon/")
    page.fill("#searchbar", code.lower())
    page.press("#searchbar", "Enter")
    page.wait_for_selector("#result_list")
    shoot(page, "search")
    assert page.locator("#result_list tbody tr").count() == 1
    assert page.locator("#result_list tbody tr th a").inner_text() == code

    # Export the series' codes as CSV.
    choose_action(page, live_server, "series/series", "export_codes_csv", series.pk)
    with page.expect_download() as download_info:
        page.click("button[name=index]")
    download = download_info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    with target.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:2] == ["series_id", "code"]
    assert len(rows) == 1 + 50
    assert {row[1] for row in rows[1:]} == set(
        series.coupons.values_list("code", flat=True)
    )
    shoot(page, "after-export")

    # Roll back a redemption, after the confirmation page.
    coupon = CouponFactory(store=store, code="ROLLME")
    Coupon.objects.filter(pk=coupon.pk).update(redeemed_count=1)
    redemption = RedemptionFactory(coupon=coupon)
    run_action(page, live_server, "coupons/redemption", "roll_back", redemption.pk)
    page.wait_for_selector("#rollback-list")
    shoot(page, "rollback-confirm")
    page.click("input[type=submit][value^='Yes, roll back']")
    page.wait_for_selector(".messagelist .success")
    shoot(page, "rolled-back")
    assert "Rolled back 1 redemption(s)." in page.locator(".messagelist").inner_text()
    redemption.refresh_from_db()
    coupon.refresh_from_db()
    assert redemption.rolled_back_at is not None
    assert coupon.redeemed_count == 0


def series_job(series: Series):
    from jobs.models import Job

    return Job.objects.get(kind="generate_codes", params__series_id=str(series.pk))


def test_store_scoped_staff_never_see_another_store(page, live_server, shoot):
    mine = StoreFactory(name="Mine", code="mine")
    theirs = StoreFactory(name="Theirs", code="theirs")
    CouponFactory(store=mine, code="MINE-CODE")
    other = CouponFactory(store=theirs, code="THEIRS-CODE")
    staff = User.objects.create_user("manager", password=PASSWORD, is_staff=True)
    # A transactional test empties the tables, the data migration's group too:
    # make it again, the migration's way.
    importlib.import_module(
        "stores.migrations.0004_coupon_managers_group"
    ).create_group(apps, None)
    staff.groups.add(Group.objects.get(name="Coupon managers"))
    StoreMembership.objects.create(user=staff, store=mine)

    log_in(page, live_server, "manager")
    shoot(page, "dashboard")
    assert page.locator(".dashboard-store").count() == 1
    assert page.locator(".dashboard-store[data-store=mine]").count() == 1

    page.goto(f"{live_server.url}/admin/coupons/coupon/")
    shoot(page, "coupon-list")
    listed = page.locator("#result_list tbody tr th a").all_inner_texts()
    assert listed == ["MINE-CODE"]

    page.fill("#searchbar", "theirs-code")
    page.press("#searchbar", "Enter")
    page.wait_for_selector("#changelist")
    shoot(page, "search-other-store")
    assert page.locator("#result_list tbody tr").count() == 0

    page.goto(f"{live_server.url}/admin/coupons/coupon/{other.pk}/change/")
    shoot(page, "open-other-store")
    assert page.url == f"{live_server.url}/admin/"
    assert "doesn\u2019t exist" in page.locator(".messagelist").inner_text()
