"""Indexes for the coupon list's rare filter values in the admin (issue 22).

- ``coupon_disabled_idx`` (store, id) of the disabled coupons;
- ``coupon_manual_idx`` (store, id) of the hand-made coupons (generated codes, made by
  the million, are not written to it).

Every coupon, pooled and archived ones too (the admin lists them; the VISIBLE
indexes of the vendor APIs leave them out). Built CONCURRENTLY on PostgreSQL
(``core.migration_operations``), so the migration is not atomic.
"""

from django.db import migrations, models

from core.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("coupons", "0009_admin_search_indexes")]

    operations = [
        AddIndexConcurrently(
            model_name="coupon",
            index=models.Index(
                condition=models.Q(("enabled", False)),
                fields=["store", "id"],
                name="coupon_disabled_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="coupon",
            index=models.Index(
                condition=models.Q(("origin", "manual")),
                fields=["store", "id"],
                name="coupon_manual_idx",
            ),
        ),
    ]
