"""coupons 0006: the folded code backfilled in one UPDATE, and collisions refused."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection

from coupons.codes import fold_code
from tests.factories import StoreFactory
from tests.migrations import migrate, migrated_to

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("coupons", "0005_pool_inventory_indexes")]
AFTER = [("coupons", "0006_code_folded")]
migration = importlib.import_module("coupons.migrations.0006_code_folded")


@pytest.fixture
def before():
    with migrated_to(BEFORE, emptied="coupons_coupon"):
        yield


def _insert(store_id: int, rows: list[tuple[int, str, bool]]) -> None:
    with connection.cursor() as cursor:
        for pk, code, archived in rows:
            cursor.execute(
                "INSERT INTO coupons_coupon (id, store_id, code, enabled, duration, "
                "discount_type, discount_amount, discount_apply_individually, "
                "discount_apply_before_sales, minimum_order_value, "
                "redeem_limit_store_enabled, redeem_limit_store_amount, "
                "redeem_limit_customer_enabled, redeem_limit_customer_amount, "
                "usable_on_one_time_purchase, usable_on_subscription, "
                "is_first_order_only, origin, pooled, legacy_label, redeemed_count, "
                "received_count, created_by_type, created_at, archived_at) VALUES "
                "(%s, %s, %s, %s, 'once', 'amount', 0, %s, %s, 0, %s, 0, %s, 0, %s, "
                "%s, %s, 'manual', %s, '', 0, 0, 'internal', '2025-01-01', %s)",
                [
                    pk,
                    store_id,
                    code,
                    True,
                    False,
                    False,
                    False,
                    False,
                    True,
                    True,
                    False,
                    False,
                    "2025-02-01" if archived else None,
                ],
            )


def test_backfill_folds_ascii_letters_only(before):
    store = StoreFactory()
    codes = {1: "abc-Xyz", 2: "stra\u00dfe", 3: "\ufb01ve", 4: "\u0131ron", 5: "OK"}
    _insert(store.id, [(pk, code, False) for pk, code in codes.items()])

    migrate(AFTER)

    with connection.cursor() as cursor:
        cursor.execute("SELECT id, code_folded FROM coupons_coupon ORDER BY id")
        assert dict(cursor.fetchall()) == {
            pk: fold_code(code) for pk, code in codes.items()
        }


def test_live_codes_that_become_one_stop_the_migration_and_change_nothing(before):
    store = StoreFactory()
    # Only a collation whose UPPER does not fold i to I (Turkish) let these two live
    # side by side; the old index is dropped here to make that state.
    with connection.cursor() as cursor:
        cursor.execute('DROP INDEX "coupon_code_unique_per_store_ci"')
    _insert(store.id, [(1, "indirim", False), (2, "INDIRIM", False)])
    _insert(store.id, [(3, "old", True), (4, "OLD", False)])  # one archived: fine

    with pytest.raises(migration.CodeCollision) as raised:
        migrate(AFTER)

    message = str(raised.value)
    assert message.startswith("1 code(s) belong to several live coupons")
    assert f"store {store.id}: 1 'indirim', 2 'INDIRIM'" in message
    with connection.cursor() as cursor:
        described = connection.introspection.get_table_description(
            cursor, "coupons_coupon"
        )
        cursor.execute("DELETE FROM coupons_coupon WHERE id = 2")
        cursor.execute(
            'CREATE UNIQUE INDEX "coupon_code_unique_per_store_ci" ON coupons_coupon '
            "(store_id, UPPER(code)) WHERE archived_at IS NULL"
        )
    assert "code_folded" not in {column.name for column in described}
