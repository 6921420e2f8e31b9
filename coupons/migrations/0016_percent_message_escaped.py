# The constraint's message is %-formatted by Django (with {"name": ...}); a bare
# "%)" made every violation a ValueError (a 500 in the admin form). State only:
# AlterConstraint does not touch the database.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("coupons", "0015_coupon_store_expiry_idx"),
    ]

    operations = [
        migrations.AlterConstraint(
            model_name="coupon",
            name="coupon_percent_at_most_100",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("discount_type", "percent"), _negated=True),
                    ("discount_amount__lte", 1000),
                    _connector="OR",
                ),
                name="coupon_percent_at_most_100",
                violation_error_message="A percent cannot exceed 1000 (100 %%).",
            ),
        ),
    ]
