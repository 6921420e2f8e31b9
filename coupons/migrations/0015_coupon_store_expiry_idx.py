"""``coupon_store_expiry_idx`` (store, expires_at) over the visible coupons that
expire: the bulk extension's dry run (``coupons.bulk.bulk_dry_run``) counts the
store's coupons it would change (expiring before the new date, live, not pooled) up
to its cap; without it that count walked the whole store to find the few (issue 22
item 5: 0.17-0.33 s on the bench's million coupons, 4-5x the list).

A coupon without an expiry is not in it, so issuing a code of a series without one
writes nothing more; a code with an expiry, a hand-made coupon with one and a
changed expiry write one entry (bench/README.md has the measured cost).

Built CONCURRENTLY on PostgreSQL (``core.migration_operations``), so the migration is
not atomic.
"""

from django.db import migrations, models

from core.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("coupons", "0014_coupon_series_id_idx")]

    operations = [
        AddIndexConcurrently(
            model_name="coupon",
            index=models.Index(
                condition=models.Q(
                    ("expires_at__isnull", False),
                    ("archived_at__isnull", True),
                    ("pooled", False),
                ),
                fields=["store", "expires_at"],
                name="coupon_store_expiry_idx",
            ),
        ),
    ]
