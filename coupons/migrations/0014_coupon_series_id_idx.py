"""``coupon_series_id_idx`` (series, id): a series' codes newest first, for the
coupons list filtered by series, what a series' bulk action opens (issue 22 item 5:
1.0-1.2 s on the bench's 100,000-code series, every page sorting them). It replaces
the foreign key's own index (series_id), dropped once it is built, so a coupon
writes no more index.

Built CONCURRENTLY on PostgreSQL (``core.migration_operations``), so the migration is
not atomic.
"""

import django.db.models.deletion
from django.db import migrations, models

from core.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("coupons", "0013_hold_and_line_admin_indexes"),
        ("series", "0001_initial"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="coupon",
            index=models.Index(fields=["series", "id"], name="coupon_series_id_idx"),
        ),
        migrations.AlterField(
            model_name="coupon",
            name="series",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="coupons",
                to="series.series",
            ),
        ),
    ]
