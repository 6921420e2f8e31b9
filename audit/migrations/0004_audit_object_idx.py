"""An index of the audit trail by object id, for staff searching the events of any
object by its id (issue 22); coupons, customers and series have theirs already.

Built CONCURRENTLY on PostgreSQL (``core.migration_operations``): every write path
records events, and they go on while it is built, so the migration is not atomic.
"""

from django.db import migrations, models

from core.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("audit", "0003_drop_covered_fk_indexes")]

    operations = [
        AddIndexConcurrently(
            model_name="auditevent",
            index=models.Index(fields=["object_id", "id"], name="audit_object_idx"),
        ),
    ]
