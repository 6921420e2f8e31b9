"""NewStore templates in a store with a check-character series: the codes drawn
from a pattern skip those a lookup would read as mistyped check-character codes
(``coupons.typed_codes.reserved_by``, which coupon_create refuses), and the
pattern's exhaustion counts only the readable ones."""

from __future__ import annotations

import re

import pytest

from coupons import typed_codes
from coupons.models import Coupon
from coupons.services import typed_shapes
from series import services as series_services
from tests.legacy.factories import create_coupon, create_definition, error

pytestmark = pytest.mark.django_db

SYMBOL = "[0-9A-HJKMNP-TV-Z]"


@pytest.fixture(autouse=True)
def check_series(store, settings):
    settings.SERIES_POOL_TARGET = 20
    settings.SERIES_POOL_LOW = 5
    return series_services.series_create(
        store=store,
        description="Typeable",
        discount_type="ABS",
        discount_value=5,
        random_code_length=6,
        code_prefix="HV",
        check_character=True,
    )


def test_template_codes_of_the_series_shape_are_all_readable(newstore, store):
    pattern = f"HV{SYMBOL}{{7}}"
    create_definition(newstore, label="typed", pattern=pattern)

    responses = [
        newstore.post("/v0/d/coupons", {"template_label": "typed"}) for _ in range(10)
    ]

    assert [r.status_code for r in responses] == [201] * 10
    codes = [r.json()["code"] for r in responses]
    shapes = typed_shapes(store.pk)
    assert all(re.fullmatch(pattern, code) for code in codes)
    assert [typed_codes.reserved_by(code, shapes) for code in codes] == [None] * 10
    assert Coupon.objects.filter(legacy_definition__isnull=False).count() == 10


def test_a_pattern_is_exhausted_when_its_readable_codes_are_taken(newstore):
    pattern = f"HV00000[0-3]{SYMBOL}"
    readable = [
        "HV00000" + digit + typed_codes.check_symbol("00000" + digit)
        for digit in "0123"
    ]
    readable = [code for code in readable if re.fullmatch(pattern, code)]
    create_definition(newstore, label="tiny", pattern=pattern)

    codes = {create_coupon(newstore, "tiny")["code"] for _ in readable}
    response = newstore.post("/v0/d/coupons", {"template_label": "tiny"})

    assert codes == set(readable)
    assert response.status_code == 409
    assert response.json() == error(
        "code_space_exhausted",
        f"All 128 codes of the pattern {pattern!r} of the coupon definition 'tiny' "
        "are in use in this store or read as mistyped check-character codes; give "
        "it a pattern with more codes.",
    )
    assert Coupon.objects.filter(legacy_definition__isnull=False).count() == len(
        readable
    )
