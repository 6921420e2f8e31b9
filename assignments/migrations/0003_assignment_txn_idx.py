"""An index of assignments' transaction numbers, for staff searching an order's
assignment (issue 22). Partial: only rows that have one.

Built CONCURRENTLY on PostgreSQL (``core.migration_operations``): issues and receives
go on while it is built, so the migration is not atomic.
"""

from django.db import migrations, models

from core.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("assignments", "0002_drop_covered_fk_indexes")]

    operations = [
        AddIndexConcurrently(
            model_name="assignment",
            index=models.Index(
                condition=models.Q(transaction_number__isnull=False),
                fields=["transaction_number"],
                name="assignment_txn_idx",
            ),
        ),
    ]
