"""Drop the single-column indexes of foreign keys that a composite index already
leads with: fewer indexes to write on every redemption, receive and issue.

Only the index goes (``DROP INDEX``); the foreign key constraints stay as they are,
so no table is rewritten or rescanned. The state records ``db_index=False``.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('assignments', '0001_initial'),
        ('coupons', '0003_admin_filter_indexes'),
        ('customers', '0001_initial'),
        ('series', '0001_initial'),
        ('stores', '0004_coupon_managers_group'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
        migrations.AlterField(
            model_name='assignment',
            name='coupon',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='assignments', to='coupons.coupon'),
        ),
        migrations.AlterField(
            model_name='assignment',
            name='customer',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='assignments', to='customers.customer'),
        ),
        migrations.AlterField(
            model_name='assignment',
            name='series',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='assignments', to='series.series'),
        ),
        migrations.AlterField(
            model_name='assignment',
            name='store',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='assignments', to='stores.store'),
        ),
                ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "assignments_assignment_coupon_id_f6f4a84d"',
                    reverse_sql='CREATE INDEX "assignments_assignment_coupon_id_f6f4a84d" ON "assignments_assignment" ("coupon_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "assignments_assignment_customer_id_05331718"',
                    reverse_sql='CREATE INDEX "assignments_assignment_customer_id_05331718" ON "assignments_assignment" ("customer_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "assignments_assignment_series_id_68b76181"',
                    reverse_sql='CREATE INDEX "assignments_assignment_series_id_68b76181" ON "assignments_assignment" ("series_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "assignments_assignment_store_id_e545c7be"',
                    reverse_sql='CREATE INDEX "assignments_assignment_store_id_e545c7be" ON "assignments_assignment" ("store_id")',
                ),
            ],
        ),
    ]
