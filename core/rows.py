"""Changing a row that a request read before: lock it again, write only what changed.

A request reads its row before the service's transaction starts (to scope it to the
store, to answer 404). Saving that copy later writes back every field as it was read,
undoing a concurrent update, and when the row was deleted meanwhile Django's
``save()`` finds nothing to UPDATE and INSERTs it again. So every service that updates
or deletes a row takes it with ``lock`` inside its transaction and works on that copy,
and writes it with ``save_fields`` (an UPDATE of the named columns, never an INSERT).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from django.db import models

from core.errors import DomainError

M = TypeVar("M", bound=models.Model)


def lock(
    queryset: models.QuerySet[M],
    *,
    pk: object,
    missing: DomainError,
    no_key: bool = False,
) -> M:
    """The row ``pk`` of ``queryset``, read now and locked (FOR UPDATE) until the
    transaction ends; ``missing`` is raised when it is gone (or no longer matches).

    A request that waited for the lock reads the row as the previous holder left it.
    ``no_key``: FOR NO KEY UPDATE, for a change that neither deletes the row nor
    changes its key, so that inserts referencing it (whose foreign key check takes
    FOR KEY SHARE) do not wait for it.
    """
    row = queryset.select_for_update(no_key=no_key).filter(pk=pk).first()
    if row is None:
        raise missing
    return row


def save_fields(instance: models.Model, fields: Iterable[str]) -> None:
    """UPDATE only ``fields`` of the (locked) row: never an INSERT, and nothing when
    no field is named. A row that vanished anyway is a DatabaseError, not a new row."""
    names = list(dict.fromkeys(fields))
    if names:
        instance.save(update_fields=names)
