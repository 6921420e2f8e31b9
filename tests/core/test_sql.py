"""core.sql: hand-written SQL whose rows become ordinary model instances, and
several INSERTs plus an UPDATE written in one statement on PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Max, Model, signals
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AppendOnlyError, AuditEvent
from core import compact, sql
from coupons.models import Coupon, Redemption
from customers.models import Customer
from stores.models import ApiKey, Outlet, Store
from tests.factories import (
    ApiKeyFactory,
    CouponFactory,
    CustomerFactory,
    OutletFactory,
    RedemptionFactory,
)

pytestmark = pytest.mark.django_db

KEY_SQL = (
    "SELECT {key}, {store}, {outlet} "
    "FROM stores_apikey k JOIN stores_store s ON s.id = k.store_id "
    "LEFT JOIN stores_outlet o ON o.id = k.outlet_id WHERE k.key_id = %s"
)


def fields_of(instance: Model) -> dict[str, tuple[object, type]]:
    """Every concrete field's value and its type: 1 == True, so types matter (a
    TextChoices member counts as the str it is). A compact id that PostgreSQL's
    default gave in ``sql.write`` is read back first (``compact.known``)."""
    values = {}
    for field in type(instance)._meta.concrete_fields:
        if isinstance(field, compact.CompactIdField):
            compact.known(instance)
        value = getattr(instance, field.attname)
        values[field.attname] = (value, str if isinstance(value, str) else type(value))
    return values


def fetch_key(key_id: str) -> tuple | None:
    key, store, outlet = (
        sql.loader(ApiKey, "k"),
        sql.loader(Store, "s"),
        sql.loader(Outlet, "o"),
    )
    return sql.fetch_one(
        (
            KEY_SQL.format(key=key.columns, store=store.columns, outlet=outlet.columns),
            [key_id],
            (key, store, outlet),
        )
    )


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Coupon, Redemption, AuditEvent, Customer)
    }


def audit_event(store: Store, **overrides) -> AuditEvent:
    values = {
        "store": store,
        "actor_type": "internal",
        "action": "redeem",
        "object_type": "redemption",
        "object_id": 1,
    }
    return AuditEvent(**(values | overrides))


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


# --- loading ------------------------------------------------------------------------


def test_fetch_one_joins_key_store_and_outlet_equal_to_what_the_orm_loads(store):
    outlet = OutletFactory(store=store)
    made = ApiKeyFactory(
        store=store, outlet=outlet, scopes=["coupons:read", "series"], name="till 1"
    )

    api_key, loaded_store, loaded_outlet = fetch_key(made.key_id)

    assert fields_of(api_key) == fields_of(ApiKey.objects.get(pk=made.pk))
    assert fields_of(loaded_store) == fields_of(Store.objects.get(pk=store.pk))
    assert fields_of(loaded_outlet) == fields_of(Outlet.objects.get(pk=outlet.pk))
    assert api_key.scopes == ["coupons:read", "series"]
    assert api_key.outlet_id == outlet.pk
    assert api_key.revoked_at is None


def test_fetch_one_gives_json_as_python_datetimes_aware_and_booleans_as_bool(store):
    made = ApiKeyFactory(store=store, scopes=["coupons:write"])
    made.revoked_at = timezone.now() - timedelta(days=1, microseconds=7)
    made.save(update_fields=["revoked_at"])
    Store.objects.filter(pk=store.pk).update(is_active=False)

    api_key, loaded_store, _outlet = fetch_key(made.key_id)

    assert api_key.scopes == ["coupons:write"]
    assert isinstance(api_key.created_at, datetime)
    assert timezone.is_aware(api_key.created_at)
    assert timezone.is_aware(api_key.revoked_at)
    assert api_key.created_at == made.created_at
    assert api_key.revoked_at == made.revoked_at
    assert loaded_store.is_active is False
    assert api_key.has_scope("coupons:write")
    assert not api_key.has_scope("coupons:read")


def test_fetch_one_gives_none_for_the_outer_joined_outlet_of_a_key_without_one(
    api_key,
):
    row = fetch_key(api_key.key_id)

    assert row is not None
    loaded_key, loaded_store, loaded_outlet = row
    assert loaded_outlet is None
    assert loaded_key.outlet_id is None
    assert loaded_store.pk == api_key.store_id


def test_fetch_one_gives_none_when_no_row_matches(api_key):
    assert fetch_key("chk_no_such_key") is None


def test_fetch_loads_every_row_in_order_and_converts_uuids_and_null_json(store):
    legacy = uuid.uuid4()
    CouponFactory(store=store, code="B", legacy_uuid=legacy, apply_to_tags=["vip"])
    CouponFactory(store=store, code="A", enabled=False)
    CouponFactory(code="OTHER-STORE")
    coupon = sql.loader(Coupon, "c")

    rows = sql.fetch(
        f"SELECT {coupon.columns} FROM coupons_coupon c "
        "WHERE c.store_id = %s ORDER BY c.code",
        [store.pk],
        coupon,
    )

    assert [row[0].code for row in rows] == ["A", "B"]
    for (loaded,) in rows:
        assert fields_of(loaded) == fields_of(Coupon.objects.get(pk=loaded.pk))
    first, second = rows[0][0], rows[1][0]
    assert first.enabled is False
    assert first.legacy_uuid is None
    assert first.apply_to_tags is None
    assert second.legacy_uuid == legacy
    assert second.apply_to_tags == ["vip"]


def test_fetch_with_no_rows_is_an_empty_list(store):
    coupon = sql.loader(Coupon, "c")

    assert (
        sql.fetch(
            f"SELECT {coupon.columns} FROM coupons_coupon c WHERE c.store_id = %s",
            [store.pk],
            coupon,
        )
        == []
    )


def test_a_loader_selects_every_concrete_field_under_its_alias_and_is_built_once():
    key = sql.loader(ApiKey, "k")
    quote = connection.ops.quote_name

    assert sql.loader(ApiKey, "k") is key
    assert key.width == len(ApiKey._meta.concrete_fields)
    assert key.columns.split(", ") == [
        f"{quote('k')}.{quote(field.column)}" for field in ApiKey._meta.concrete_fields
    ]


def test_loaded_instances_are_saved_instances_and_saving_one_updates_it(api_key):
    loaded_key, loaded_store, _outlet = fetch_key(api_key.key_id)

    for instance in (loaded_key, loaded_store):
        assert instance._state.adding is False
        assert instance._state.db == connection.alias
    loaded_key.name = "renamed"
    with CaptureQueriesContext(connection) as queries:
        loaded_key.save()

    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["UPDATE"]
    assert ApiKey.objects.count() == 1
    assert ApiKey.objects.get(pk=api_key.pk).name == "renamed"


def test_a_loaded_instance_is_made_by_from_db_so_init_signals_see_it(store):
    loader = sql.loader(Store, "x")
    [row] = sql.fetch_rows(
        f"SELECT {loader.columns} FROM stores_store x WHERE x.id = %s", [store.pk]
    )
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    signals.post_init.connect(receiver, sender=Store)
    try:
        loaded = loader.load(row)
    finally:
        signals.post_init.disconnect(receiver, sender=Store)

    assert seen == [loaded]
    assert fields_of(loaded) == fields_of(Store.objects.get(pk=store.pk))


# --- writing ------------------------------------------------------------------------


def test_write_inserts_each_group_and_runs_the_update_in_one_statement_on_postgresql(
    store, django_assert_num_queries
):
    coupon = CouponFactory(store=store, code="SAVE5")
    customer = CustomerFactory(store=store)
    redemptions = [
        Redemption(
            store=store,
            coupon=coupon,
            customer=customer if n else None,
            order_value=1000 * (n + 1),
            discount_amount=500,
            transaction_number=f"T-{n}" if n else None,
        )
        for n in range(3)
    ]
    events = [
        audit_event(
            store,
            object_id=redemptions[0].pk,
            coupon_id=coupon.pk,
            changes={"order_value": 1000, "transaction_number": None},
        ),
        audit_event(store, object_id=redemptions[1].pk, actor_id=None),
    ]

    # SQLite: the redemptions' compact ids are allocated first (core.compact); on
    # PostgreSQL the column's sequence default gives them in the one statement.
    with django_assert_num_queries(1 if is_postgresql() else 4):
        sql.write(
            redemptions,
            events,
            then=(
                "UPDATE coupons_coupon SET redeemed_count = redeemed_count + %s "
                "WHERE id = %s",
                [3, coupon.pk],
            ),
        )

    for instance in (*redemptions, *events):
        assert instance._state.adding is False
        assert instance._state.db == connection.alias
        stored = type(instance).objects.get(pk=instance.pk)
        assert fields_of(stored) == fields_of(instance)
    assert Redemption.objects.filter(coupon=coupon).count() == 3
    assert AuditEvent.objects.filter(store=store).count() == 2
    assert Coupon.objects.get(pk=coupon.pk).redeemed_count == 3


def test_write_applies_model_defaults_and_auto_now_like_the_orm(store):
    coupon = Coupon(store=store, code="PLAIN")
    customer = Customer(store=store, email="ann@example.com")
    event = audit_event(store)

    sql.write([coupon], [customer], [event])

    stored = Coupon.objects.get(pk=coupon.pk)
    assert fields_of(stored) == fields_of(coupon)
    assert (stored.duration, stored.discount_type, stored.redeemed_count) == (
        "once",
        "unspecified",
        0,
    )
    assert stored.enabled is True
    assert stored.apply_to_products is None
    # None is SQL NULL, not a JSON null.
    assert Coupon.objects.filter(pk=coupon.pk, apply_to_products__isnull=True).exists()
    assert timezone.is_aware(stored.created_at)
    stored_customer = Customer.objects.get(pk=customer.pk)
    assert fields_of(stored_customer) == fields_of(customer)
    assert stored_customer.updated_at is not None
    assert timezone.is_aware(stored_customer.updated_at)
    assert AuditEvent.objects.get(pk=event.pk).changes == {}


def test_written_objects_are_saved_instances(store):
    coupon = Coupon(store=store, code="LATER")
    event = audit_event(store)

    sql.write([coupon], [event])
    coupon.note = "edited"
    with CaptureQueriesContext(connection) as queries:
        coupon.save()

    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["UPDATE"]
    assert Coupon.objects.get(pk=coupon.pk).note == "edited"
    assert Coupon.objects.count() == 1
    # The audit trail refuses to save an event that is already stored.
    with pytest.raises(AppendOnlyError):
        event.save()


def test_rows_of_one_write_may_reference_each_other(store):
    customer = Customer(store=store, email="bo@example.com")
    coupon = Coupon(store=store, code="NEW", usable_by_customer=customer)
    redemption = Redemption(
        store=store,
        coupon=coupon,
        customer=customer,
        order_value=1000,
        discount_amount=100,
    )

    sql.write([customer], [coupon], [redemption])
    # Foreign keys are deferred; check them now rather than at a commit that the
    # test's transaction never reaches.
    connection.check_constraints()

    stored = Redemption.objects.select_related("coupon").get(pk=redemption.pk)
    assert stored.coupon.usable_by_customer_id == customer.pk
    assert stored.customer_id == customer.pk


def test_write_skips_empty_groups(store, django_assert_num_queries):
    coupon = Coupon(store=store, code="ONLY")

    # (+1 on SQLite: the coupon's compact id, core.compact)
    with django_assert_num_queries(1 if is_postgresql() else 2):
        sql.write([], [coupon], [])

    assert list(Coupon.objects.values_list("code", flat=True)) == ["ONLY"]
    assert coupon._state.adding is False


def test_write_with_only_an_update_runs_it(store, django_assert_num_queries):
    coupon = CouponFactory(store=store, received_count=4)

    with django_assert_num_queries(1):
        sql.write(
            [],
            then=(
                "UPDATE coupons_coupon SET received_count = received_count + 1 "
                "WHERE id = %s",
                (coupon.pk,),
            ),
        )

    assert Coupon.objects.get(pk=coupon.pk).received_count == 5


def test_write_with_nothing_does_nothing(store, django_assert_num_queries):
    before = counts()

    with django_assert_num_queries(0):
        sql.write()
        sql.write([], [])

    assert counts() == before


def test_a_unique_violation_in_a_later_group_leaves_nothing_written(store):
    CouponFactory(store=store, code="TAKEN")
    before = counts()
    customers = [CustomerFactory.build(store=store) for _ in range(3)]
    coupons = [Coupon(store=store, code="FRESH"), Coupon(store=store, code="taken")]
    event = audit_event(store)

    with pytest.raises(IntegrityError), transaction.atomic():
        sql.write(customers, coupons, [event])

    assert counts() == before
    assert not Coupon.objects.filter(code="FRESH").exists()
    assert all(obj._state.adding for obj in (*customers, *coupons, event))


def test_a_check_violation_in_the_update_leaves_the_inserts_unwritten(store):
    coupon = CouponFactory(
        store=store,
        redeem_limit_store_enabled=True,
        redeem_limit_store_amount=1,
        redeemed_count=1,
    )
    before = counts()
    redemption = Redemption(
        store=store, coupon=coupon, order_value=1000, discount_amount=100
    )
    event = audit_event(store, object_id=redemption.pk, coupon_id=coupon.pk)

    with pytest.raises(IntegrityError), transaction.atomic():
        sql.write(
            [redemption],
            [event],
            then=(
                "UPDATE coupons_coupon SET redeemed_count = redeemed_count + 1 "
                "WHERE id = %s",
                [coupon.pk],
            ),
        )

    assert counts() == before
    assert Coupon.objects.get(pk=coupon.pk).redeemed_count == 1
    assert redemption._state.adding is True


def test_a_check_violation_in_the_first_group_leaves_nothing_written(store):
    coupon = CouponFactory(store=store)
    before = counts()
    redemptions = [
        Redemption(store=store, coupon=coupon, order_value=1000, discount_amount=100),
        # The discount exceeds the order: redemption_discount_within_order.
        Redemption(store=store, coupon=coupon, order_value=100, discount_amount=500),
    ]

    with pytest.raises(IntegrityError), transaction.atomic():
        sql.write(
            redemptions,
            [audit_event(store)],
            then=(
                "UPDATE coupons_coupon SET redeemed_count = redeemed_count + 2 "
                "WHERE id = %s",
                [coupon.pk],
            ),
        )

    assert counts() == before
    assert Coupon.objects.get(pk=coupon.pk).redeemed_count == 0


# --- row counts -----------------------------------------------------------------------


def add_redeemed(coupon: Coupon, *, limit: int) -> tuple[str, list[object]]:
    """Count one redemption only while the coupon is under ``limit`` (the shape of
    the services' conditional counters)."""
    return (
        "UPDATE coupons_coupon SET redeemed_count = redeemed_count + 1 "
        "WHERE id = %s AND redeemed_count < %s",
        [coupon.pk, limit],
    )


@pytest.mark.parametrize("with_inserts", [False, True])
def test_write_answers_1_when_the_conditional_update_matches(store, with_inserts):
    coupon = CouponFactory(store=store, redeemed_count=2)
    groups = (
        ([Customer(store=store, email="cy@example.com")], [audit_event(store)])
        if with_inserts
        else ()
    )

    assert sql.write(*groups, then=add_redeemed(coupon, limit=3)) == 1

    assert Coupon.objects.get(pk=coupon.pk).redeemed_count == 3


@pytest.mark.parametrize("with_inserts", [False, True])
def test_write_answers_0_when_the_conditional_update_matches_nothing(
    store, with_inserts
):
    coupon = CouponFactory(store=store, redeemed_count=3)
    customer = Customer(store=store, email="di@example.com")
    event = audit_event(store)
    groups = ([customer], [event]) if with_inserts else ()

    assert sql.write(*groups, then=add_redeemed(coupon, limit=3)) == 0

    assert Coupon.objects.get(pk=coupon.pk).redeemed_count == 3
    # The INSERTs are written all the same (a data-modifying CTE always runs to
    # completion): the caller rolls back when the count says no.
    if with_inserts:
        assert Customer.objects.filter(pk=customer.pk).exists()
        assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_write_answers_the_update_count_not_the_inserted_rows(store):
    coupons = CouponFactory.create_batch(2, store=store, received_count=0)
    customers = [CustomerFactory.build(store=store) for _ in range(3)]

    counted = sql.write(
        customers,
        then=(
            "UPDATE coupons_coupon SET received_count = received_count + 1 "
            "WHERE store_id = %s",
            [store.pk],
        ),
    )

    assert counted == 2
    assert set(
        Coupon.objects.filter(pk__in=[c.pk for c in coupons]).values_list(
            "received_count", flat=True
        )
    ) == {1}


def test_write_without_then_answers_the_rows_of_its_one_insert(store):
    customers = [CustomerFactory.build(store=store) for _ in range(3)]

    assert sql.write(customers) == 3


def test_write_without_then_answers_the_rows_of_the_last_insert(store):
    # The last statement is the last group's INSERT on both databases: SQLite runs
    # the INSERTs one after the other, PostgreSQL makes it the CTE's main statement.
    customers = [CustomerFactory.build(store=store) for _ in range(3)]
    events = [audit_event(store, object_id=n) for n in range(2)]

    assert sql.write(customers, [], events) == 2

    assert Customer.objects.filter(store=store).count() == 3
    assert AuditEvent.objects.filter(store=store).count() == 2


def test_write_with_nothing_answers_0(store):
    assert sql.write() == 0
    assert sql.write([], []) == 0


# --- preparing values for an INSERT ---------------------------------------------------


def django_prepared(field, objects) -> list:
    """What Django's own INSERT sends for ``field`` of each object."""
    values = [
        field.get_db_prep_save(field.pre_save(obj, True), connection) for obj in objects
    ]
    # psycopg's Jsonb wrapper compares by identity; compare what it wraps.
    return [getattr(value, "obj", value) for value in values]


def prepared(field, objects) -> list:
    return [
        getattr(value, "obj", value)
        for value in sql._column(field, objects, connection.vendor)
    ]


def test_every_column_is_prepared_as_djangos_insert_prepares_it(store):
    coupon = CouponFactory(store=store)
    moment = datetime(2026, 5, 1, 12, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    objects = [
        Redemption(
            store=store,
            coupon=coupon,
            customer=None,
            order_value=n * 1000,
            discount_amount=0,
            transaction_number=f"T-{n}" if n % 2 else None,
            created_at=moment + timedelta(minutes=n),
            rolled_back_at=moment if n == 2 else None,
        )
        for n in range(4)
    ]
    events = [
        audit_event(store, changes={"n": n}, actor_label="ümlaut", series_id=None)
        for n in range(3)
    ]
    coupons = [
        Coupon(store=store, code=f"C{n}", enabled=bool(n), legacy_uuid=uuid.uuid4())
        for n in range(3)
    ]

    for group in (objects, events, coupons):
        for field in type(group[0])._meta.local_concrete_fields:
            assert prepared(field, group) == django_prepared(field, group), field.name


def test_values_of_other_types_are_prepared_by_django(store):
    coupon = CouponFactory(store=store)
    redemptions = [
        # A bool in an integer column, a numeric string in another, a date-only
        # value: Django converts them; so must an INSERT of ours.
        Redemption(store=store, coupon=coupon, order_value=True, discount_amount="7"),
        Redemption(store=store, coupon=coupon, order_value=5, discount_amount=3),
    ]
    fields = {f.name: f for f in Redemption._meta.local_concrete_fields}

    assert prepared(fields["order_value"], redemptions) == [1, 5]
    assert not any(
        isinstance(v, bool) for v in prepared(fields["order_value"], redemptions)
    )
    assert prepared(fields["discount_amount"], redemptions) == [7, 3]


def test_a_naive_datetime_is_made_aware_as_django_does(store):
    coupon = CouponFactory(store=store)
    naive = datetime(2026, 5, 1, 12, 30)  # noqa: DTZ001 - the case under test
    redemptions = [Redemption(store=store, coupon=coupon, created_at=naive)]
    field = Redemption._meta.get_field("created_at")

    with pytest.warns(RuntimeWarning, match="naive datetime"):
        ours = prepared(field, redemptions)
    with pytest.warns(RuntimeWarning, match="naive datetime"):
        assert ours == django_prepared(field, redemptions)


def test_a_field_with_a_preparation_of_its_own_is_prepared_by_it():
    class Upper(models.CharField):
        def get_prep_value(self, value):
            return value.upper()

    field = Upper(max_length=10)
    field.set_attributes_from_name("word")
    objects = [SimpleNamespace(word="abc"), SimpleNamespace(word="De")]

    assert sql._passthrough(field, connection.vendor) == frozenset()
    assert sql._column(field, objects, connection.vendor) == ["ABC", "DE"]


def test_only_plain_values_pass_through_and_datetimes_only_on_postgresql():
    fields = {f.name: f for f in Redemption._meta.local_concrete_fields}
    datetimes = sql._passthrough(fields["created_at"], connection.vendor)

    assert sql._passthrough(fields["order_value"], connection.vendor) == {
        int,
        type(None),
    }
    assert sql._passthrough(fields["coupon"], connection.vendor) == {int, type(None)}
    assert sql._passthrough(fields["dialect"], connection.vendor) == {str, type(None)}
    assert datetimes == ({datetime, type(None)} if is_postgresql() else set())
    assert sql._passthrough(AuditEvent._meta.get_field("changes"), "postgresql") == (
        frozenset()
    )


def test_many_rows_are_one_unnest_insert_on_postgresql(store):
    coupon = CouponFactory(store=store)
    redemptions = [
        Redemption(store=store, coupon=coupon, order_value=n, discount_amount=0)
        for n in range(300)
    ]

    with CaptureQueriesContext(connection) as queries:
        sql.write(redemptions)

    [query] = queries.captured_queries if is_postgresql() else queries[:1]
    assert ("UNNEST(" in query["sql"]) is is_postgresql()
    stored = Redemption.objects.filter(coupon=coupon).order_by("order_value")
    assert [fields_of(r) for r in stored] == [fields_of(r) for r in redemptions]


# --- single values ------------------------------------------------------------------


def value(sql_text: str, params: list, field) -> object:
    """One converted value through a ValueLoader (None when there is no row)."""
    row = sql.fetch_one((sql_text, params, (sql.ValueLoader(field),)))
    return row[0] if row else None


MAX_REDEEMED_SQL = (
    "SELECT MAX(created_at) FROM coupons_redemption "
    "WHERE coupon_id = %s AND rolled_back_at IS NULL"
)
CREATED_AT = Redemption._meta.get_field("created_at")


def redeemed_at(coupon: Coupon, *moments: datetime, **fields) -> list[Redemption]:
    return [
        RedemptionFactory(coupon=coupon, created_at=moment, **fields)
        for moment in moments
    ]


@pytest.mark.parametrize(
    "latest",
    [
        datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC),
        # A whole second: SQLite's text has no fraction then.
        datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC),
    ],
    ids=["microseconds", "whole-second"],
)
def test_value_gives_the_latest_created_at_as_the_orms_aggregate_does(store, latest):
    coupon = CouponFactory(store=store)
    redeemed_at(
        coupon,
        latest - timedelta(microseconds=1),
        latest,
        latest - timedelta(days=400),
    )
    # Left out: rolled back, or another coupon's.
    redeemed_at(coupon, latest + timedelta(hours=1), rolled_back_at=timezone.now())
    redeemed_at(CouponFactory(store=store), latest + timedelta(days=1))

    found = value(MAX_REDEEMED_SQL, [coupon.pk], CREATED_AT)

    orm = Redemption.objects.filter(
        coupon=coupon, rolled_back_at__isnull=True
    ).aggregate(latest=Max("created_at"))["latest"]
    assert isinstance(found, datetime)
    assert timezone.is_aware(found)
    assert found == orm == latest


