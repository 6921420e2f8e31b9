"""Compact numeric ids (core.compact): the column, filled for every existing row
in id (creation) order by one set-based UPDATE (no row-by-row loop, however many
millions), then NOT NULL, unique, with its sequence as the default (PostgreSQL;
SQLite numbers through the compact_sequence table)."""

from django.db import migrations, models

import core.compact


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0002_email_folded"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="compact_id",
            field=models.BigIntegerField(editable=False, null=True),
        ),
        migrations.RunPython(
            core.compact.backfill("customers_customer"),
            core.compact.drop_sequence("customers_customer"),
        ),
        migrations.AlterField(
            model_name="customer",
            name="compact_id",
            field=core.compact.CompactIdField(),
        ),
        migrations.RunPython(
            core.compact.own_sequence("customers_customer"), migrations.RunPython.noop
        ),
    ]
