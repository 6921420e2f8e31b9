"""A code that someone holds or has used stays taken after its coupon is deleted
(issue 16 item 1: "a code that is issued always redeems the coupon it was issued
as").

A coupon with history (assignments or redemptions) is archived, not deleted, and
keeps its code (``Coupon.code_held``): the folded-code unique index covers it, and
every "is this code free" check reads ``Coupon.objects.holding_codes()``, the same
condition. Redeeming or checking the code answers each dialect's "not found"; making
a coupon with it is each dialect's "code taken"; a series' or definition's code
generation skips it. A coupon nobody received or used frees its code when deleted.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from assignments.models import Assignment
from coupons.models import Coupon, Redemption
from coupons.services import INTERNAL, coupon_delete
from series import codegen
from series.models import Series
from tests.assignments.conftest import RECEIVE_URL, shoplazza_client
from tests.concurrency import paynow_client, race
from tests.coupons import test_api_capillary as v11
from tests.coupons.test_admin import coupon_form_data
from tests.coupons.test_api_paynow import assert_error
from tests.factories import (
    ApiKeyFactory,
    AssignmentFactory,
    CouponFactory,
    CustomerFactory,
    RedemptionFactory,
    StoreFactory,
)
from tests.interleave import Holder, start, wait_for_waiters
from tests.legacy.factories import bearer, create_coupon, create_definition, error
from tests.migrations import migrate, migrated_to
from tests.series.conftest import ISSUE_URL, SERIES_URL, capillary_client, make_series
from tests.series.test_api_capillary_series import body as series_body
from tests.series.test_pool_inventory import hundred_percent

BEFORE_HELD = [("coupons", "0007_compact_ids")]
AFTER_HELD = [("coupons", "0008_code_held")]
NOT_FOUND = {"status": 404, "code": "not-found", "message": "Coupon not found."}


@pytest.fixture
def small_pool(settings):
    settings.SERIES_POOL_TARGET = 20
    settings.SERIES_POOL_LOW = 5


@pytest.fixture
def coupons_url(store) -> str:
    return f"/v1/stores/{store.id}/coupons"


@pytest.fixture
def customer(store):
    return CustomerFactory(store=store, mobile="919800000001", email="ann@example.com")


def create(paynow, url: str, code: str):
    return paynow.post(url, hundred_percent(code), format="json")


def redeem(paynow, store, code: str, customer):
    return paynow.post(
        f"/v1/stores/{store.id}/redemptions",
        {"code": code, "customer_id": str(customer.id), "order_value": 10_000},
        format="json",
    )


def validate(paynow, store, code: str, customer):
    return paynow.post(
        f"/v1/stores/{store.id}/coupons/validate",
        {"code": code, "customer_id": str(customer.id), "order_value": 10_000},
        format="json",
    )


def held_by_received(store, api_key, paynow, url, customer) -> Coupon:
    """A PayNow coupon a customer received through Shoplazza."""
    response = create(paynow, url, "WELCOME")
    assert response.status_code == 200, response.content
    coupon_id = response.json()["id"]
    received = shoplazza_client(api_key).post(
        RECEIVE_URL,
        {"customer_id": str(customer.id), "coupon_ids": [coupon_id]},
        format="json",
    )
    assert received.status_code == 200, received.content
    assert received.json()["status"] == 1
    return Coupon.objects.get(pk=coupon_id)


def held_by_redeemed(store, api_key, paynow, url, customer) -> Coupon:
    """A PayNow coupon a customer redeemed once (of two uses)."""
    response = paynow.post(
        url,
        {
            **hundred_percent("WELCOME"),
            "discount_amount": 100,
            "redeem_limit_customer_enabled": True,
            "redeem_limit_customer_amount": 2,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert redeem(paynow, store, "welcome", customer).status_code == 200
    return Coupon.objects.get(pk=response.json()["id"])


def held_by_issued(store, api_key, paynow, url, customer) -> Coupon:
    """A series code issued to a customer through Capillary v2 (issue 16's case)."""
    series = make_series(store)
    response = capillary_client(api_key).post(
        ISSUE_URL,
        {"seriesId": series.id, "count": 1, "customer": {"mobile": customer.mobile}},
        format="json",
    )
    assert response.status_code == 200, response.content
    (issued,) = response.json()["coupons"]
    return Coupon.objects.get(store=store, code=issued["code"])


HOLDERS = {
    "received": held_by_received,
    "redeemed": held_by_redeemed,
    "issued": held_by_issued,
}


@pytest.mark.django_db
@pytest.mark.usefixtures("small_pool")
@pytest.mark.parametrize("how", list(HOLDERS))
def test_a_deleted_coupon_someone_holds_keeps_its_code_in_every_dialect(
    how, store, api_key, paynow, coupons_url, customer
):
    coupon = HOLDERS[how](store, api_key, paynow, coupons_url, customer)
    code = coupon.code
    assert paynow.delete(f"{coupons_url}/{coupon.id}").status_code == 204
    coupon.refresh_from_db()
    assert coupon.archived_at is not None

    # The code is taken, in any letter case, through PayNow ...
    for attempt in (code, code.lower()):
        response = create(paynow, coupons_url, attempt)
        data = assert_error(response, 409, "conflict", paths=["code"])
        assert (
            data["message"] == f"The code {attempt!r} is already taken in this store."
        )
    # ... a PATCH of another coupon ...
    other = CouponFactory(store=store, code="OTHER")
    response = paynow.patch(
        f"{coupons_url}/{other.id}", {"code": code.lower()}, format="json"
    )
    assert_error(response, 409, "conflict", paths=["code"])
    # ... and a Capillary generic series.
    response = capillary_client(api_key).post(
        SERIES_URL, series_body(genericCode=code), format="json"
    )
    assert (response.status_code, response.json()) == (
        400,
        {
            "errors": [
                {
                    "status": False,
                    "code": 400,
                    "message": f"The code {code!r} is already taken in this store.",
                }
            ]
        },
    )
    assert list(
        Coupon.objects.filter(store=store, code_folded=code.upper()).values_list(
            "id", flat=True
        )
    ) == [coupon.id]

    # The holder's code redeems nothing: each dialect's "not found".
    response = redeem(paynow, store, code, customer)
    assert response.status_code == 404, response.content
    assert {key: response.json()[key] for key in NOT_FOUND} == NOT_FOUND
    response = validate(paynow, store, code, customer)
    assert (response.status_code, response.json()) == (
        200,
        {
            "valid": False,
            "reasons": [{"code": "not_found", "message": "No coupon has this code."}],
            "discount": 0,
        },
    )
    cap = v11.capillary(api_key)
    response = v11.redeem(cap, v11.body(v11.item(code, customer, number="T-1")))
    assert response.status_code == 400, response.content
    assert v11.item_statuses(response) == [v11.INVALID_CODE]
    (checked,) = v11.checked(cap, mobile=customer.mobile, code=code)
    assert checked["item_status"] == v11.not_redeemable(*v11.INVALID_CODE)
    assert coupon.redemptions.count() == (1 if how == "redeemed" else 0)
    assert coupon.code_held


@pytest.mark.django_db
@pytest.mark.usefixtures("small_pool")
@pytest.mark.parametrize("how", list(HOLDERS))
def test_the_code_of_a_coupon_someone_holds_does_not_change(
    how, store, api_key, paynow, coupons_url, customer
):
    """Renaming a held coupon would free its code as deleting it did: refused."""
    coupon = HOLDERS[how](store, api_key, paynow, coupons_url, customer)
    code = coupon.code
    url = f"{coupons_url}/{coupon.id}"
    message = "The code of a coupon someone received or used cannot change."
    data = assert_error(
        paynow.patch(url, {"code": "RENAMED"}, format="json"),
        400,
        "bad-request",
        paths=["code"],
        message=message,
    )
    assert data["errors"][0]["message"] == message
    # Nothing written, the old code not freed, other fields still editable.
    assert_error(create(paynow, coupons_url, code), 409, "conflict", paths=["code"])
    response = paynow.patch(url, {"code": code, "note": "kept"}, format="json")
    assert response.status_code == 200, response.content
    coupon.refresh_from_db()
    assert (coupon.code, coupon.note) == (code, "kept")
    assert not Coupon.objects.filter(store=store, code_folded="RENAMED").exists()


@pytest.mark.django_db
def test_the_code_of_a_coupon_nobody_holds_still_changes(paynow, coupons_url):
    response = create(paynow, coupons_url, "FRESH")
    assert response.status_code == 200, response.content
    url = f"{coupons_url}/{response.json()['id']}"
    response = paynow.patch(url, {"code": "RENAMED"}, format="json")
    assert (response.status_code, response.json()["code"]) == (200, "RENAMED")
    assert create(paynow, coupons_url, "FRESH").status_code == 200


@pytest.mark.django_db
def test_a_deleted_coupon_nobody_held_frees_its_code(paynow, coupons_url, store):
    made = create(paynow, coupons_url, "SPARE")
    assert made.status_code == 200
    assert paynow.delete(f"{coupons_url}/{made.json()['id']}").status_code == 204
    assert not Coupon.objects.filter(pk=made.json()["id"]).exists()

    again = create(paynow, coupons_url, "spare")

    assert again.status_code == 200, again.content
    assert Coupon.objects.get(store=store).code == "spare"


@pytest.mark.django_db
def test_a_series_coupon_never_issued_is_archived_without_holding_its_code(
    paynow, coupons_url, store
):
    # A generic series' coupon nobody was issued yet: archived (it has a series),
    # but nobody holds the code.
    series = Series.objects.create(store=store, generic_code="GEN10")
    coupon = CouponFactory(store=store, series=series, code="GEN10", origin="generated")
    assert paynow.delete(f"{coupons_url}/{coupon.id}").status_code == 204
    coupon.refresh_from_db()
    assert (coupon.archived_at is not None, coupon.code_held) == (True, False)

    assert create(paynow, coupons_url, "gen10").status_code == 200


@pytest.mark.django_db
def test_a_rolled_back_redemption_still_holds_the_code(store, customer):
    coupon = CouponFactory(store=store, code="BACK")
    RedemptionFactory(
        store=store, coupon=coupon, customer=customer, rolled_back_at=datetime.now(UTC)
    )
    coupon_delete(coupon=coupon, actor=INTERNAL)
    coupon.refresh_from_db()
    assert coupon.code_held


@pytest.mark.django_db
def test_the_unique_index_holds_the_code_without_the_python_check(store):
    held = CouponFactory(store=store, code="IDX")
    AssignmentFactory(store=store, coupon=held, customer=CustomerFactory(store=store))
    coupon_delete(coupon=held, actor=INTERNAL)
    freed = CouponFactory(store=store, code="FREED")
    Coupon.objects.filter(pk=freed.pk).update(archived_at=datetime.now(UTC))

    with pytest.raises(IntegrityError), transaction.atomic():
        Coupon.objects.create(store=store, code="idx")
    Coupon.objects.create(store=store, code="freed")
    assert set(Coupon.objects.holding_codes().values_list("code", flat=True)) == {
        "IDX",
        "freed",
    }


@pytest.mark.django_db
def test_admin_add_with_a_held_code_is_a_form_error(admin_client, store):
    held = CouponFactory(store=store, code="SPRING25")
    RedemptionFactory(store=store, coupon=held)
    coupon_delete(coupon=held, actor=INTERNAL)

    response = admin_client.post(
        reverse("admin:coupons_coupon_add"),
        coupon_form_data(code="spring25", store=store.pk),
    )

    assert response.status_code == 200
    assert "This code is already taken in this store." in response.content.decode()
    assert list(Coupon.objects.values_list("id", flat=True)) == [held.id]


def _hold(store, code: str) -> Coupon:
    coupon = CouponFactory(store=store, code=code)
    AssignmentFactory(store=store, coupon=coupon, customer=CustomerFactory(store=store))
    coupon_delete(coupon=coupon, actor=INTERNAL)
    return coupon


@pytest.mark.django_db
def test_newstore_pattern_codes_skip_a_held_code(api_key, store):
    _hold(store, "x5")
    newstore = bearer(api_key)
    create_definition(newstore, label="small", pattern="X[0-9]")

    codes = {create_coupon(newstore, "small")["code"] for _ in range(9)}
    response = newstore.post("/v0/d/coupons", {"template_label": "small"})

    assert codes == {f"X{digit}" for digit in range(10)} - {"X5"}
    assert response.status_code == 409
    assert response.json() == error(
        "code_space_exhausted",
        "All 10 codes of the pattern 'X[0-9]' of the coupon definition 'small' "
        "are in use in this store; give it a pattern with more codes.",
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("small_pool")
def test_capillary_series_generation_skips_a_held_code(api_key, store):
    _hold(store, "hx5")
    _hold(store, "HX7")
    Coupon.objects.filter(code="HX7").update(code_held=False)  # archived, freed

    response = capillary_client(api_key).post(
        SERIES_URL,
        series_body(
            alphaNumeric=False, randomCodeLength=1, couponPrefix="HX", maxCreate=-1
        ),
        format="json",
    )

    assert response.status_code == 200, response.content
    pooled = Coupon.objects.filter(store=store, pooled=True)
    assert sorted(pooled.values_list("code", flat=True)) == [
        f"HX{digit}" for digit in range(10) if digit != 5
    ]
    # A cap that counts the held code as free is refused.
    refused = capillary_client(api_key).post(
        SERIES_URL,
        series_body(alphaNumeric=False, randomCodeLength=1, couponPrefix="hy"),
        format="json",
    )
    assert refused.status_code == 400


@pytest.mark.django_db
def test_an_oversampled_insert_with_a_limit_skips_a_held_code(store):
    # The dense path of a big code space: at most ``limit`` of the candidates are
    # inserted, chosen among the free ones (NOT EXISTS on PostgreSQL).
    _hold(store, "hz1")
    series = Series.objects.create(store=store, alpha_numeric=False)
    values = {"store_id": store.id, "series_id": series.id, "pooled": True}

    inserted = codegen.insert_pooled(values=values, codes=["HZ1", "HZ2"], limit=1)

    assert inserted == 1
    assert list(Coupon.objects.filter(pooled=True).values_list("code", flat=True)) == [
        "HZ2"
    ]


# --- races (PostgreSQL, real threads, HTTP) ------------------------------------------

TRIALS = 8


def _paynow(key):
    return paynow_client(key)


def _redeem_or_receive(key, coupon: Coupon, customer, how: str):
    if how == "redeem":
        return redeem(_paynow(key), key.store, coupon.code, customer)
    return shoplazza_client(key).post(
        RECEIVE_URL,
        {"customer_id": str(customer.id), "coupon_ids": [str(coupon.id)]},
        format="json",
    )


def _holders_of(store, code: str) -> list[int]:
    return list(
        Coupon.objects.for_store(store.id)
        .holding_codes()
        .with_code(code)
        .values_list("id", flat=True)
    )


@pytest.mark.parametrize("trial", range(TRIALS))
@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_creates_racing_the_archive_of_their_code_are_all_409(trial):
    """Creates with the code before, while and after the coupon is archived (the
    DELETE of a coupon with a redemption): every one is 409, and the archived coupon
    is the only one that holds the code."""
    key = ApiKeyFactory(store=StoreFactory())
    coupon = CouponFactory(store=key.store, code="RACE")
    RedemptionFactory(store=key.store, coupon=coupon)
    url = f"/v1/stores/{key.store_id}/coupons"
    archived = threading.Event()

    def delete():
        try:
            return _paynow(key).delete(f"{url}/{coupon.id}")
        finally:
            archived.set()

    def create_until_archived_and_once_more():
        answers = []
        while True:
            done = archived.is_set()
            response = _paynow(key).post(url, hundred_percent("race"), format="json")
            answers.append((response.status_code, response.json()["code"]))
            if done or len(answers) == 500:
                return answers

    deleted, answers = race(
        2, lambda i: delete() if i == 0 else create_until_archived_and_once_more()
    )

    assert deleted.status_code == 204
    assert set(answers) == {(409, "conflict")}
    assert _holders_of(key.store, "RACE") == [coupon.id]
    coupon.refresh_from_db()
    assert (coupon.archived_at is not None, coupon.code_held) == (True, True)


@pytest.mark.parametrize("how", ["redeem", "receive"])
@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_a_delete_waiting_behind_a_first_use_holds_the_code(how):
    """The use commits while the DELETE waits for the coupon's lock: the DELETE then
    sees it, archives the coupon and holds its code."""
    key = ApiKeyFactory(store=StoreFactory())
    customer = CustomerFactory(store=key.store)
    coupon = CouponFactory(store=key.store, code="FIRST")
    url = f"/v1/stores/{key.store_id}/coupons"
    with Holder() as holder:
        holder.run("SELECT 1 FROM coupons_coupon WHERE id = %s FOR UPDATE", [coupon.id])
        used = start(lambda: _redeem_or_receive(key, coupon, customer, how))
        wait_for_waiters(1)
        deleted = start(lambda: _paynow(key).delete(f"{url}/{coupon.id}"))
        wait_for_waiters(2)
        holder.commit()
        assert used().status_code == 200
        assert deleted().status_code == 204

    created = _paynow(key).post(url, hundred_percent("first"), format="json")

    assert created.status_code == 409, created.content
    assert _holders_of(key.store, "FIRST") == [coupon.id]
    response = _redeem_or_receive(key, coupon, customer, "redeem")
    assert response.status_code == 404


@pytest.mark.parametrize("trial", range(TRIALS))
@pytest.mark.parametrize("how", ["redeem", "receive"])
@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_a_first_use_racing_the_delete_holds_the_code_exactly_when_it_won(how, trial):
    key = ApiKeyFactory(store=StoreFactory())
    customer = CustomerFactory(store=key.store)
    coupon = CouponFactory(store=key.store, code="EITHER")
    url = f"/v1/stores/{key.store_id}/coupons"

    used, deleted = race(
        2,
        lambda i: (
            _redeem_or_receive(key, coupon, customer, how)
            if i == 0
            else _paynow(key).delete(f"{url}/{coupon.id}")
        ),
    )
    created = _paynow(key).post(url, hundred_percent("either"), format="json")

    assert deleted.status_code == 204
    won = Coupon.objects.filter(pk=coupon.pk).exists()
    uses = (
        coupon.redemptions
        if how == "redeem"
        else Assignment.objects.filter(coupon=coupon)
    )
    if won:
        assert used.status_code == 200
        assert uses.count() == 1
        assert created.status_code == 409
        assert _holders_of(key.store, "EITHER") == [coupon.id]
    else:
        if how == "redeem":
            assert used.status_code == 404
        else:
            assert (used.status_code, used.json()["status"]) == (200, 6)
        assert created.status_code == 200
        assert len(_holders_of(key.store, "EITHER")) == 1


# --- coupons 0008: the backfill ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_migration_holds_the_codes_of_archived_coupons_someone_used():
    store, other_store = StoreFactory(), StoreFactory()
    archived = datetime(2025, 2, 1, tzinfo=UTC)

    def coupon(code: str, *, used: str | None, live: bool = False, where=store):
        made = CouponFactory(
            store=where, code=code, archived_at=None if live else archived
        )
        if used == "redeemed":
            RedemptionFactory(store=where, coupon=made, rolled_back_at=archived)
        elif used == "received":
            AssignmentFactory(
                store=where, coupon=made, customer=CustomerFactory(store=where)
            )
        return made.id

    redeemed = coupon("USED", used="redeemed")
    received = coupon("GOT", used="received")
    coupon("SPARE", used=None)  # archived, nobody used it: frees its code
    coupon("LIVE", used="redeemed", live=True)  # live: holds its code anyway
    # This very bug let a live coupon take an archived one's code: it keeps it.
    coupon("TAKEN", used="redeemed")
    coupon("taken", used=None, live=True)
    # Archived twice with history: the newer one holds the code.
    coupon("TWICE", used="redeemed")
    newer = coupon("twice", used="received")
    elsewhere = coupon("USED", used="redeemed", where=other_store)

    with migrated_to(BEFORE_HELD, emptied="coupons_coupon"):
        with connection.cursor() as cursor:
            described = connection.introspection.get_table_description(
                cursor, "coupons_coupon"
            )
        assert "code_held" not in {column.name for column in described}

        migrate(AFTER_HELD)

        held = set(Coupon.objects.filter(code_held=True).values_list("id", flat=True))
        assert held == {redeemed, received, newer, elsewhere}
        with pytest.raises(IntegrityError), transaction.atomic():
            Coupon.objects.create(store=store, code="used")
        Coupon.objects.create(store=store, code="spare")
        Assignment.objects.all().delete()
        # A plain DELETE: the model of today cascades to tables (redemption lines)
        # and reads columns (coupons 0011) this older schema has not.
        Redemption.objects.all()._raw_delete(Redemption.objects.db)
