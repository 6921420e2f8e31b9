"""Indexes for staff searching a code or an order number in every store (issue 22).

- ``coupon_code_folded_idx`` (code_folded, store): a superuser's search has no store,
  and the unique index of codes leads with the store and holds only the codes taken;
  this one holds every coupon, archived ones too.
- ``redemption_txn_idx``: redemptions by transaction number (rows that have one).

Built CONCURRENTLY on PostgreSQL (``core.migration_operations``): the tables stay
writable while a million rows are indexed, so the migration is not atomic.
"""

from django.db import migrations, models

from core.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("coupons", "0008_code_held")]

    operations = [
        AddIndexConcurrently(
            model_name="coupon",
            index=models.Index(
                fields=["code_folded", "store"], name="coupon_code_folded_idx"
            ),
        ),
        AddIndexConcurrently(
            model_name="redemption",
            index=models.Index(
                condition=models.Q(transaction_number__isnull=False),
                fields=["transaction_number"],
                name="redemption_txn_idx",
            ),
        ),
    ]
