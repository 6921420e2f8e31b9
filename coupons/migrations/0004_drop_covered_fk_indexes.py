"""Drop the single-column indexes of foreign keys that a composite index already
leads with: fewer indexes to write on every redemption, receive and issue.

Only the index goes (``DROP INDEX``); the foreign key constraints stay as they are,
so no table is rewritten or rescanned. The state records ``db_index=False``.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('coupons', '0003_admin_filter_indexes'),
        ('customers', '0001_initial'),
        ('stores', '0004_coupon_managers_group'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
        migrations.AlterField(
            model_name='coupon',
            name='store',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='coupons', to='stores.store'),
        ),
        migrations.AlterField(
            model_name='redemption',
            name='customer',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='redemptions', to='customers.customer'),
        ),
        migrations.AlterField(
            model_name='redemption',
            name='store',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='redemptions', to='stores.store'),
        ),
                ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "coupons_coupon_store_id_42e0a586"',
                    reverse_sql='CREATE INDEX "coupons_coupon_store_id_42e0a586" ON "coupons_coupon" ("store_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "coupons_redemption_customer_id_d0266acf"',
                    reverse_sql='CREATE INDEX "coupons_redemption_customer_id_d0266acf" ON "coupons_redemption" ("customer_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "coupons_redemption_store_id_3b6adef0"',
                    reverse_sql='CREATE INDEX "coupons_redemption_store_id_3b6adef0" ON "coupons_redemption" ("store_id")',
                ),
            ],
        ),
    ]
