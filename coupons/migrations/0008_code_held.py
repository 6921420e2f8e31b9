"""An archived coupon that someone received or used keeps its code (``code_held``).

Until now deleting a coupon with history archived it and the unique index on the
folded code covered live coupons only, so the code was free again: a new coupon could
take it, and the customer holding the old code then redeemed the new one (issue 16
item 1). Now the index covers ``archived_at IS NULL OR code_held``
(``coupons.models.HOLDS_CODE``), and ``coupons.services.coupon_delete`` sets
``code_held`` when it archives a coupon with assignments or redemptions.

Backfill, set-based: one UPDATE holds, per store and folded code, the newest archived
coupon with assignments or redemptions (rolled back ones count: the code was used).
Two kinds of old rows are left un-held, since the new index would refuse them and
the code cannot be taken back from the coupon that has it now:

- an archived coupon whose code a live coupon of the store has since taken (which
  this very bug allowed): the live coupon keeps the code;
- an older archived coupon of a code held by a newer one: the code is held once.

Their holders' codes stay what they were before this migration: they name the live
coupon, or nothing. The UPDATE touches only archived rows (their index,
``coupon_archived_idx``).
"""

from django.db import migrations, models


def hold_used_codes(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "UPDATE coupons_coupon SET code_held = %s WHERE id IN ("
            " SELECT MAX(c.id) FROM coupons_coupon c"
            " WHERE c.archived_at IS NOT NULL"
            " AND (EXISTS (SELECT 1 FROM coupons_redemption r WHERE r.coupon_id = c.id)"
            " OR EXISTS (SELECT 1 FROM assignments_assignment a"
            " WHERE a.coupon_id = c.id))"
            " AND NOT EXISTS (SELECT 1 FROM coupons_coupon live"
            " WHERE live.store_id = c.store_id AND live.code_folded = c.code_folded"
            " AND live.archived_at IS NULL)"
            " GROUP BY c.store_id, c.code_folded)",
            [True],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("coupons", "0007_compact_ids"),
        # The backfill reads assignments_assignment.
        ("assignments", "0002_drop_covered_fk_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="coupon",
            name="code_held",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.RunPython(hold_used_codes, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name="coupon",
            name="coupon_code_unique_per_store_ci",
        ),
        migrations.AddConstraint(
            model_name="coupon",
            constraint=models.UniqueConstraint(
                condition=models.Q(archived_at__isnull=True) | models.Q(code_held=True),
                fields=("store", "code_folded"),
                name="coupon_code_unique_per_store_ci",
                violation_error_message="This code is already taken in this store.",
            ),
        ),
        migrations.AddConstraint(
            model_name="coupon",
            constraint=models.CheckConstraint(
                condition=models.Q(code_held=False)
                | models.Q(archived_at__isnull=False),
                name="coupon_code_held_only_archived",
                violation_error_message="Only an archived coupon holds its code.",
            ),
        ),
    ]