def test_value_gives_a_time_of_another_zone_as_the_same_instant(store):
    coupon = CouponFactory(store=store)
    kolkata = datetime(2030, 1, 1, 0, 30, 0, 5, tzinfo=ZoneInfo("Asia/Kolkata"))
    redeemed_at(coupon, kolkata, kolkata - timedelta(hours=5))

    found = value(MAX_REDEEMED_SQL, [coupon.pk], CREATED_AT)

    assert found == kolkata
    assert (
        found
        == Redemption.objects.filter(coupon=coupon).aggregate(latest=Max("created_at"))[
            "latest"
        ]
    )


def test_value_is_none_when_no_row_matches_the_aggregate(store):
    coupon = CouponFactory(store=store)
    redeemed_at(coupon, timezone.now(), rolled_back_at=timezone.now())

    assert value(MAX_REDEEMED_SQL, [coupon.pk], CREATED_AT) is None
    assert (
        Redemption.objects.filter(coupon=coupon, rolled_back_at__isnull=True).aggregate(
            latest=Max("created_at")
        )["latest"]
        is None
    )


def test_value_is_none_when_the_query_has_no_row(store):
    assert (
        value(
            "SELECT created_at FROM coupons_redemption WHERE id = %s", [1], CREATED_AT
        )
        is None
    )


