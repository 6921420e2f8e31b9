"""Each customer identifier leads its unique index (issue 22): (email_folded, store)
instead of (store, email_folded), the same for mobile and external ID.

The rows each index holds, and so what is unique, stay the same; every lookup with a
store reads them as before (both columns are given), and a lookup without one (a
superuser's admin search) is now an index lookup too instead of a walk over the
whole index.

Rebuilt CONCURRENTLY on PostgreSQL (``core.migration_operations``): the new index is
built beside the old one, which is then dropped; imports and issues go on meanwhile
and the identifiers stay unique throughout, so the migration is not atomic.
"""

from django.db import migrations, models

from core.migration_operations import RebuildUniqueConstraint


def _unique(first: str, name: str, message: str, *, identifier_first: bool):
    fields = (first, "store") if identifier_first else ("store", first)
    return models.UniqueConstraint(
        condition=models.Q(**{f"{first}__isnull": False}),
        fields=fields,
        name=name,
        violation_error_message=message,
    )


CONSTRAINTS = [
    (
        "email_folded",
        "customer_email_unique_per_store_ci",
        "A customer with this email already exists.",
    ),
    (
        "mobile",
        "customer_mobile_unique_per_store",
        "A customer with this mobile already exists.",
    ),
    (
        "external_id",
        "customer_external_id_unique_per_store",
        "A customer with this external ID already exists.",
    ),
]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("customers", "0003_compact_id")]

    operations = [
        RebuildUniqueConstraint(
            model_name="customer",
            old=_unique(*spec, identifier_first=False),
            new=_unique(*spec, identifier_first=True),
        )
        for spec in CONSTRAINTS
    ]
