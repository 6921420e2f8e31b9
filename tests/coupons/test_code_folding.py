"""One folding of a coupon code (``coupons.codes.fold_code``: ASCII letters only),
stored in ``code_folded`` and compared only there, in every dialect that takes a
code, the admin and bulk generation (issue 16, item 5)."""

from __future__ import annotations

from functools import partial

import pytest
from django.urls import reverse

from coupons.codes import fold_code, fold_codes, lower_code
from coupons.models import Coupon, Redemption
from legacy.models import LegacyDefinition
from series import codegen
from tests.factories import (
    AssignmentFactory,
    CouponFactory,
    CustomerFactory,
    RedemptionFactory,
)
from tests.legacy.factories import bearer_for, create_coupon, create_definition
from tests.paynow import coupon_body, error_body, native_client
from tests.series.conftest import capillary_client as capillary

pytestmark = pytest.mark.django_db

TRACE = "trace-code-folding"

# (the coupon's code, the code a client sends, whether that is the coupon)
LOOKALIKES = [
    ("SSALE", "\u00dfale", False),  # ß is not SS
    ("SSALE", "\u00dfALE", False),
    ("FIVE", "\ufb01ve", False),  # the ligature ﬁ is not FI
    ("IRON", "\u0131ron", False),  # the dotless i is not I
    ("IRON", "\u0130RON", False),  # nor is the dotted capital I
    ("MiXeD-1", "mixed-1", True),  # ASCII letters in any case
    ("MiXeD-1", "MIXED-1", True),
    ("stra\u00dfe", "STRA\u00dfE", True),  # a non-ASCII code: its ASCII letters fold
    ("stra\u00dfe", "STRASSE", False),
]
IDS = [f"{code}<-{sent}" for code, sent, _ in LOOKALIKES]


paynow = partial(native_client, trace=TRACE)


# --- the function -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "folded"),
    [
        ("abc-XYZ_09", "ABC-XYZ_09"),
        ("\u00dfale", "\u00dfALE"),
        ("\ufb01ve", "\ufb01VE"),
        ("\u0131ron", "\u0131RON"),
        ("\u0130ndirim", "\u0130NDIRIM"),
        ("caf\u00e9", "CAF\u00e9"),
    ],
)
def test_fold_code_upper_cases_ascii_letters_only(code, folded):
    assert fold_code(code) == folded
    assert fold_codes([code, "x"]) == [folded, "X"]
    assert fold_code(folded) == folded
    assert fold_code(lower_code(code)) == folded


def test_fold_codes_handles_a_code_with_a_line_break_and_no_codes():
    assert fold_codes(["a\nb", "c"]) == ["A\nB", "C"]
    assert fold_codes([]) == []


# --- native: validate and redeem ----------------------------------------------------


@pytest.mark.parametrize(("code", "sent", "same"), LOOKALIKES, ids=IDS)
def test_native_validate_matches_ascii_case_only(paynow, store, code, sent, same):
    CouponFactory(store=store, code=code, discount_type="amount", discount_amount=100)

    response = paynow.post(
        f"/v1/stores/{store.id}/coupons/validate",
        {"code": sent, "order_value": 1000},
        format="json",
    )

    assert response.status_code == 200
    if same:
        assert response.json() == {"valid": True, "reasons": [], "discount": 100}
    else:
        assert response.json() == {
            "valid": False,
            "reasons": [{"code": "not_found", "message": "No coupon has this code."}],
            "discount": 0,
        }


@pytest.mark.parametrize(("code", "sent", "same"), LOOKALIKES, ids=IDS)
def test_native_redeem_matches_ascii_case_only(api_key, store, code, sent, same):
    coupon = CouponFactory(store=store, code=code, discount_type="amount")

    response = paynow(api_key).post(
        f"/v1/stores/{store.id}/redemptions",
        {"code": sent, "order_value": 1000},
        format="json",
    )

    if same:
        assert response.status_code == 200
        assert response.json()["code"] == code
        assert Redemption.objects.get().coupon_id == coupon.id
    else:
        assert response.status_code == 404
        assert response.json() == error_body(
            404, "not-found", "Coupon not found.", trace=TRACE
        )
        assert not Redemption.objects.exists()
    coupon.refresh_from_db()
    assert coupon.redeemed_count == (1 if same else 0)


# --- PayNow: a code taken in another ASCII case is a 409 --------------------------


