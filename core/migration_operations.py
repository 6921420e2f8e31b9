"""Migration operations that leave a big table writable while its indexes are built.

On PostgreSQL, ``CREATE INDEX`` holds a lock that blocks every write to the table
until the index is built (seconds to minutes on millions of rows); ``CREATE INDEX
CONCURRENTLY`` lets writes go on, at the price of running outside a transaction: a
migration using these operations says ``atomic = False``. Elsewhere (SQLite, in
development and the tests) they do what the plain operations do.
"""

from __future__ import annotations

from django.contrib.postgres.operations import (
    AddIndexConcurrently as PostgresAddIndexConcurrently,
)
from django.db.migrations.operations import AddIndex
from django.db.migrations.operations.base import Operation


def _postgres(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


class AddIndexConcurrently(PostgresAddIndexConcurrently):
    """``AddIndex``, built ``CONCURRENTLY`` on PostgreSQL."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if _postgres(schema_editor):
            return super().database_forwards(
                app_label, schema_editor, from_state, to_state
            )
        return AddIndex.database_forwards(
            self, app_label, schema_editor, from_state, to_state
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if _postgres(schema_editor):
            return super().database_backwards(
                app_label, schema_editor, from_state, to_state
            )
        return AddIndex.database_backwards(
            self, app_label, schema_editor, from_state, to_state
        )


class RebuildUniqueConstraint(Operation):
    """Replace a unique constraint kept as an index (a partial one) by ``new``, of
    the same name and the same rows (e.g. its columns in another order).

    On PostgreSQL the new index is built ``CONCURRENTLY`` under a temporary name,
    the old one dropped ``CONCURRENTLY`` and the new one renamed: the rows stay
    unique throughout, and writes go on.
    """

    reduces_to_sql = False
    reversible = True

    def __init__(self, model_name: str, old, new) -> None:
        if old.name != new.name:
            raise ValueError("the rebuilt constraint keeps its name")
        self.model_name = model_name
        self.old = old
        self.new = new

    def deconstruct(self):
        return (
            self.__class__.__qualname__,
            [],
            {"model_name": self.model_name, "old": self.old, "new": self.new},
        )

    def state_forwards(self, app_label, state):
        state.remove_constraint(app_label, self.model_name.lower(), self.old.name)
        state.add_constraint(app_label, self.model_name.lower(), self.new)

    def _rebuild(self, app_label, schema_editor, state, old, new) -> None:
        model = state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if not _postgres(schema_editor):
            schema_editor.remove_constraint(model, old)
            schema_editor.add_constraint(model, new)
            return
        if schema_editor.connection.in_atomic_block:
            raise ValueError(
                f"{type(self).__name__} runs CONCURRENTLY: the migration needs "
                "atomic = False"
            )
        temporary = new.clone()
        temporary.name = f"{new.name}_new"
        create = str(temporary.create_sql(model, schema_editor))
        quote = schema_editor.quote_name
        schema_editor.execute(
            create.replace("CREATE UNIQUE INDEX", "CREATE UNIQUE INDEX CONCURRENTLY", 1)
        )
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {quote(old.name)}")
        schema_editor.execute(
            f"ALTER INDEX {quote(temporary.name)} RENAME TO {quote(new.name)}"
        )

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._rebuild(app_label, schema_editor, to_state, self.old, self.new)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._rebuild(app_label, schema_editor, to_state, self.new, self.old)

    def describe(self):
        return f"Rebuild constraint {self.new.name} on {self.model_name}"

    @property
    def migration_name_fragment(self):
        return f"rebuild_{self.new.name.lower()}"
