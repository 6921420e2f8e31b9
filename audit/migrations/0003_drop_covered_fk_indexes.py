"""Drop the single-column indexes of foreign keys that a composite index already
leads with: fewer indexes to write on every redemption, receive and issue.

Only the index goes (``DROP INDEX``); the foreign key constraints stay as they are,
so no table is rewritten or rescanned. The state records ``db_index=False``.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0002_append_only_trigger'),
        ('stores', '0004_coupon_managers_group'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
        migrations.AlterField(
            model_name='auditevent',
            name='store',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='stores.store'),
        ),
                ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "audit_auditevent_store_id_42e7792a"',
                    reverse_sql='CREATE INDEX "audit_auditevent_store_id_42e7792a" ON "audit_auditevent" ("store_id")',
                ),
            ],
        ),
    ]
