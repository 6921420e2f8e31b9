"""Pooled codes are inventory, not coupons (DESIGN.md invariant 6; issue 16 item 1,
issue 17 item 3): no vendor API lists, reads or changes one, the claim issues only
live codes, an issued code redeems the coupon it was issued as, and the series'
remaining capacity counts only codes that can still be issued."""

from __future__ import annotations

import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from assignments.models import Assignment
from audit.models import AuditEvent
from core.errors import DomainError
from coupons import services as coupon_services
from coupons.models import Coupon
from series import errors
from series import pool as series_pool
from series.models import Series
from tests.factories import CouponFactory, CustomerFactory
from tests.legacy.factories import bearer
from tests.paynow import coupon_body
from tests.series.conftest import ISSUE_URL, make_series

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("small_pool")]

NOT_FOUND = {"status": 404, "code": "not-found", "message": "Coupon not found."}


@pytest.fixture
def url(store) -> str:
    return f"/v1/stores/{store.id}/coupons"


@pytest.fixture
def series(store) -> Series:
    """A random series with its first pool: 20 codes (``small_pool``)."""
    return make_series(store)


@pytest.fixture
def holder(store):
    return CustomerFactory(store=store, mobile="919800000001")


def pool_of(series: Series) -> list[Coupon]:
    """The series' pooled rows in id order (the order a claim takes them)."""
    return list(Coupon.objects.filter(series=series, pooled=True).order_by("id"))


def listed(paynow, url: str, query: str = "") -> list[str]:
    response = paynow.get(f"{url}?limit=100{query}")
    assert response.status_code == 200, response.content
    return [coupon["code"] for coupon in response.json()]


def assert_not_found(response) -> None:
    assert response.status_code == 404, response.content
    data = response.json()
    assert list(data) == ["status", "code", "message", "trace_id", "errors"]
    assert {key: data[key] for key in NOT_FOUND} == NOT_FOUND


def issue(capillary, series: Series, customer, count: int):
    return capillary.post(
        ISSUE_URL,
        {
            "seriesId": series.id,
            "count": count,
            "customer": {"mobile": customer.mobile},
        },
        format="json",
    )


