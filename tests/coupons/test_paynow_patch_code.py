"""A PayNow PATCH that sends back a coupon's code unchanged does not set it, so the
code is not held to PayNow's form (1..64 of letters, digits and dashes): a coupon
made by another dialect (a NewStore pattern) can be read and PATCHed back as read.
A changed code is still checked."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from coupons.models import Coupon
from tests.legacy.factories import bearer, create_definition
from tests.paynow import error_body, validation_error

pytestmark = pytest.mark.django_db

TRACE = "trace-patch-code"
ONLY = "Only letters, digits and dashes (A-Z, a-z, 0-9, -)."
LONG = "Ensure this field has no more than 64 characters."
# What a client sends back of what it read: CouponDto minus the read-only fields.
READ_ONLY = ("id", "store_id", "created_by", "created_at", "updated_by", "updated_at")


def made_by_newstore(api_key, pattern: str) -> Coupon:
    newstore = bearer(api_key)
    create_definition(newstore, pattern=pattern)
    response = newstore.post(
        "/v0/d/coupons", {"label": "odd", "template_label": "cybermon678"}
    )
    assert response.status_code == 201, response.content
    return Coupon.objects.get(code=response.json()["code"])


def patch(api, base, coupon, body):
    return api.patch(
        f"{base}/coupons/{coupon.id}", body, format="json", HTTP_X_REQUEST_ID=TRACE
    )


def bad_code(message: str, code: str) -> dict:
    return error_body(
        400,
        "bad-request",
        f"Invalid request: code: {message}",
        [validation_error("code", code, message)],
        trace=TRACE,
    )


@pytest.mark.parametrize("pattern", [r"X_\.%/\+452", "L[A-Z]{80}"])
def test_patching_back_what_was_read_is_200(paynow, base, api_key, pattern):
    coupon = made_by_newstore(api_key, pattern)
    read = paynow.get(f"{base}/coupons/{coupon.id}").json()
    sent = {key: value for key, value in read.items() if key not in READ_ONLY}

    response = patch(paynow, base, coupon, {**sent, "note": "checked"})

    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["code"] == read["code"] == coupon.code
    changed = {key for key in answer if answer[key] != read.get(key)}
    assert changed == {"note", "updated_by", "updated_at"}
    coupon.refresh_from_db()
    assert (coupon.code, coupon.note) == (read["code"], "checked")
    update = AuditEvent.objects.get(action="update", coupon_id=coupon.id)
    assert set(update.changes) == {"note"}


def test_the_unchanged_code_alone_is_200_and_changes_nothing(paynow, base, api_key):
    coupon = made_by_newstore(api_key, r"X_\.%/\+452")

    response = patch(paynow, base, coupon, {"code": "X_.%/+452"})

    assert response.status_code == 200, response.content
    assert (response.json()["code"], response.json()["updated_at"]) == (
        "X_.%/+452",
        None,
    )
    assert not AuditEvent.objects.filter(action="update").exists()


@pytest.mark.parametrize(
    ("code", "message", "validation"),
    [
        ("X_.%/+453", ONLY, "invalid"),  # another code of the same form
        ("x_.%/+452", ONLY, "invalid"),  # only the letter case changed
        ("X_.%/+452 ", ONLY, "invalid"),
        ("Y" * 65, LONG, "max_length"),
    ],
)
def test_a_changed_code_is_still_checked(
    paynow, base, api_key, code, message, validation
):
    coupon = made_by_newstore(api_key, r"X_\.%/\+452")

    response = patch(paynow, base, coupon, {"code": code, "note": "not saved"})

    assert response.status_code == 400
    assert response.json() == bad_code(message, validation)
    coupon.refresh_from_db()
    assert (coupon.code, coupon.note) == ("X_.%/+452", None)


def test_a_long_code_sent_back_is_200_but_another_long_one_is_checked(
    paynow, base, api_key
):
    coupon = made_by_newstore(api_key, "L[A-Z]{80}")
    other = "L" + "A" * 80

    kept = patch(paynow, base, coupon, {"code": coupon.code, "enabled": False})
    changed = patch(paynow, base, coupon, {"code": other})

    assert kept.status_code == 200, kept.content
    assert (kept.json()["code"], kept.json()["enabled"]) == (coupon.code, False)
    assert changed.status_code == 400
    assert changed.json() == bad_code(LONG, "max_length")


def test_a_paynow_code_still_changes_to_a_good_one(paynow, base, api_key):
    coupon = made_by_newstore(api_key, r"X_\.%/\+452")

    response = patch(paynow, base, coupon, {"code": "GOOD-452"})

    assert response.status_code == 200, response.content
    assert response.json()["code"] == "GOOD-452"
    coupon.refresh_from_db()
    assert coupon.code == "GOOD-452"
