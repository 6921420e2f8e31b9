"""Which strings are a date-time (``core.timefmt.parse_instant``): RFC 3339's form, its
``T`` and ``Z`` in either case (RFC 3339 section 5.6), a bare date; not the other ISO
8601 forms ``datetime.fromisoformat`` also reads (week dates, the basic format,
other scripts' digits), which a .NET or JavaScript client never sends and which were
stored as some other day (``2027-W01-1`` was 2027-01-04)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from audit.models import AuditEvent
from legacy.models import LegacyDefinition
from tests.factories import CouponFactory
from tests.legacy.factories import bearer, definition_body, error, valid_to
from tests.paynow import validation_error

pytestmark = pytest.mark.django_db

INVALID = "Must be an ISO 8601 date-time such as 2025-10-08T15:51:07.322Z."

ACCEPTED = [
    ("2027-01-01T00:00:00Z", datetime(2027, 1, 1, tzinfo=UTC)),
    ("2027-01-01T00:00:00z", datetime(2027, 1, 1, tzinfo=UTC)),
    ("2027-01-01t00:00:00z", datetime(2027, 1, 1, tzinfo=UTC)),
    ("2027-01-01T01:30:00+01:30", datetime(2027, 1, 1, tzinfo=UTC)),
    ("2027-01-01T00:00:00.250Z", datetime(2027, 1, 1, 0, 0, 0, 250000, tzinfo=UTC)),
    ("2027-01-01T00:00", datetime(2027, 1, 1, tzinfo=UTC)),  # no offset: UTC
    ("2027-01-01", datetime(2027, 1, 1, tzinfo=UTC)),
]

REFUSED = [
    "\uff12\uff10\uff12\uff17-01-01T00:00:00Z",  # full-width digits
    "2027-W01-1T00:00:00Z",  # ISO week date
    "2027-001T00:00:00Z",  # ordinal date
    "20270101T000000Z",  # basic format
    "2027-01-01T00Z",  # no minutes
    "2027-02-30T00:00:00Z",  # no such day
    "2027-01-01T24:00:00Z",
    "2027-01-01T00:00:00,5Z",
    "2027-01-01T00:00:00Zjunk",
    "",
]


def _patch_expiry(paynow, store, text):
    coupon = CouponFactory(store=store, expires_at=None)
    response = paynow.patch(
        f"/v1/stores/{store.pk}/coupons/{coupon.pk}",
        {"expires_at": text},
        format="json",
    )
    return coupon, response


@pytest.mark.parametrize(("text", "stored"), ACCEPTED)
def test_paynow_takes_rfc_3339_date_times(paynow, store, text, stored):
    coupon, response = _patch_expiry(paynow, store, text)

    assert response.status_code == 200, response.content
    coupon.refresh_from_db()
    assert coupon.expires_at == stored


@pytest.mark.parametrize("text", REFUSED)
def test_paynow_refuses_other_iso_8601_forms_and_changes_nothing(paynow, store, text):
    coupon, response = _patch_expiry(paynow, store, text)

    assert response.status_code == 400, response.content
    assert response.json()["errors"] == [
        validation_error("expires_at", "invalid", INVALID)
    ]
    coupon.refresh_from_db()
    assert coupon.expires_at is None
    assert not AuditEvent.objects.exists()


def test_newstore_refuses_a_week_date(api_key):
    response = bearer(api_key).post(
        "/v0/d/coupon_definitions",
        definition_body(validation_rules=[valid_to("2027-W01-1T00:00:00Z")]),
    )

    assert response.status_code == 400
    assert response.json() == error(
        "invalid_request",
        f"Invalid request: validation_rules.0.values.valid_to: {INVALID}",
    )
    assert not LegacyDefinition.objects.exists()


def test_newstore_takes_a_lower_case_z(api_key):
    response = bearer(api_key).post(
        "/v0/d/coupon_definitions",
        definition_body(validation_rules=[valid_to("2027-01-01T00:00:00z")]),
    )

    assert response.status_code == 201, response.content
    (definition,) = LegacyDefinition.objects.all()
    assert definition.validation_rules == [
        {"label": "valid_to", "values": {"valid_to": "2027-01-01T00:00:00.000Z"}}
    ]