def issued_codes(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [coupon["code"] for coupon in response.json()["coupons"]]


def redeem(paynow, store, code: str, customer):
    return paynow.post(
        f"/v1/stores/{store.id}/redemptions",
        {"code": code, "customer_id": str(customer.id), "order_value": 10_000},
        format="json",
    )


def hundred_percent(code: str) -> dict:
    """A PayNow CreateCouponDto: 100 % off, open to everyone."""
    return coupon_body(code=code, discount_type="percent", discount_amount=1000)


def assert_issued_codes_redeem_their_own_coupons(paynow, store, customer) -> None:
    """Every code the customer was issued redeems the very coupon it was issued as,
    and that coupon is live and enabled (nobody holds a dead code)."""
    held = list(Assignment.objects.filter(customer=customer).select_related("coupon"))
    assert held
    for assignment in held:
        coupon = assignment.coupon
        assert (coupon.enabled, coupon.archived_at, coupon.pooled) == (
            True,
            None,
            False,
        )
        response = redeem(paynow, store, coupon.code, customer)
        assert response.status_code == 200, response.content
        assert response.json()["coupon_id"] == str(coupon.id)


# --- the vendor APIs do not see the pool ---------------------------------------------


def test_paynow_lists_no_pooled_code_with_or_without_a_type(paynow, url, store, series):
    manual = CouponFactory(store=store, code="MANUAL-1")
    assert len(pool_of(series)) == 20

    assert listed(paynow, url) == ["MANUAL-1"]
    assert listed(paynow, url, "&type=all") == ["MANUAL-1"]
    assert listed(paynow, url, "&type=manual") == ["MANUAL-1"]
    assert listed(paynow, url, "&type=generated") == []
    assert listed(paynow, url, "&status=active") == ["MANUAL-1"]
    assert listed(paynow, url, "&status=active&type=generated") == []
    assert listed(paynow, url, "&asc=true") == ["MANUAL-1"]
    # Keyset pages over the pool (made before the manual coupon) show none of it.
    assert listed(paynow, url, f"&before={manual.id}") == []
    assert listed(paynow, url, f"&after={pool_of(series)[10].id}") == [manual.code]


def test_paynow_cannot_read_patch_or_delete_a_pooled_code(paynow, url, series):
    for coupon in pool_of(series)[:3]:
        assert_not_found(paynow.get(f"{url}/{coupon.id}"))
        assert_not_found(
            paynow.patch(
                f"{url}/{coupon.id}",
                {"enabled": False, "code": "STOLEN", "discount_amount": 1000},
                format="json",
            )
        )
        assert_not_found(paynow.delete(f"{url}/{coupon.id}"))

    pool = pool_of(series)
    assert len(pool) == 20
    assert all(c.enabled and c.archived_at is None for c in pool)
    assert not any(c.code == "STOLEN" for c in pool)
    assert not AuditEvent.objects.filter(coupon_id__in=[c.id for c in pool]).exists()


def test_newstore_does_not_read_or_change_a_pooled_code(api_key, series):
    # No path makes a legacy coupon pooled; the read path excludes one all the same.
    coupon = pool_of(series)[0]
    Coupon.objects.filter(pk=coupon.pk).update(legacy_uuid=uuid.uuid4())
    coupon.refresh_from_db()
    newstore = bearer(api_key)
    url = f"/v0/d/coupons/{coupon.legacy_uuid}"

    found = newstore.get("/v0/d/coupons", {"filter[code]": coupon.code})
    assert (found.status_code, found.json()) == (200, {"items": []})
    for response in (
        newstore.put(url, {"is_enabled": False}),
        newstore.patch(url, {"is_enabled": False}),
    ):
        assert response.status_code == 404, response.content
        assert response.json() == {
            "error_code": "not_found",
            "message": "Coupon not found.",
        }
    coupon.refresh_from_db()
    assert (coupon.pooled, coupon.enabled) == (True, True)


def test_issued_series_codes_are_coupons_and_stay_visible(
    paynow, url, store, series, capillary, holder
):
    CouponFactory(store=store, code="MANUAL-1")

    codes = issued_codes(issue(capillary, series, holder, 3))

    assert sorted(listed(paynow, url, "&type=generated")) == sorted(codes)
    assert sorted(listed(paynow, url)) == sorted([*codes, "MANUAL-1"])
    for code in codes:
        coupon = Coupon.objects.get(store=store, code=code)
        response = paynow.get(f"{url}/{coupon.id}")
        assert response.status_code == 200
        assert (response.json()["code"], response.json()["usable_by_customer_id"]) == (
            code,
            str(holder.id),
        )


def test_a_pool_of_a_thousand_adds_no_coupon_to_the_merchants_list(
    settings, paynow, url, store
):
    settings.SERIES_POOL_TARGET = 1000
    CouponFactory.create_batch(3, store=store)

    series = make_series(store)

    assert series_pool.pool_size(series) == 1000
    assert len(listed(paynow, url)) == 3
    assert len(listed(paynow, url, "&status=active")) == 3


def test_the_issue_scenario_cannot_start_deleting_pool_codes_is_404(
    paynow, url, store, series, capillary, holder
):
    """Issue 16 item 1, step by step: delete pooled codes through PayNow, reuse a
    freed code for a 100 % coupon, issue, redeem."""
    victims = pool_of(series)[:5]

    for coupon in victims:
        assert_not_found(paynow.delete(f"{url}/{coupon.id}"))
    # Nothing was freed: the code is still the pool's.
    response = paynow.post(url, hundred_percent(victims[0].code), format="json")
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "conflict"

    codes = issued_codes(issue(capillary, series, holder, 5))

    assert codes == [c.code for c in victims]  # the oldest live codes, as before
    assert_issued_codes_redeem_their_own_coupons(paynow, store, holder)


# --- the claim takes only live codes -----------------------------------------------


def test_codes_staff_archived_are_never_issued_and_a_reused_code_is_never_redeemed_through_an_issue(  # noqa: E501
    paynow, url, store, series, capillary, holder, admin_client
):
    pool = pool_of(series)
    dead = pool[:10]  # the oldest: a claim takes the oldest first
    # Staff delete them in the admin (archived: their codes are freed).
    response = admin_client.post(
        reverse("admin:coupons_coupon_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [str(c.pk) for c in dead],
            "post": "yes",
        },
    )
    assert response.status_code == 302
    assert (
        Coupon.objects.filter(id__in=[c.id for c in dead], archived_at=None).count()
        == 0
    )
    # A new 100 % coupon takes one freed code.
    response = paynow.post(url, hundred_percent(dead[0].code), format="json")
    assert response.status_code == 200, response.content
    free_lunch = Coupon.objects.get(pk=response.json()["id"])

    codes = issued_codes(issue(capillary, series, holder, 10))
    # The pool is now dry: the next issue refills it, still never with a dead row.
    codes += issued_codes(issue(capillary, series, holder, 5))

    assert codes[:10] == [c.code for c in pool[10:]]
    assert not Assignment.objects.filter(coupon_id__in=[c.id for c in dead]).exists()
    assert dead[0].code not in codes
    assert_issued_codes_redeem_their_own_coupons(paynow, store, holder)
    free_lunch.refresh_from_db()
    assert free_lunch.redeemed_count == 0


def test_codes_staff_disabled_are_never_issued(
    store, series, capillary, holder, admin_client, paynow
):
    pool = pool_of(series)
    # A pooled code's admin page is read-only: staff retire inventory with the
    # actions, which act only on codes still pooled when they run.
    change = reverse("admin:coupons_coupon_change", args=[pool[0].pk])
    page = admin_client.get(change)
    assert (page.status_code, page.context["has_change_permission"]) == (200, False)
    assert admin_client.post(change, {"enabled": ""}).status_code == 403
    response = admin_client.post(
        reverse("admin:coupons_coupon_changelist"),
        {"action": "retire_pool_codes", "_selected_action": [c.pk for c in pool[:5]]},
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == ["Retired 5 pool codes."]
    retired = series_pool.series_pool_retire(
        series=series, coupon_ids=[c.id for c in pool[5:10]]
    )
    assert retired == 5

    codes = issued_codes(issue(capillary, series, holder, 15))

    assert codes[:10] == [c.code for c in pool[10:]]
    assert not {c.code for c in pool[:10]} & set(codes)
    assert_issued_codes_redeem_their_own_coupons(paynow, store, holder)


def test_a_disabled_generic_code_is_not_issued(store, capillary, holder):
    series = make_series(store, generic_code="SUMMER-ALL")
    coupon = Coupon.objects.get(series=series)
    coupon_services.coupon_update(
        coupon=coupon, actor=coupon_services.INTERNAL, enabled=False
    )

    response = issue(capillary, series, holder, 1)

    assert response.status_code == 400, response.content
    assert response.json() == {
        "errors": [
            {"status": False, "code": 5005, "message": "Queue is empty for series"}
        ]
    }
    assert not Assignment.objects.exists()


# --- retiring pool codes --------------------------------------------------------------


def test_retire_touches_only_the_series_pooled_live_codes(
    store, series, capillary, holder
):
    issued = issued_codes(issue(capillary, series, holder, 2))
    other = make_series(store, code_prefix="OTHER-")
    manual = CouponFactory(store=store)
    ids = [
        *(c.id for c in pool_of(series)[:3]),
        *(Coupon.objects.get(code=code).id for code in issued),
        pool_of(other)[0].id,
        manual.id,
    ]

    assert series_pool.series_pool_retire(series=series, coupon_ids=ids) == 3
    # Archiving takes the disabled ones too; a second disable finds nothing.
    assert series_pool.series_pool_retire(series=series, coupon_ids=ids) == 0
    assert (
        series_pool.series_pool_retire(series=series, coupon_ids=ids, archive=True) == 3
    )

    assert Coupon.objects.filter(id__in=ids, enabled=False).count() == 3
    assert Coupon.objects.filter(id__in=ids, archived_at__isnull=False).count() == 3
    assert Coupon.objects.filter(code__in=issued, enabled=True).count() == 2
    assert series_pool.pool_size(other) == 20
    assert series_pool.pool_size(series) == 15
    events = AuditEvent.objects.filter(series_id=series.id, object_type="coupon")
    assert (
        sorted(events.values_list("action", flat=True))
        == ["archive"] * 3 + ["retire"] * 3
    )


def test_retire_of_the_whole_pool_goes_in_batches(store, series):
    assert series_pool.series_pool_retire(series=series, batch_size=7) == 20

    assert series_pool.pool_size(series) == 0
    assert Coupon.objects.filter(series=series, enabled=True).count() == 0


# --- capacity counts only what can still be issued ---------------------------------


def test_retired_codes_do_not_eat_max_create(store):
    series = make_series(store, max_create=30)  # 20 pooled
    pool = pool_of(series)
    series_pool.series_pool_retire(series=series, coupon_ids=[c.id for c in pool[:5]])
    series_pool.series_pool_retire(
        series=series, coupon_ids=[c.id for c in pool[5:10]], archive=True
    )
    assert series_pool.pool_size(series) == 10

    # 30 - 0 issued - 10 issuable: 20 more fit, 21 do not.
    with pytest.raises(DomainError) as refused:
        series_pool.series_generate_codes(series=series, count=21)
    assert refused.value.reason == errors.POOL_OVER_CAP
    assert series_pool.series_generate_codes(series=series, count=20) == 20
    assert series_pool.pool_size(series) == 30


def test_the_top_up_refills_what_staff_retired(store, settings):
    series = make_series(store)  # 20 pooled, low mark 5
    series_pool.series_pool_retire(
        series=series, coupon_ids=[c.id for c in pool_of(series)[:18]], archive=True
    )

    added = series_pool.series_pool_top_up(series_id=series.id)

    assert added == 18
    assert series_pool.pool_size(series) == 20


def test_code_room_frees_archived_codes_and_keeps_disabled_ones_taken(store):
    # 100 codes in the format: a disabled code still holds its code in the store,
    # an archived one gives it back.
    series = make_series(store, random_code_length=2)
    assert series_pool.code_room(series) == 80
    pool = pool_of(series)

    series_pool.series_pool_retire(series=series, coupon_ids=[c.id for c in pool[:4]])
    assert series_pool.code_room(series) == 80
    series_pool.series_pool_retire(
        series=series, coupon_ids=[c.id for c in pool[:10]], archive=True
    )
    assert series_pool.code_room(series) == 90


# --- the admin ----------------------------------------------------------------------


def test_the_series_admin_retires_a_pool_and_the_series_issues_fresh_codes(
    admin_client, paynow, store, series, capillary, holder
):
    issued = issued_codes(issue(capillary, series, holder, 2))
    old_pool = pool_of(series)

    response = admin_client.post(
        reverse("admin:series_series_changelist"),
        {"action": "retire_pool", "_selected_action": [str(series.pk)]},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == [
        "Retired 18 unissued codes."
    ]
    assert series_pool.pool_size(series) == 0
    assert Coupon.objects.filter(code__in=issued, enabled=True).count() == 2
    fresh = issued_codes(issue(capillary, series, holder, 3))
    assert not {c.code for c in old_pool} & set(fresh)
    assert_issued_codes_redeem_their_own_coupons(paynow, store, holder)


def test_the_coupons_admin_filters_pool_codes_and_deleting_them_retires_them(
    admin_client, store, series, capillary, holder
):
    issued = Coupon.objects.get(
        code=issued_codes(issue(capillary, series, holder, 1))[0]
    )
    manual = CouponFactory(store=store)
    changelist = reverse("admin:coupons_coupon_changelist")

    shown = admin_client.get(changelist, {"pooled__exact": "1"})
    assert {c.pk for c in shown.context["cl"].result_list} == {
        c.pk for c in pool_of(series)
    }
    shown = admin_client.get(changelist, {"pooled__exact": "0"})
    assert {c.pk for c in shown.context["cl"].result_list} == {issued.pk, manual.pk}
    victims = [*pool_of(series)[:3], manual]
    response = admin_client.post(
        changelist,
        {
            "action": "delete_selected",
            "_selected_action": [str(c.pk) for c in victims],
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert series_pool.pool_size(series) == 16
    archived = Coupon.objects.filter(archived_at__isnull=False)
    assert set(archived.values_list("pk", flat=True)) == {c.pk for c in victims[:3]}
    assert not Coupon.objects.filter(pk=manual.pk).exists()  # no history: deleted
    events = AuditEvent.objects.filter(coupon_id__in=[c.pk for c in victims[:3]])
    assert set(events.values_list("action", "actor_type")) == {("archive", "user")}


def test_issue_to_customers_issues_only_live_codes(store, series, tmp_path):
    people = [CustomerFactory(store=store, mobile=f"9190000000{i}") for i in range(5)]
    pool = pool_of(series)
    series_pool.series_pool_retire(series=series, coupon_ids=[c.id for c in pool[:3]])
    series_pool.series_pool_retire(
        series=series, coupon_ids=[c.id for c in pool[3:6]], archive=True
    )
    path = tmp_path / "list.csv"
    path.write_text("mobile\n" + "".join(f"{p.mobile}\n" for p in people))

    call_command(
        "issue_to_customers", "--series", str(series.id), str(path), stdout=StringIO()
    )

    rows = Assignment.objects.filter(series=series).select_related("coupon")
    assert sorted(row.coupon_id for row in rows) == [c.id for c in pool[6:11]]
    assert all(row.coupon.usable_by_customer_id == row.customer_id for row in rows)
