"""Indexes for the audit list's channel, actor type and object type filters in the
admin (issue 22 item 5), as ``audit_rare_action_idx`` is for the action filter:
(store, <column>, id) of the events whose value the API's request paths do not
write (channels other than the dialects', actors other than API keys, objects other
than assignments, redemptions and holds). Those paths, most of the trail, write no
more index; their own values are dense in a store and found by walking it.

Built CONCURRENTLY on PostgreSQL (``core.migration_operations``): every write path
records events, and they go on while it is built, so the migration is not atomic.
"""

from django.db import migrations, models

from core.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("audit", "0005_audit_rare_action_idx")]

    operations = [
        AddIndexConcurrently(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(
                    (
                        "channel__in",
                        (
                            "paynow",
                            "shoplazza",
                            "capillary",
                            "newstore",
                            "capillary_v11",
                        ),
                    ),
                    _negated=True,
                ),
                fields=["store", "channel", "id"],
                name="audit_rare_channel_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("actor_type__in", ("api_key",)), _negated=True),
                fields=["store", "actor_type", "id"],
                name="audit_rare_actor_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(
                    ("object_type__in", ("assignment", "redemption", "hold")),
                    _negated=True,
                ),
                fields=["store", "object_type", "id"],
                name="audit_rare_object_idx",
            ),
        ),
    ]
