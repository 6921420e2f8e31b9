"""The email's folded form in a column of its own, and its unique index on it.

Until now the unique index was on ``LOWER(email)``, PostgreSQL's lower-casing (which
follows the collation: under C.UTF-8 it makes ``İ`` an ``i``) while Python looked
customers up by ``email.lower()`` (``İ`` -> ``i`` + U+0307): the two disagreed. Now
``customers.identifiers.fold_email`` folds it, once, on write, into
``email_folded``, and the index and every lookup compare that.

Backfill, set-based: an ASCII address (all but a handful) is folded in one UPDATE
(``TRANSLATE`` of A-Z to a-z is exactly ``fold_email`` on ASCII, whatever the
collation); only the non-ASCII addresses are read and folded by Python, in batches
of 1,000, because no SQL function lower-cases exactly as Python does.

Collisions: customers of one store whose emails were distinct under the old index
but are one address now (``É@x`` beside ``É@x`` spelled decomposed, ``İ`` beside
``i`` + U+0307, ...) are one person registered twice. Which one to keep, and what
becomes of the other's coupons, is a person's decision: the migration then stops,
changes nothing (one transaction), and names them; edit or clear the email of all
but one of each group (admin, or PATCH), then migrate again.
"""

from django.db import migrations, models

BATCH = 1_000
SHOWN = 20


class IdentifierCollision(Exception):
    pass


def _ascii_fold_sql(vendor: str) -> tuple[str, str]:
    """(fold of an ASCII email, condition "email is ASCII") for ``vendor``."""
    upper, lower = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"
    if vendor == "postgresql":
        return (
            f"TRANSLATE(email, '{upper}', '{lower}')",
            "octet_length(email) = char_length(email)",
        )
    folded = "email"
    for big, small in zip(upper, lower, strict=True):
        folded = f"REPLACE({folded}, '{big}', '{small}')"
    return folded, "length(CAST(email AS BLOB)) = length(email)"


def backfill(apps, schema_editor):
    from customers.identifiers import fold_email

    Customer = apps.get_model("customers", "Customer")
    connection = schema_editor.connection
    folded, is_ascii = _ascii_fold_sql(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE customers_customer SET email_folded = {folded} "
            f"WHERE email IS NOT NULL AND {is_ascii}"
        )
    rest = (
        Customer.objects.filter(email__isnull=False, email_folded__isnull=True)
        .order_by("id")
        .only("id", "email")
    )
    last = None
    while batch := list((rest if last is None else rest.filter(id__gt=last))[:BATCH]):
        for customer in batch:
            customer.email_folded = fold_email(customer.email)
        Customer.objects.bulk_update(batch, ["email_folded"])
        last = batch[-1].id
    _refuse_collisions(connection)


def _refuse_collisions(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT store_id, email_folded FROM customers_customer "
            "WHERE email_folded IS NOT NULL GROUP BY store_id, email_folded "
            "HAVING COUNT(*) > 1 ORDER BY store_id, email_folded"
        )
        groups = cursor.fetchall()
        if not groups:
            return
        lines = []
        for store_id, folded in groups[:SHOWN]:
            cursor.execute(
                "SELECT id, email FROM customers_customer "
                "WHERE store_id = %s AND email_folded = %s ORDER BY id",
                [store_id, folded],
            )
            rows = ", ".join(f"{pk} {email!r}" for pk, email in cursor.fetchall())
            lines.append(f"  store {store_id}: {rows}")
    more = f"\n  ... and {len(groups) - SHOWN} more" if len(groups) > SHOWN else ""
    raise IdentifierCollision(
        f"{len(groups)} email address(es) belong to several customers of one store "
        "once folded (customers.identifiers.fold_email); nothing was changed. Edit "
        "or clear the email of all but one customer of each group, then migrate "
        "again:\n" + "\n".join(lines) + more
    )


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="email_folded",
            field=models.CharField(editable=False, max_length=1000, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name="customer",
            name="customer_email_unique_per_store_ci",
        ),
        migrations.AddConstraint(
            model_name="customer",
            constraint=models.UniqueConstraint(
                condition=models.Q(("email_folded__isnull", False)),
                fields=("store", "email_folded"),
                name="customer_email_unique_per_store_ci",
                violation_error_message="A customer with this email already exists.",
            ),
        ),
    ]
