"""A store's currency cannot change once rows hold amounts in it (attack report 2, #2).

Amounts are integers in the store currency's minor units (README, "Money"): KWD
1.125 is stored as 1125, which JPY would read as ¥1,125. ``stores.services
.store_update`` refuses a new currency while the store has coupons, series,
redemptions or NewStore definitions/templates; the command and the admin form both
go through it. A store without them may still change its currency.
"""

from __future__ import annotations

import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.urls import reverse

from coupons.models import Coupon
from stores import services
from stores.models import Store
from tests.admin_forms import edit, open_form
from tests.factories import (
    CouponFactory,
    CustomerFactory,
    LegacyDefinitionFactory,
    LegacyTemplateFactory,
    OutletFactory,
    RedemptionFactory,
    SeriesFactory,
    StoreFactory,
)
from tests.interleave import Holder, start, wait_for_waiters

pytestmark = pytest.mark.django_db


def update_store(*args: str) -> str:
    out = StringIO()
    call_command("update_store", *args, stdout=out)
    return out.getvalue()


def refusal(found: str) -> str:
    return (
        f"The currency cannot change from KWD to JPY: the store has {found}, whose "
        "amounts are stored in KWD's minor units. Use a new store for another currency."
    )


AMOUNT_ROWS = {
    "coupons": lambda store: CouponFactory(store=store),
    "series": lambda store: SeriesFactory(store=store),
    "NewStore definitions or templates": lambda store: LegacyDefinitionFactory(
        store=store
    ),
    "NewStore definitions or templates (template)": lambda store: LegacyTemplateFactory(
        store=store
    ),
}


@pytest.mark.parametrize("kind", list(AMOUNT_ROWS))
def test_the_command_refuses_a_new_currency_for_a_store_with_amounts(kind):
    store = StoreFactory(code="kwd", currency="KWD", name="Kuwait")
    AMOUNT_ROWS[kind](store)

    with pytest.raises(CommandError) as refused:
        update_store("--store", "kwd", "--currency", "JPY", "--name", "Renamed")

    assert str(refused.value) == refusal(kind.removesuffix(" (template)"))
    store.refresh_from_db()
    assert (store.currency, store.name) == ("KWD", "Kuwait")


def test_the_refusal_names_every_kind_the_store_has():
    store = StoreFactory(code="kwd", currency="KWD")
    RedemptionFactory(coupon=CouponFactory(store=store))
    SeriesFactory(store=store)
    LegacyTemplateFactory(store=store)

    with pytest.raises(CommandError) as refused:
        update_store("--store", "kwd", "--currency", "JPY")

    assert str(refused.value) == refusal(
        "coupons, series, redemptions, NewStore definitions or templates"
    )
    assert Store.objects.get(pk=store.pk).currency == "KWD"


def test_a_store_without_amounts_may_change_its_currency():
    # Customers, outlets and API keys hold no amount.
    store = StoreFactory(code="kwd", currency="KWD")
    CustomerFactory(store=store)
    OutletFactory(store=store)
    CouponFactory(store=StoreFactory(currency="KWD"))  # another store's

    assert update_store("--store", "kwd", "--currency", "JPY") == (
        "Store kwd: active, UTC, JPY\n"
    )
    assert Store.objects.get(pk=store.pk).currency == "JPY"


def test_the_same_currency_and_other_settings_still_save_with_amounts():
    store = StoreFactory(code="kwd", currency="KWD")
    CouponFactory(store=store)

    output = update_store(
        "--store", "kwd", "--currency", "KWD", "--timezone", "Europe/London"
    )

    assert output == "Store kwd: active, Europe/London, KWD\n"