def test_paynow_create_of_a_code_in_another_ascii_case_is_409(api_key, store):
    api = paynow(api_key)
    url = f"/v1/stores/{store.id}/coupons"
    first = api.post(url, coupon_body(code="Summer-Sale"), format="json")

    response = api.post(url, coupon_body(code="SUMMER-sale"), format="json")

    assert first.status_code == 200
    assert first.json()["code"] == "Summer-Sale"
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert [e["path"] for e in response.json()["errors"]] == ["code"]
    assert Coupon.objects.get(store=store).code_folded == "SUMMER-SALE"


def test_paynow_patch_to_a_code_in_another_ascii_case_is_409(api_key, store):
    CouponFactory(store=store, code="TAKEN")
    mine = CouponFactory(store=store, code="MINE")

    response = paynow(api_key).patch(
        f"/v1/stores/{store.id}/coupons/{mine.id}", {"code": "taken"}, format="json"
    )

    assert response.status_code == 409
    mine.refresh_from_db()
    assert (mine.code, mine.code_folded) == ("MINE", "MINE")


def test_paynow_patch_of_the_code_writes_its_folded_form(api_key, store):
    mine = CouponFactory(store=store, code="MINE")

    response = paynow(api_key).patch(
        f"/v1/stores/{store.id}/coupons/{mine.id}", {"code": "New-One"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["code"] == "New-One"
    mine.refresh_from_db()
    assert (mine.code, mine.code_folded) == ("New-One", "NEW-ONE")
    assert (
        paynow(api_key)
        .post(
            f"/v1/stores/{store.id}/coupons/validate",
            {"code": "new-one"},
            format="json",
        )
        .json()["valid"]
    )


# --- Capillary v1.1: redeem and isredeemable ----------------------------------------


@pytest.mark.parametrize(("code", "sent", "same"), LOOKALIKES, ids=IDS)
def test_v11_redeem_matches_ascii_case_only(api_key, store, code, sent, same):
    customer = CustomerFactory(store=store, mobile="9000000001")
    CouponFactory(store=store, code=code, discount_type="amount")

    response = capillary(api_key).post(
        "/v1.1/coupon/redeem",
        {
            "root": {
                "coupon": [
                    {
                        "code": sent,
                        "customer": {"mobile": customer.mobile},
                        "transaction": [{"number": "T-1", "amount": "100.00"}],
                    }
                ]
            }
        },
        format="json",
    )

    (item,) = response.json()["response"]["coupons"]["coupon"]
    if same:
        assert response.status_code == 200, response.content
        assert item["item_status"]["code"] == 700
        assert Redemption.objects.count() == 1
    else:
        assert response.status_code == 400
        assert item["item_status"] == {
            "success": "false",
            "code": 702,
            "message": "Coupon code is invalid.",
        }
        assert not Redemption.objects.exists()


@pytest.mark.parametrize(("code", "sent", "same"), LOOKALIKES, ids=IDS)
def test_v11_isredeemable_matches_ascii_case_only(api_key, store, code, sent, same):
    customer = CustomerFactory(store=store, mobile="9000000001")
    CouponFactory(store=store, code=code)

    response = capillary(api_key).get(
        "/v1.1/coupon/isredeemable",
        {"mobile": customer.mobile, "code": sent, "coupon_code_case": "as_it_is"},
    )

    assert response.status_code == 200, response.content
    (item,) = response.json()["response"]["coupons"]["redeemable"]
    assert item["code"] == (code if same else sent)
    assert item["is_redeemable"] == ("true" if same else "false")
    assert item["item_status"]["code"] == (700 if same else 702)


@pytest.mark.parametrize(
    ("case", "shown"),
    [("upper", "\u00dfALE-\ufb01"), ("lower", "\u00dfale-\ufb01")],
)
def test_v11_isredeemable_shows_an_unknown_code_in_ascii_case_only(
    api_key, store, case, shown
):
    customer = CustomerFactory(store=store, mobile="9000000001")
    CouponFactory(store=store, code="SSALE-FI")

    response = capillary(api_key).get(
        "/v1.1/coupon/isredeemable",
        {
            "mobile": customer.mobile,
            "code": "\u00dfAle-\ufb01",
            "coupon_code_case": case,
        },
    )

    (item,) = response.json()["response"]["coupons"]["redeemable"]
    assert (item["code"], item["item_status"]["code"]) == (shown, 702)


# --- NewStore: filter[code] and generated codes ------------------------------------


def test_newstore_find_by_code_matches_ascii_case_only(store):
    api = bearer_for(store)
    create_definition(api, label="fold", pattern="fi[0-9]{6}")
    made = create_coupon(api, "fold")
    code = made["code"]
    assert code.startswith("fi")
    coupon = Coupon.objects.get(legacy_uuid=made["id"])
    assert coupon.code_folded == code.upper()

    def find(sent: str) -> list[str]:
        response = api.get("/v0/d/coupons", {"filter[code]": sent})
        assert response.status_code == 200
        return [item["code"] for item in response.json()["items"]]

    assert find(code.upper()) == [code]
    assert find("Fi" + code[2:]) == [code]
    assert find("\ufb01" + code[2:]) == []
    assert find("F\u0131" + code[2:]) == []


def test_newstore_generation_skips_codes_taken_in_another_ascii_case(store):
    api = bearer_for(store)
    create_definition(api, label="tiny", pattern="ab[0-1]")
    CouponFactory(store=store, code="AB0")
    # A look-alike is another code: it takes nothing from the pattern's space.
    CouponFactory(store=store, code="\u0430B1")  # Cyrillic a

    made = create_coupon(api, "tiny")

    assert made["code"] == "ab1"
    response = api.post("/v0/d/coupons", {"template_label": "tiny"})
    assert response.status_code == 409
    assert LegacyDefinition.objects.get(label="tiny").coupons.count() == 1


# --- the admin ------------------------------------------------------------------------


def _changelist(admin_client, name: str, term: str) -> list:
    response = admin_client.get(reverse(name), {"q": term})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.mark.parametrize(
    ("term", "found"),
    [
        ("Mixed-\u00dfale", True),  # exactly as created
        ("MIXED-\u00dfALE", True),  # the folded form
        ("mixed-\u00dfale", True),  # any ASCII case
        ("MIXED-SSALE", False),
        ("MIXED-\u00dfale".upper(), False),  # Python's upper(): SS
    ],
)
def test_admin_coupon_search_finds_the_code_in_any_ascii_case(
    admin_client, term, found
):
    coupon = CouponFactory(code="Mixed-\u00dfale")
    CouponFactory(code="MIXED-SSALE-2")

    assert _changelist(admin_client, "admin:coupons_coupon_changelist", term) == (
        [coupon] if found else []
    )


@pytest.mark.parametrize(
    "changelist",
    ["admin:coupons_redemption_changelist", "admin:assignments_assignment_changelist"],
)
def test_admin_holdings_search_finds_them_by_the_code_in_any_ascii_case(
    admin_client, changelist
):
    coupon = CouponFactory(code="Hold-Me")
    customer = CustomerFactory(store=coupon.store)
    redemption = RedemptionFactory(store=coupon.store, coupon=coupon, customer=customer)
    assignment = AssignmentFactory(store=coupon.store, coupon=coupon, customer=customer)
    expected = redemption if "redemption" in changelist else assignment

    assert _changelist(admin_client, changelist, "hOLD-mE") == [expected]
    assert _changelist(admin_client, changelist, "HOLD-ME") == [expected]
    assert _changelist(admin_client, changelist, "H\u0131LD-ME") == []


# --- every ORM write, and bulk generation, keep the folded form ---------------------


def test_every_orm_write_of_the_code_writes_its_folded_form(store):
    coupon = CouponFactory(store=store, code="one")
    assert Coupon.objects.get(pk=coupon.pk).code_folded == "ONE"

    coupon.code = "two"
    coupon.save(update_fields=["code"])
    assert Coupon.objects.get(pk=coupon.pk).code_folded == "TWO"

    Coupon.objects.filter(pk=coupon.pk).update(code="thRee")
    assert Coupon.objects.get(pk=coupon.pk).code_folded == "THREE"

    coupon.code = "four"
    Coupon.objects.bulk_update([coupon], ["code"])
    assert Coupon.objects.get(pk=coupon.pk).code_folded == "FOUR"


@pytest.mark.parametrize("limit", [None, 3])
def test_pooled_codes_are_written_with_their_folded_form(store, limit):
    values = {"store": store, "pooled": True, "origin": "generated"}
    CouponFactory(store=store, code="PRE-B")

    inserted = codegen.insert_pooled(
        values=values, codes=["pre-a", "pre-b", "Pre-c", "pre-\u00df"], limit=limit
    )

    assert inserted == 3
    rows = dict(
        Coupon.objects.filter(store=store, pooled=True).values_list(
            "code", "code_folded"
        )
    )
    assert rows == {"pre-a": "PRE-A", "Pre-c": "PRE-C", "pre-\u00df": "PRE-\u00df"}
