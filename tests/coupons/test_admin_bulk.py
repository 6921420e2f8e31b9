"""Bulk actions on the coupons change list's filter (coupons.admin_bulk): the dry
run's exact counts, the job and what it changes, store scoping and permissions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from coupons.models import Coupon
from jobs.models import Job, Status
from stores.models import StoreMembership
from tests.factories import CouponFactory, SeriesFactory, StoreFactory

pytestmark = pytest.mark.django_db

BULK = reverse("admin:coupons_coupon_bulk")
CHANGELIST = reverse("admin:coupons_coupon_changelist")


@pytest.fixture
def inline_jobs(settings, tmp_path):
    settings.JOBS_RUN_INLINE = True
    settings.CELERY_BROKER_URL = ""
    settings.EXPORT_DIR = tmp_path


@pytest.fixture
def shop():
    store = StoreFactory(code="shop")
    series = SeriesFactory(store=store)
    on = [CouponFactory(store=store, series=series) for _ in range(4)]
    off = CouponFactory(store=store, series=series, enabled=False)
    other = CouponFactory(store=store)
    return {"store": store, "series": series, "on": on, "off": off, "other": other}


def query(shop, **params) -> str:
    values = {"store__id__exact": shop["store"].pk, **params}
    return "?" + "&".join(f"{k}={v}" for k, v in values.items())


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def start(client, url: str, data: dict, capture) -> Job:
    """Confirm a bulk action; the job runs when the request's transaction commits."""
    with capture(execute=True):
        response = client.post(url, {**data, "confirm": "yes"})
    assert response.status_code == 302
    job = Job.objects.get()
    assert response.url == reverse("admin:jobs_job_change", args=[job.pk])
    job.refresh_from_db()
    return job


def staff_client(*stores, view_only: bool = False) -> Client:
    user = User.objects.create_user("manager", password="pw", is_staff=True)
    if view_only:
        user.user_permissions.add(Permission.objects.get(codename="view_coupon"))
    else:
        user.groups.add(Group.objects.get(name="Coupon managers"))
    for store in stores:
        StoreMembership.objects.create(user=user, store=store)
    client = Client()
    client.force_login(user)
    return client


def test_change_list_links_to_the_bulk_page_with_its_filter(admin_client, shop):
    params = {"store__id__exact": shop["store"].pk, "enabled__exact": "1"}
    response = admin_client.get(CHANGELIST, params)
    assert (
        f'href="{BULK}?store__id__exact={shop["store"].pk}&amp;enabled__exact=1"'
        in response.content.decode()
    )


def test_dry_run_counts_exactly_and_starts_nothing(admin_client, shop):
    url = BULK + query(shop, series__id__exact=shop["series"].pk)
    page = admin_client.get(url)
    assert page.status_code == 200
    assert page.context["coupons"].series_id == shop["series"].pk

    response = admin_client.post(url, {"action": "disable", "format": "csv"})

    assert response.status_code == 200
    counts = response.context["counts"]
    assert (counts.matched, counts.to_change) == (5, 4)
    content = response.content.decode()
    assert '<strong class="bulk-matched">5</strong>' in content
    assert '<strong class="bulk-to-change">4</strong>' in content
    assert Job.objects.count() == 0
    assert Coupon.objects.filter(enabled=False).count() == 1


def test_disable_job_changes_only_the_filtered_rows(
    admin_client, shop, inline_jobs, django_capture_on_commit_callbacks
):
    url = BULK + query(shop, series__id__exact=shop["series"].pk, enabled__exact=1)

    job = start(
        admin_client,
        url,
        {"action": "disable", "format": "csv"},
        django_capture_on_commit_callbacks,
    )

    assert job.kind == "bulk_coupons"
    assert job.status == Status.SUCCEEDED
    assert (job.progress_done, job.progress_total) == (4, 4)
    assert job.result["changed"] == 4
    assert job.params["filter"]["enabled"] is True
    disabled = set(Coupon.objects.filter(enabled=False).values_list("pk", flat=True))
    assert disabled == {c.pk for c in shop["on"]} | {shop["off"].pk}
    events = AuditEvent.objects.filter(action="disable")
    assert sorted(events.values_list("coupon_id", flat=True)) == sorted(
        c.pk for c in shop["on"]
    )
    assert set(events.values_list("channel", "actor_label")) == {("admin", "admin")}


def test_rerun_changes_nothing_and_records_nothing(
    admin_client, shop, inline_jobs, django_capture_on_commit_callbacks
):
    url = BULK + query(shop)
    data = {"action": "disable", "format": "csv"}
    start(admin_client, url, data, django_capture_on_commit_callbacks)
    Job.objects.all().delete()
    before = AuditEvent.objects.count()

    dry = admin_client.post(url, data)
    job = start(admin_client, url, data, django_capture_on_commit_callbacks)

    assert (dry.context["counts"].matched, dry.context["counts"].to_change) == (6, 0)
    assert job.result["changed"] == 0
    assert AuditEvent.objects.count() == before == 5


def test_extend_expiry_job(
    admin_client, shop, inline_jobs, django_capture_on_commit_callbacks
):
    now = timezone.now().replace(microsecond=0)
    old, later = now + timedelta(days=2), now + timedelta(days=90)
    Coupon.objects.filter(store=shop["store"]).update(expires_at=old)
    Coupon.objects.filter(pk=shop["on"][0].pk).update(expires_at=later)
    target = now + timedelta(days=30)
    data = {
        "action": "extend_expiry",
        "expires_at_0": target.strftime("%Y-%m-%d"),
        "expires_at_1": target.strftime("%H:%M:%S"),
        "format": "csv",
    }
    url = BULK + query(shop, series__id__exact=shop["series"].pk)

    dry = admin_client.post(url, data)
    job = start(admin_client, url, data, django_capture_on_commit_callbacks)

    assert dry.context["counts"].to_change == 4
    assert job.result["changed"] == 4
    expiries = dict(Coupon.objects.values_list("pk", "expires_at"))
    assert expiries[shop["on"][0].pk] == later
    assert expiries[shop["other"].pk] == old
    assert {expiries[c.pk] for c in [*shop["on"][1:], shop["off"]]} == {target}
    assert AuditEvent.objects.filter(action="extend_expiry").count() == 4


