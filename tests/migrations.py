"""Migration tests: move the test database to a migration and back again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(targets: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def applied() -> list[tuple[str, str]]:
    """The last applied migration of each app: what to migrate back to."""
    loader = MigrationExecutor(connection).loader
    done = set(loader.applied_migrations)
    return [
        node
        for node in done
        if not any(
            child.key in done and child.key[0] == node[0]
            for child in loader.graph.node_map[node].children
        )
    ]


@contextmanager
def migrated_to(targets: list[tuple[str, str]], *, emptied: str) -> Iterator[None]:
    """The schema at ``targets`` inside; the test database's schema again afterwards
    (exactly the migrations it had: never one added to the tree since), with the
    table ``emptied`` cleared first (what a test left there may collide)."""
    restore = applied()
    migrate(targets)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {emptied}")
        migrate(restore)
