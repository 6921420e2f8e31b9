"""Indexes for the holds' and the redemption lines' admin (issue 22 item 5):

- ``hold_coupon_idx`` (coupon, id): a coupon's holds of any state, for its change
  page and the holds list searched by code (``hold_live_idx`` has the active ones
  only);
- ``hold_store_state_idx`` (store, state, id): one store's holds of one state, for the
  list's state filter (active holds are few among the ended ones);
- ``redemption_line_store_idx`` (store, id): the lines list's store filter and
  store-scoped staff.

Built CONCURRENTLY on PostgreSQL (``core.migration_operations``): holds and lines are
written by the checkouts while they are built, so the migration is not atomic.
"""

from django.db import migrations, models

from core.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("coupons", "0012_holds")]

    operations = [
        AddIndexConcurrently(
            model_name="hold",
            index=models.Index(fields=["coupon", "id"], name="hold_coupon_idx"),
        ),
        AddIndexConcurrently(
            model_name="hold",
            index=models.Index(
                fields=["store", "state", "id"], name="hold_store_state_idx"
            ),
        ),
        AddIndexConcurrently(
            model_name="redemptionline",
            index=models.Index(
                fields=["store", "id"], name="redemption_line_store_idx"
            ),
        ),
    ]