def test_extend_needs_a_future_expiry(admin_client, shop):
    response = admin_client.post(
        BULK + query(shop),
        {
            "action": "extend_expiry",
            "expires_at_0": "2001-01-01",
            "expires_at_1": "0:00",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "expires_at": ["The new expiry must be in the future."]
    }
    assert "counts" not in response.context


def test_export_job_writes_the_filtered_rows(
    admin_client, shop, inline_jobs, django_capture_on_commit_callbacks
):
    job = start(
        admin_client,
        BULK + query(shop, enabled__exact=0),
        {"action": "export", "format": "csv"},
        django_capture_on_commit_callbacks,
    )
    assert job.result["rows"] == 1
    with open(job.result["path"]) as written:
        lines = written.read().splitlines()
    assert lines[1].startswith(f"{shop['off'].pk},{shop['off'].code},")
    assert AuditEvent.objects.count() == 0


def test_without_a_store_a_superuser_is_asked_to_choose_one(admin_client, shop):
    response = admin_client.get(BULK + "?enabled__exact=1")
    assert response.status_code == 302
    assert response.url == CHANGELIST + "?enabled__exact=1"
    assert messages_of(response) == ["Choose a store in the filter first."]


def test_a_filter_it_cannot_carry_is_refused(admin_client, shop):
    response = admin_client.get(BULK + query(shop, created_at__gte="2020-01-01"))
    assert response.status_code == 302
    assert messages_of(response) == [
        "The filter 'created_at__gte' cannot be used for a bulk action."
    ]


def test_store_staff_act_on_their_store_only(
    shop, inline_jobs, django_capture_on_commit_callbacks
):
    theirs = StoreFactory(code="theirs")
    foreign = CouponFactory(store=theirs, code=shop["on"][0].code)
    client = staff_client(shop["store"])
    data = {"action": "disable", "format": "csv"}

    refused = client.post(f"{BULK}?store__id__exact={theirs.pk}", data)
    refused_confirm = client.post(
        f"{BULK}?store__id__exact={theirs.pk}", {**data, "confirm": "yes"}
    )
    # Without the store filter: their one store; the search finds only its code.
    job = start(
        client,
        f"{BULK}?q={foreign.code.lower()}",
        data,
        django_capture_on_commit_callbacks,
    )

    assert refused.status_code == refused_confirm.status_code == 403
    assert job.result["changed"] == 1
    assert Coupon.objects.get(pk=foreign.pk).enabled is True
    assert Coupon.objects.get(pk=shop["on"][0].pk).enabled is False
    assert list(AuditEvent.objects.values_list("coupon_id", flat=True)) == [
        shop["on"][0].pk
    ]


def test_view_only_staff_may_export_but_not_change(shop):
    client = staff_client(shop["store"], view_only=True)
    url = BULK + query(shop)

    assert client.post(url, {"action": "disable", "format": "csv"}).status_code == 403
    exported = client.post(url, {"action": "export", "format": "csv"})

    assert exported.status_code == 200
    assert exported.context["counts"].matched == 6
    assert Coupon.objects.filter(enabled=False).count() == 1


def test_series_action_opens_the_codes_list(admin_client, shop):
    response = admin_client.post(
        reverse("admin:series_series_changelist"),
        {"action": "bulk_codes", "_selected_action": [str(shop["series"].pk)]},
    )
    assert response.status_code == 302
    assert response.url == (
        f"{CHANGELIST}?store__id__exact={shop['store'].pk}"
        f"&series__id__exact={shop['series'].pk}"
    )
    listed = admin_client.get(response.url)
    assert {c.pk for c in listed.context["cl"].result_list} == {
        *(c.pk for c in shop["on"]),
        shop["off"].pk,
    }


def confirm_form(response) -> dict[str, str]:
    """The hidden inputs of the dry-run page's confirm form, as a browser posts them."""
    form = (
        response.content.decode().split('id="bulk-confirm"', 1)[1].split("</form>")[0]
    )
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form))


def test_the_dry_run_page_posts_back_what_it_counted(
    admin_client, shop, inline_jobs, django_capture_on_commit_callbacks
):
    target = (timezone.now() + timedelta(days=30)).replace(second=0, microsecond=0)
    Coupon.objects.filter(store=shop["store"]).update(
        expires_at=target - timedelta(days=29)
    )
    url = BULK + query(shop, enabled__exact=1)
    dry = admin_client.post(
        url,
        {
            "action": "extend_expiry",
            "expires_at_0": target.strftime("%Y-%m-%d"),
            "expires_at_1": target.strftime("%H:%M"),
        },
    )
    posted = confirm_form(dry)
    assert posted["confirm"] == "yes"
    posted.pop("csrfmiddlewaretoken", None)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, posted)

    assert response.status_code == 302
    job = Job.objects.get()
    assert job.params["expires_at"] == target.isoformat()
    assert job.result["changed"] == dry.context["counts"].to_change == 5
    assert set(
        Coupon.objects.filter(expires_at=target).values_list("pk", flat=True)
    ) == {c.pk for c in shop["on"]} | {shop["other"].pk}
