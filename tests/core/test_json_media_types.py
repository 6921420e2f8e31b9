"""Every JSON media type reaches the JSON parser (PayNow's document lists
application/json, text/json and application/*+json); anything else stays a 415."""

from __future__ import annotations

import pytest

from core.parsers import is_json_media_type
from tests.legacy.factories import bearer


@pytest.mark.parametrize(
    ("content_type", "json"),
    [
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ("text/json", True),
        ("text/json;charset=UTF-8", True),
        ("application/merge-patch+json", True),
        ("application/vnd.paynow.v1+json", True),
        ("application/+json", False),
        ("application/jsonx", False),
        ("application/json-seq", False),
        ("text/plain", False),
        ("text/x-json", False),
        ("multipart/form-data; boundary=x", False),
        ("", False),
    ],
)
def test_json_media_types(content_type, json):
    assert is_json_media_type(content_type) is json


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content_type", "status"),
    [("text/json", 201), ("application/vnd.x+json", 201), ("text/plain", 415)],
)
def test_other_dialects_read_them_too(api_key, content_type, status):
    """NewStore, for one."""
    response = bearer(api_key).post(
        "/v0/d/coupon_definitions",
        '{"label": "d1", "pattern": "A[0-9]{4}", "validation_rules": [], '
        '"discount_rule_id": "r1"}',
        content_type=content_type,
    )
    assert response.status_code == status, response.content
