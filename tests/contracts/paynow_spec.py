"""The PayNow Management API's own OpenAPI document as JSON Schema validators.

`../shared/vendor-specs/paynow-management-api.json` is the vendor's artifact; a
verbatim copy lives beside this module so a clone runs the contract tests on its own
(a test checks that the copy is still the shared one, where shared/ is present).

OpenAPI 3.0's ``nullable: true`` becomes ``type: [T, "null"]`` (or a ``oneOf`` with
null beside a ``$ref``); ``$ref``s resolve inside the document; the formats the vendor
uses are checked (``int32``/``int64`` ranges, ``date-time``, ``flake-id``).
"""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SPEC_NAME = "paynow-management-api.json"
SPEC_PATH = Path(__file__).resolve().parent / SPEC_NAME
SHARED_SPEC_PATH = (
    Path(__file__).resolve().parents[2].parent / "shared" / "vendor-specs" / SPEC_NAME
)

INT_RANGES = {"int32": 2**31, "int64": 2**63}
FLAKE = re.compile(r"^[0-9]{1,20}$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


@cache
def spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text())


def _openapi_to_json_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [_openapi_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {
        key: _openapi_to_json_schema(value)
        for key, value in node.items()
        if key not in ("example", "x-enumDescriptions", "description")
    }
    if node.pop("nullable", False):
        if "$ref" in node:
            ref = node.pop("$ref")
            node = {"oneOf": [{"$ref": ref}, {"type": "null"}], **node}
        elif "type" in node:
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
    return node


# What PayNow's 2026 document adds to the 2025 one kept here (vendor-specs/README.md):
# CouponDto's duration_in_intervals, the new name of duration_in_months. The dialect
# renders both so that clients of either version read their own; nothing else is
# allowed beyond the document.
LATER_ADDITIONS = {
    "CouponDto": {
        "duration_in_intervals": {
            "type": "integer",
            "format": "int32",
            "nullable": True,
        }
    }
}


@cache
def _document() -> dict[str, Any]:
    schemas = copy.deepcopy(spec()["components"]["schemas"])
    for name, properties in LATER_ADDITIONS.items():
        schemas[name]["properties"].update(properties)
    return {"components": {"schemas": _openapi_to_json_schema(schemas)}}


FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("int32")
def _int32(value: object) -> bool:
    return not isinstance(value, int) or -INT_RANGES["int32"] <= value < 2**31


@FORMATS.checks("int64")
def _int64(value: object) -> bool:
    return not isinstance(value, int) or -INT_RANGES["int64"] <= value < 2**63


@FORMATS.checks("flake-id")
def _flake(value: object) -> bool:
    return not isinstance(value, str) or (
        bool(FLAKE.match(value)) and int(value) < 2**63
    )


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not RFC3339.match(value):
        raise ValueError(f"not an RFC 3339 date-time: {value!r}")
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def validator(
    schema_name: str, *, many: bool = False, document: dict[str, Any] | None = None
) -> jsonschema.Validator:
    """A validator of the vendor's ``schema_name``; with ``document``, of that
    OpenAPI 3.0 document's (our own ``/api/schema/``, for the native endpoints the
    vendor's has not)."""
    if document is None:
        components = _document()
    else:
        schemas = document["components"]["schemas"]
        components = {"components": {"schemas": _openapi_to_json_schema(schemas)}}
    ref = {"$ref": f"#/components/schemas/{schema_name}"}
    root = {**components, **({"type": "array", "items": ref} if many else ref)}
    return jsonschema.Draft202012Validator(root, format_checker=FORMATS)


def errors_of(
    instance: Any,
    schema_name: str,
    *,
    many: bool = False,
    document: dict[str, Any] | None = None,
) -> list[str]:
    """Every way ``instance`` breaks the vendor's schema (or ``document``'s), as
    readable lines."""
    found = validator(schema_name, many=many, document=document).iter_errors(instance)
    return sorted(
        f"{'/'.join(map(str, error.absolute_path)) or '$'}: {error.message}"
        for error in found
    )


def operation(path: str, method: str) -> dict[str, Any]:
    return spec()["paths"][path][method]


def request_media_types(path: str, method: str) -> list[str]:
    return list(operation(path, method)["requestBody"]["content"])
