"""Compact numeric ids (core.compact): the column, filled for every existing row
in id (creation) order by one set-based UPDATE (no row-by-row loop, however many
millions), then NOT NULL, unique, with its sequence as the default (PostgreSQL;
SQLite numbers through the compact_sequence table)."""

from django.db import migrations, models

import core.compact


class Migration(migrations.Migration):
    dependencies = [
        ("coupons", "0006_code_folded"),
    ]

    operations = [
        migrations.AddField(
            model_name="coupon",
            name="compact_id",
            field=models.BigIntegerField(editable=False, null=True),
        ),
        migrations.RunPython(
            core.compact.backfill("coupons_coupon"),
            core.compact.drop_sequence("coupons_coupon"),
        ),
        migrations.AlterField(
            model_name="coupon",
            name="compact_id",
            field=core.compact.CompactIdField(),
        ),
        migrations.RunPython(
            core.compact.own_sequence("coupons_coupon"), migrations.RunPython.noop
        ),
        migrations.AddField(
            model_name="redemption",
            name="compact_id",
            field=models.BigIntegerField(editable=False, null=True),
        ),
        migrations.RunPython(
            core.compact.backfill("coupons_redemption"),
            core.compact.drop_sequence("coupons_redemption"),
        ),
        migrations.AlterField(
            model_name="redemption",
            name="compact_id",
            field=core.compact.CompactIdField(),
        ),
        migrations.RunPython(
            core.compact.own_sequence("coupons_redemption"), migrations.RunPython.noop
        ),
    ]
