"""An index for the audit list's action filter in the admin (issue 22): (store,
action, id) of every event but those of the issue, receive and redeem paths, which
are most of the trail and written on every such request (they write no more index).

Built CONCURRENTLY on PostgreSQL (``core.migration_operations``): every write path
records events, and they go on while it is built, so the migration is not atomic.
"""

from django.db import migrations, models

from core.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("audit", "0004_audit_object_idx")]

    operations = [
        AddIndexConcurrently(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(
                    ("action__in", ("issue", "receive", "redeem")), _negated=True
                ),
                fields=["store", "action", "id"],
                name="audit_rare_action_idx",
            ),
        ),
    ]
