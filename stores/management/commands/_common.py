"""Helpers shared by the stores commands."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError

from core import flake
from core.timefmt import iso_millis_z
from stores.models import Store


def find_store(value: str) -> Store:
    """A store by flake id or by code."""
    parsed = flake.parse(value)
    store = Store.objects.filter(id=parsed).first() if parsed else None
    store = store or Store.objects.filter(code=value).first()
    if store is None:
        raise CommandError(f"Store {value!r} not found (give its id or code).")
    return store


def store_json(store: Store) -> dict[str, Any]:
    return {
        "id": str(store.id),
        "name": store.name,
        "code": store.code,
        "is_active": store.is_active,
        "timezone": store.timezone,
        "currency": store.currency,
        "created_at": iso_millis_z(store.created_at),
    }


def dumps(data: Any) -> str:
    return json.dumps(data, indent=None, sort_keys=False)
