"""Compact numeric ids (core.compact): the column, filled for every existing row
in id (creation) order by one set-based UPDATE (no row-by-row loop, however many
millions), then NOT NULL, unique, with its sequence as the default (PostgreSQL;
SQLite numbers through the compact_sequence table)."""

from django.db import migrations, models

import core.compact


class Migration(migrations.Migration):
    dependencies = [
        ("series", "0002_amounts_up_to_four_decimals"),
    ]

    operations = [
        migrations.AddField(
            model_name="series",
            name="compact_id",
            field=models.BigIntegerField(editable=False, null=True),
        ),
        migrations.RunPython(
            core.compact.backfill("series_series"),
            core.compact.drop_sequence("series_series"),
        ),
        migrations.AlterField(
            model_name="series",
            name="compact_id",
            field=core.compact.CompactIdField(),
        ),
        migrations.RunPython(
            core.compact.own_sequence("series_series"), migrations.RunPython.noop
        ),
    ]
