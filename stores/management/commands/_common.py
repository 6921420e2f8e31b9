"""Helpers shared by the stores commands."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeVar

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


T = TypeVar("T")


def dumps(data: Any) -> str:
    return json.dumps(data, indent=None, sort_keys=False)


def output_path(value: str, option: str) -> Path:
    """The file ``option`` names for writing, checked before any work is done: not
    a folder, in a folder that exists."""
    path = Path(value)
    if path.is_dir():
        raise CommandError(f"{option} {value}: is a folder; give a file name.")
    if not path.parent.is_dir():
        raise CommandError(f"No such folder: {path.parent}")
    return path


@contextmanager
def open_output(path: Path, option: str) -> Iterator[IO[str]]:
    """``path`` opened for writing (UTF-8, CSV newlines); a refusal of the system
    (permission, read-only file system, a full disk) is a CommandError, not a
    traceback."""
    try:
        with path.open("w", newline="", encoding="utf-8") as handle:
            yield handle
    except OSError as exc:
        raise unwritable(path, option, exc) from exc


def unwritable(path: Path, option: str, exc: OSError) -> CommandError:
    return CommandError(f"{option} {path}: cannot be written ({exc.strerror}).")


def unreadable(path: Path, exc: OSError) -> CommandError:
    """The error of an input file the system refuses to read."""
    return CommandError(f"{path}: cannot be read ({exc.strerror}).")


def read_input(read: Callable[[Path], T], path: Path, refused: type[Exception]) -> T:
    """``read(path)``; its own refusal (``refused``: a bad header, an empty file), a
    file that is not UTF-8 and a file the system refuses to read are CommandErrors."""
    try:
        return read(path)
    except (refused, UnicodeDecodeError) as exc:
        raise CommandError(str(exc)) from exc
    except OSError as exc:
        raise unreadable(path, exc) from exc
