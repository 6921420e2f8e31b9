"""Series whose codes people can type (issue 20 part 2): the format, the Capillary
extension field ``checkCharacter`` and the admin option."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from coupons import typed_codes
from coupons.models import Coupon
from series import codegen
from series.codegen import CROCKFORD, CodeSpec
from series.models import Series
from stores.models import Store
from tests.factories import StoreFactory
from tests.series.conftest import SERIES_URL
from tests.series.test_admin import series_form_data


def spec(**values) -> CodeSpec:
    defaults = {"alpha_numeric": True, "length": 8, "prefix": "BF", "suffix": "X"}
    defaults.update(values)
    return CodeSpec.of(check=True, **defaults)


def test_a_check_format_draws_valid_codes_over_crockfords_alphabet():
    codes = spec().draw(20_000)

    assert len(codes) == 20_000
    regex = re.compile(spec().folded_regex)
    for code in codes:
        assert regex.match(code), code
        assert len(code) == 12
        assert typed_codes.is_valid(code[2:-1]), code
    # Every symbol is drawn, none of the look-alikes.
    assert {symbol for code in codes for symbol in code[2:10]} == set(CROCKFORD)


def test_a_check_format_space_counts_the_body_only():
    assert spec().space == 32**8
    assert spec().total_length == 12
    assert spec(length=1, prefix="", suffix="").space == 32
    assert "a check character" in spec().describe()


def test_a_small_check_space_is_enumerated_with_check_characters():
    small = spec(length=2, prefix="", suffix="")
    codes = small.sample_free(1024, taken=set())

    assert len(set(codes)) == 1024
    assert all(typed_codes.is_valid(code) for code in codes)


def test_distinct_check_codes_are_distinct():
    codes = spec(length=3).distinct(10_000)
    assert len(codes) == len(set(codes)) == 10_000


# --- Capillary v2 ---------------------------------------------------------------------


def capillary_body(**overrides) -> dict:
    data = {
        "description": "Typeable",
        "discountType": "ABS",
        "discountValue": 5,
        "validTillDate": "2030-09-30T00:00:00+05:30",
        "maxCreate": 1000,
        "randomCodeLength": 6,
        "couponPrefix": "hv",
        "checkCharacter": True,
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_capillary_series_with_check_character(capillary, store, small_pool):
    response = capillary.post(SERIES_URL, capillary_body(), format="json")

    assert response.status_code == 200, response.content
    series = Series.objects.get()
    assert (series.check_character, series.code_prefix) == (True, "HV")
    codes = list(Coupon.objects.filter(series=series).values_list("code", flat=True))
    assert len(codes) == len(set(codes)) == 20
    assert all(
        code.startswith("HV") and len(code) == 9 and typed_codes.is_valid(code[2:])
        for code in codes
    )
    store.refresh_from_db()
    assert store.typed_code_shapes == [["HV", 6, ""]]
    # The response is Capillary's series, without the extension field.
    assert "checkCharacter" not in response.json()["entity"]


@pytest.mark.django_db
def test_capillary_series_without_check_character_is_as_before(
    capillary, store, small_pool
):
    body = capillary_body(couponPrefix="SALE-")
    del body["checkCharacter"]
    response = capillary.post(SERIES_URL, body, format="json")

    assert response.status_code == 200, response.content
    assert Series.objects.get().check_character is False
    store.refresh_from_db()
    assert store.typed_code_shapes == []


@pytest.mark.django_db
def test_capillary_check_series_prefix_must_be_symbols(capillary, store):
    response = capillary.post(
        SERIES_URL, capillary_body(couponPrefix="SALE-"), format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "status": False,
                "code": 400,
                "message": "couponPrefix: With a check character, only Crockford's "
                "base32 symbols (digits and letters but I, L, O, U).",
            }
        ]
    }
    assert not Series.objects.exists()


@pytest.mark.django_db
def test_capillary_check_character_must_be_a_boolean(capillary, store):
    response = capillary.post(
        SERIES_URL, capillary_body(checkCharacter="yes"), format="json"
    )
    assert response.status_code == 400
    assert "checkCharacter" in response.json()["errors"][0]["message"]


@pytest.mark.django_db
def test_openapi_documents_check_character(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    fields = schema["components"]["schemas"]["CouponSeriesV2InputRequest"]["properties"]
    assert fields["checkCharacter"]["type"] == "boolean"
    assert "Crockford" in fields["checkCharacter"]["description"]


# --- admin ----------------------------------------------------------------------------


def admin_add(admin_client, description: str, **overrides):
    data = series_form_data(
        Series(description=description, discount_value=5, max_create=50),
        store=str(StoreFactory().pk),
        check_character="on",
        **overrides,
    )
    data.pop("code_format")
    return admin_client.post(reverse("admin:series_series_add"), data)


@pytest.mark.django_db
def test_admin_adds_a_check_character_series(admin_client, settings):
    settings.SERIES_POOL_TARGET = 7

    response = admin_add(admin_client, "Typed", code_prefix="k9")

    assert response.status_code == 302, response.context["adminform"].form.errors
    series = Series.objects.get(description="Typed")
    assert (series.check_character, series.code_prefix) == (True, "K9")
    codes = Coupon.objects.filter(series=series).values_list("code", flat=True)
    assert len(codes) == 7
    assert all(typed_codes.is_valid(code[2:]) for code in codes)
    assert Store.objects.get(pk=series.store_id).typed_code_shapes == [["K9", 8, ""]]
    # Shown, not editable, on the change page.
    change = admin_client.get(reverse("admin:series_series_change", args=[series.pk]))
    assert change.status_code == 200
    assert "check_character" not in change.context["adminform"].form.fields


@pytest.mark.django_db
def test_admin_check_series_prefix_error_is_on_the_form(admin_client):
    response = admin_add(admin_client, "Bad", code_prefix="OL")

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["code_prefix"] == [
        "With a check character, only Crockford's base32 symbols (digits and "
        "letters but I, L, O, U)."
    ]
    assert not Series.objects.filter(description="Bad").exists()


def test_readable_drops_the_codes_a_lookup_would_read_as_typos():
    shapes = (typed_codes.Shape("BF", 8, ""),)
    plain = CodeSpec.of(alpha_numeric=True, length=9, prefix="BF", suffix="")
    good = "BF9KX2ABCDY"
    codes = [good, "BF9KX2ABCDZ", "BFOKX2ABCDY", "BF9KX2ABCUY", "BF9KX2ABC"]

    assert codegen.readable(codes, plain, shapes) == [good, "BF9KX2ABCUY", "BF9KX2ABC"]
    # Nothing to look at: a check format, no shapes, or another length.
    assert codegen.readable(codes, spec(suffix=""), shapes) == codes
    assert codegen.readable(codes, plain, ()) == codes
    other = CodeSpec.of(alpha_numeric=True, length=5, prefix="BF", suffix="")
    assert codegen.readable(codes, other, shapes) == codes
