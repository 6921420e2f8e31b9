"""The code's folded form in a column of its own, and its unique index on it.

Until now the unique index was on ``UPPER(code)`` and Python looked codes up by
``code.upper()``: each folded by its own Unicode rules, so ``ß``/``ﬁ``/dotless i
(U+0131) in a request matched ``SS``/``FI``/``I``. Now ``coupons.codes.fold_code``
folds ASCII letters only, once, on write, into ``code_folded``, and the index and
every lookup compare that. Codes are still shown as they were created (``code``).

Backfill, set-based: one UPDATE with ``TRANSLATE`` of a-z to A-Z (REPLACE on SQLite),
which is exactly ``fold_code``, whatever the collation.

Collisions: live codes of one store that were distinct under ``UPPER`` but are one
code now can exist only where ``UPPER`` did not fold ASCII letters to their ASCII
capitals (a Turkish collation: ``i`` -> ``İ``). A code may already be in customers'
hands, so which one stays is a person's decision: the migration then stops, changes
nothing (one transaction), and names them; archive or recode all but one of each
group, then migrate again.
"""

from django.db import migrations, models

SHOWN = 20


class CodeCollision(Exception):
    pass


def _fold_sql(vendor: str) -> str:
    lower, upper = "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    if vendor == "postgresql":
        return f"TRANSLATE(code, '{lower}', '{upper}')"
    folded = "code"
    for small, big in zip(lower, upper, strict=True):
        folded = f"REPLACE({folded}, '{small}', '{big}')"
    return folded


def backfill(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE coupons_coupon SET code_folded = {_fold_sql(connection.vendor)}"
        )
        cursor.execute(
            "SELECT store_id, code_folded FROM coupons_coupon "
            "WHERE archived_at IS NULL GROUP BY store_id, code_folded "
            "HAVING COUNT(*) > 1 ORDER BY store_id, code_folded"
        )
        groups = cursor.fetchall()
        if not groups:
            return
        lines = []
        for store_id, folded in groups[:SHOWN]:
            cursor.execute(
                "SELECT id, code FROM coupons_coupon WHERE store_id = %s "
                "AND code_folded = %s AND archived_at IS NULL ORDER BY id",
                [store_id, folded],
            )
            rows = ", ".join(f"{pk} {code!r}" for pk, code in cursor.fetchall())
            lines.append(f"  store {store_id}: {rows}")
    more = f"\n  ... and {len(groups) - SHOWN} more" if len(groups) > SHOWN else ""
    raise CodeCollision(
        f"{len(groups)} code(s) belong to several live coupons of one store once "
        "folded (coupons.codes.fold_code); nothing was changed. Archive or recode "
        "all but one coupon of each group, then migrate again:\n"
        + "\n".join(lines)
        + more
    )


class Migration(migrations.Migration):
    dependencies = [
        ("coupons", "0005_pool_inventory_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="coupon",
            name="code_folded",
            field=models.CharField(editable=False, max_length=100, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="coupon",
            name="code_folded",
            field=models.CharField(editable=False, max_length=100),
        ),
        migrations.RemoveConstraint(
            model_name="coupon",
            name="coupon_code_unique_per_store_ci",
        ),
        migrations.AddConstraint(
            model_name="coupon",
            constraint=models.UniqueConstraint(
                condition=models.Q(("archived_at__isnull", True)),
                fields=("store", "code_folded"),
                name="coupon_code_unique_per_store_ci",
                violation_error_message="This code is already taken in this store.",
            ),
        ),
    ]
