"""The per-process API key cache is gone (it needed a ``LISTEN`` connection, which
PgBouncer in transaction pooling cannot serve), and with it the statement triggers
of migration 0005 that told it about changes: nothing listens any more."""

import importlib

from django.db import migrations

_0005 = importlib.import_module("stores.migrations.0005_api_key_notify_trigger")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_0005.DROP)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_0005.CREATE)


class Migration(migrations.Migration):
    dependencies = [("stores", "0005_api_key_notify_trigger")]

    operations = [migrations.RunPython(forwards, backwards)]