def test_the_admin_form_shows_the_refusal_on_the_currency_field(admin_client):
    store = StoreFactory(code="kwd", currency="KWD", name="Kuwait")
    CouponFactory(store=store)
    url = reverse("admin:stores_store_change", args=[store.pk])

    response = admin_client.post(
        url, edit(open_form(admin_client, url), currency="JPY", name="Renamed")
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors == {
        "currency": [
            "The store has coupons with amounts in KWD; its currency cannot change."
        ]
    }
    stored = Store.objects.get(pk=store.pk)
    assert (stored.currency, stored.name) == ("KWD", "Kuwait")


def test_the_admin_form_changes_the_currency_of_a_store_without_amounts(
    admin_client,
):
    store = StoreFactory(code="kwd", currency="KWD")
    url = reverse("admin:stores_store_change", args=[store.pk])

    response = admin_client.post(
        url, edit(open_form(admin_client, url), currency="JPY")
    )

    assert response.status_code == 302
    assert Store.objects.get(pk=store.pk).currency == "JPY"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_coupon_committed_while_the_change_waits_for_the_row_is_counted():
    """The rows are counted after the store row is locked: a coupon inserted and
    committed by a transaction that held the row when the change started is seen
    (a count before the lock would have found none and changed the currency)."""
    store = StoreFactory(code="kwd", currency="KWD")
    model = CouponFactory(store=StoreFactory(currency="KWD"))
    overrides = {
        "id": 990001,
        "compact_id": 990001,
        "store_id": store.pk,
        "code": "KWDAMT",
    }
    columns = [field.column for field in Coupon._meta.concrete_fields]
    picked = ", ".join("%s" if c in overrides else c for c in columns)
    with Holder() as holder:
        holder.run("SELECT 1 FROM stores_store WHERE id = %s FOR UPDATE", [store.pk])
        holder.run(
            f"INSERT INTO coupons_coupon ({', '.join(columns)}) SELECT {picked} "
            "FROM coupons_coupon WHERE id = %s",
            [*(overrides[c] for c in columns if c in overrides), model.pk],
        )
        changing = start(lambda: update_store("--store", "kwd", "--currency", "JPY"))
        wait_for_waiters(1)
        holder.commit()

        with pytest.raises(CommandError) as refused:
            changing()

    assert str(refused.value) == refusal("coupons")
    assert Store.objects.get(pk=store.pk).currency == "KWD"


@pytest.fixture
def coupon_in_flight():
    """A coupon of the store inserted by a transaction that has not committed (its
    foreign key is checked only at commit); ``release()`` commits it."""
    created, release = threading.Event(), threading.Event()

    def begin(store: Store):
        def create_coupon() -> None:
            with transaction.atomic():
                CouponFactory(store=store)
                created.set()
                assert release.wait(20)

        creating = start(create_coupon)
        assert created.wait(20)

        def commit() -> None:
            release.set()
            creating()

        return commit

    yield begin
    release.set()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_coupon_created_while_the_change_runs_is_counted(coupon_in_flight):
    """The first coupon of an empty store, not committed yet when the change
    starts: the change waits for it (the amount tables IN SHARE MODE), then
    counts it."""
    store = StoreFactory(code="kwd", currency="KWD")
    commit = coupon_in_flight(store)
    changing = start(lambda: update_store("--store", "kwd", "--currency", "JPY"))
    wait_for_waiters(1)
    commit()

    with pytest.raises(CommandError) as refused:
        changing()

    assert str(refused.value) == refusal("coupons")
    assert Store.objects.get(pk=store.pk).currency == "KWD"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_change_gives_up_on_a_write_that_stays_in_flight(
    coupon_in_flight, monkeypatch
):
    monkeypatch.setattr(services, "CURRENCY_LOCK_TIMEOUT_MS", 200)
    store = StoreFactory(code="kwd", currency="KWD")
    commit = coupon_in_flight(store)

    with pytest.raises(CommandError) as refused:
        update_store("--store", "kwd", "--currency", "JPY", "--name", "Renamed")
    commit()

    assert str(refused.value) == (
        "The currency was not changed: coupons, series or redemptions are being "
        "written now. Try again in a moment."
    )
    stored = Store.objects.get(pk=store.pk)
    assert (stored.currency, stored.name) == ("KWD", store.name)