def test_value_applies_the_fields_converters_to_other_types(store):
    legacy = uuid.uuid4()
    coupon = CouponFactory(store=store, legacy_uuid=legacy, pooled=True)

    def column(name: str) -> object:
        return value(
            f"SELECT {name} FROM coupons_coupon WHERE id = %s",
            [coupon.pk],
            Coupon._meta.get_field(name),
        )

    assert column("legacy_uuid") == legacy
    assert isinstance(column("legacy_uuid"), uuid.UUID)
    assert column("pooled") is True
    assert column("redeemed_count") == 0


# --- parameters -----------------------------------------------------------------------


SET_EXPIRES_SQL = "UPDATE coupons_coupon SET expires_at = %s WHERE id = %s"


def stored_expires_at(coupon: Coupon) -> tuple[str | None, str | None]:
    """The column as the database holds it: its text and the type it is stored as
    (SQLite keeps a value's own type in any column)."""
    kind = "typeof(expires_at)" if connection.vendor == "sqlite" else "NULL"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT CAST(expires_at AS TEXT), {kind} FROM coupons_coupon "
            "WHERE id = %s",
            [coupon.pk],
        )
        return cursor.fetchone()


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2032, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2032, 3, 1, 5, 0, 0, tzinfo=ZoneInfo("Asia/Kolkata")),
        datetime(2032, 7, 4, 1, 30, 0, 1, tzinfo=ZoneInfo("America/New_York")),
    ],
    ids=["utc", "kolkata-whole-second", "new-york"],
)
def test_a_datetime_prepped_for_a_raw_update_reads_back_equal_through_the_orm(
    store, moment
):
    coupon = CouponFactory(store=store)
    by_orm = CouponFactory(store=store, expires_at=moment)

    with connection.cursor() as cursor:
        cursor.execute(
            SET_EXPIRES_SQL, [sql.prep(Coupon, "expires_at", moment), coupon.pk]
        )

    assert Coupon.objects.get(pk=coupon.pk).expires_at == moment
    # Stored exactly as the ORM stores it (SQLite compares the text), so the ORM's
    # lookups find it.
    assert stored_expires_at(coupon) == stored_expires_at(by_orm)
    assert set(
        Coupon.objects.filter(expires_at=moment).values_list("pk", flat=True)
    ) == {
        coupon.pk,
        by_orm.pk,
    }
    if not is_postgresql():
        assert stored_expires_at(coupon)[1] == "text"


