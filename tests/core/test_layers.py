"""The layers (DESIGN.md, Layers; STYLE.md, Where code goes), checked on the imports
of the product code: ``core`` imports no app; no domain module imports a dialect
module; no dialect module imports another app's dialect module (what dialects share
is in ``core/dialects``; every dialect's view bases are ``stores.api.dialects``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parents[2]
APPS = sorted(
    config.name
    for config in apps.get_app_configs()
    if Path(config.path).parent == ROOT and config.name != "core"
)
# The dialects' view bases (auth form, permissions, error table, idempotency): the
# tenancy's, and what every dialect module stands on.
VIEW_BASES = "stores.api.dialects"
# The API's authentication of the stores app raises the dialects' scoped 403.
EDGES = {"stores/auth.py"}


def imports_of(path: Path) -> list[str]:
    """Every module ``path`` imports (``from x import y``: ``x`` and ``x.y``)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def files_of(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def is_dialect(name: str) -> bool:
    parts = name.split(".")
    return "api" in parts[:2] or name.startswith("core.dialects")


def test_the_apps_are_found():
    assert {"stores", "customers", "coupons", "series", "assignments"} <= set(APPS)


def test_core_imports_no_app():
    found = [
        f"{relative(path)}: {name}"
        for path in files_of("core")
        for name in imports_of(path)
        if name.split(".")[0] in APPS
    ]

    assert found == []


@pytest.mark.parametrize("app", APPS)
def test_a_domain_module_imports_no_dialect(app):
    found = [
        f"{relative(path)}: {name}"
        for path in files_of(app)
        if "api" not in path.relative_to(ROOT / app).parts[:1]
        and relative(path) not in EDGES
        for name in imports_of(path)
        if is_dialect(name)
    ]

    assert found == []


@pytest.mark.parametrize("app", APPS)
def test_a_dialect_module_imports_no_other_apps_dialect_module(app):
    found = [
        f"{relative(path)}: {name}"
        for path in files_of(f"{app}/api")
        if (ROOT / app / "api").is_dir()
        for name in imports_of(path)
        if is_dialect(name) and not name.startswith(("core.", f"{app}.", VIEW_BASES))
    ]

    assert found == []


def test_the_scans_see_an_import_of_each_kind(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "import coupons.api.paynow\n"
        "from customers.api import capillary\n"
        "from core.dialects.fields import ChoiceField\n"
        "from . import sibling\n"
    )

    names = imports_of(module)

    assert "coupons.api.paynow" in names
    assert "customers.api.capillary" in names
    assert "core.dialects.fields.ChoiceField" in names
    assert [name for name in names if is_dialect(name)] == [
        "coupons.api.paynow",
        "customers.api",
        "customers.api.capillary",
        "core.dialects.fields",
        "core.dialects.fields.ChoiceField",
    ]
