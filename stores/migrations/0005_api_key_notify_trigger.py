"""On PostgreSQL, a change to API keys, stores or outlets notifies every process
that caches API keys (``stores.keycache``) when it commits.

Statement triggers: one notification per statement, however many rows, and
PostgreSQL folds identical notifications of one transaction into one. TRUNCATE
notifies too.
"""

from django.db import migrations

TABLES = ("stores_apikey", "stores_store", "stores_outlet")

CREATE = """
CREATE OR REPLACE FUNCTION stores_api_keys_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('couponhub_api_keys', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
""" + "".join(
    f"""
CREATE TRIGGER {table}_notify_api_keys
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION stores_api_keys_changed();
"""
    for table in TABLES
)
DROP = "".join(
    f"DROP TRIGGER IF EXISTS {table}_notify_api_keys ON {table};\n"
    for table in TABLES
) + "DROP FUNCTION IF EXISTS stores_api_keys_changed();\n"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("stores", "0004_coupon_managers_group")]

    operations = [migrations.RunPython(forwards, backwards)]