def test_prep_keeps_none_so_a_raw_update_writes_null(store):
    coupon = CouponFactory(store=store, expires_at=timezone.now())

    prepped = sql.prep(Coupon, "expires_at", None)
    with connection.cursor() as cursor:
        cursor.execute(SET_EXPIRES_SQL, [prepped, coupon.pk])

    assert prepped is None
    assert stored_expires_at(coupon)[0] is None
    if not is_postgresql():
        assert stored_expires_at(coupon)[1] == "null"
    assert Coupon.objects.get(pk=coupon.pk).expires_at is None
    assert Coupon.objects.filter(pk=coupon.pk, expires_at__isnull=True).exists()


# --- clauses --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "clause"),
    [
        ({}, " FOR UPDATE"),
        ({"no_key": True}, " FOR NO KEY UPDATE"),
        ({"skip_locked": True}, " FOR UPDATE SKIP LOCKED"),
        ({"no_key": True, "skip_locked": True}, " FOR NO KEY UPDATE SKIP LOCKED"),
    ],
)
def test_for_update_is_the_lock_clause_on_postgresql_and_nothing_on_sqlite(
    store, options, clause
):
    coupon = CouponFactory(store=store)

    assert sql.for_update(**options) == (clause if is_postgresql() else "")
    # The clause ends a valid SELECT (inside a transaction, as the services lock).
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM coupons_coupon WHERE id = %s" + sql.for_update(**options),
            [coupon.pk],
        )
        assert cursor.fetchall() == [(coupon.pk,)]


def test_placeholders_are_comma_separated():
    assert sql.placeholders(3) == "%s, %s, %s"
    assert sql.placeholders(1) == "%s"


def test_placeholders_fill_an_in_list(store):
    coupons = CouponFactory.create_batch(3, store=store)
    CouponFactory(store=store)
    ids = [coupon.pk for coupon in coupons]

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM coupons_coupon WHERE id IN ({sql.placeholders(3)}) "
            "ORDER BY id",
            ids,
        )
        assert [row[0] for row in cursor.fetchall()] == sorted(ids)
