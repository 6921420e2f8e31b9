"""Capillary v1.1 dialect, coupon side: ``POST /v1.1/coupon/redeem`` and
``GET /v1.1/coupon/isredeemable`` (api-notes §5), over the shared redemption engine.

Amounts are in the store currency's major unit (``"50.00"``); the engine counts in the
smallest unit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response

from core import compact, money
from core.dialects.capillary import discount_code
from core.dialects.capillary_v11 import (
    CAPILLARY_V11,
    COUPON_REDEEMABLE,
    COUPON_REDEEMED,
    SUCCESS,
    V11CustomerIdentifiers,
    V11Identifiers,
    V11Status,
    customer_profile,
    echo_identifiers,
    identifiers,
)
from core.dialects.fields import AmountField, ChoiceField, ObjectInput
from core.errors import DomainError
from core.schema import GUESSING_429, error_responses
from core.serializers import StrictCharField
from core.timefmt import local_seconds
from coupons import errors, selectors, typos
from coupons.codes import fold_code, lower_code
from coupons.errors import Refusal
from coupons.models import Coupon, DiscountType
from coupons.redeem import service as redeem
from coupons.redeem.decide import Order, Problem
from customers import errors as customer_errors
from customers.refs import CustomerRef
from customers.selectors import customer_find
from stores.api.dialects import CapillaryV11ViewSet
from stores.models import Store

MAX_COUPONS = 50
MAX_CODES = 50
# The longest code v1.1 takes (redeem and isredeemable alike).
MAX_CODE_LENGTH = 100
# No currency's amount in major units exceeds core.money.MAX_MINOR; the store's
# currency's own bound (USD 90071992547409.91, JPY 9007199254740991) is to_minor's, the
# bound of PayNow's order values and minimums, so every coupon a PayNow client can make
# can be redeemed here.
MAX_AMOUNT = Decimal(money.MAX_MINOR)


def to_minor(amount: Decimal, store: Store) -> int:
    """Major units to the smallest unit; refuses more decimals than the currency has."""
    try:
        return money.to_minor(amount, store.currency)
    except money.MoneyError as exc:
        raise serializers.ValidationError({"amount": [f"{exc}."]}) from None


def to_major(minor: int, store: Store) -> str:
    return money.major_text(minor, store.currency)


def coupon_value(coupon: Coupon, store: Store) -> str:
    """The coupon's face value: money for an amount, the percent for a percentage."""
    if coupon.discount_type == DiscountType.PERCENT:
        return f"{Decimal(coupon.discount_amount).scaleb(-1).normalize():f}"
    if coupon.discount_type == DiscountType.AMOUNT:
        return to_major(coupon.discount_amount, store)
    return "0"


def discount_type(coupon: Coupon) -> str | None:
    return {DiscountType.PERCENT: "PERC", DiscountType.AMOUNT: "ABS"}.get(
        coupon.discount_type
    )


def refusal_reasons(
    problems: list[Problem], series_ended: Callable[[], bool]
) -> list[str]:
    """The engine's refusal codes, plus ``series_expired`` (712 rather than 713) when
    the coupon expired along with its series."""
    reasons = [problem.code for problem in problems]
    if Refusal.EXPIRED in reasons and series_ended():
        reasons.append("series_expired")
    return reasons


# --- input ----------------------------------------------------------------------------


class V11BodyCustomer(V11CustomerIdentifiers):
    """The v1.1 body's ``customer``: JSON strings (``id`` also a number)."""

    mobile = StrictCharField(required=False, max_length=32)
    email = StrictCharField(required=False, max_length=254)
    external_id = StrictCharField(required=False, max_length=128)


class V11Transaction(serializers.Serializer):
    """``{number, amount}``; ``order_value`` is the amount in the smallest unit of the
    store's currency (context ``store``)."""

    number = StrictCharField(
        required=False, allow_null=True, allow_blank=True, max_length=128
    )
    # A non-negative amount in major units: a JSON number or a numeric string.
    amount = AmountField(
        strings=True,
        max_value=MAX_AMOUNT,
        error_messages={
            "invalid": 'Must be a non-negative amount such as 50 or "50.00".'
        },
        required=False,
        default=Decimal(0),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["order_value"] = to_minor(attrs["amount"], self.context["store"])
        return attrs

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # The vendor's example sends a list holding one transaction.
        if isinstance(data, list):
            if len(data) != 1:
                raise serializers.ValidationError(
                    {"non_field_errors": ["Pass one transaction per coupon."]}
                )
            data = data[0]
        if not isinstance(data, Mapping):
            raise serializers.ValidationError(
                {"non_field_errors": ["Must be an object {number, amount}."]}
            )
        return super().to_internal_value(data)


class V11RedeemCoupon(serializers.Serializer):
    code = StrictCharField(max_length=MAX_CODE_LENGTH)
    customer = V11BodyCustomer()
    transaction = V11Transaction(required=False)


class V11RedeemRoot(serializers.Serializer):
    coupon = V11RedeemCoupon(many=True, max_length=MAX_COUPONS, allow_empty=False)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # A single coupon may come as an object (the vendor's XML-to-JSON habit).
        if isinstance(data, Mapping) and isinstance(data.get("coupon"), Mapping):
            data = {**data, "coupon": [data["coupon"]]}
        return super().to_internal_value(data)


class V11RedeemRequest(ObjectInput):
    root = V11RedeemRoot()


class V11IsRedeemableQuery(V11CustomerIdentifiers):
    code = serializers.CharField(
        # Room for the largest list documented: MAX_CODES codes of
        # MAX_CODE_LENGTH, each with a comma and a space after it.
        max_length=MAX_CODES * (MAX_CODE_LENGTH + 2),
        help_text="One code, or several separated by commas.",
    )
    details = ChoiceField(
        required=False,
        any_case=True,
        default="false",
        choices=["true", "false", "extended"],
    )
    coupon_code_case = ChoiceField(
        required=False,
        any_case=True,
        default="upper",
        choices=["upper", "lower", "as_it_is"],
    )

    def validate_code(self, value: str) -> list[str]:
        codes = [code.strip() for code in value.split(",") if code.strip()]
        if not codes:
            raise serializers.ValidationError("Pass at least one coupon code.")
        if len(codes) > MAX_CODES:
            raise serializers.ValidationError(f"Pass at most {MAX_CODES} coupon codes.")
        if any(len(code) > MAX_CODE_LENGTH for code in codes):
            raise serializers.ValidationError(
                f"Ensure each coupon code has no more than {MAX_CODE_LENGTH} "
                "characters."
            )
        return codes


# --- output ---------------------------------------------------------------------------


class V11TransactionOutput(serializers.Serializer):
    number = serializers.CharField(allow_null=True)
    amount = serializers.CharField()


class V11RedeemedCoupon(serializers.Serializer):
    code = serializers.CharField()
    customer = V11Identifiers()
    transaction = V11TransactionOutput()
    redemption_id = serializers.CharField(allow_null=True)
    discount_code = serializers.CharField(allow_null=True)
    discount_type = serializers.CharField(allow_null=True)
    discount_value = serializers.CharField(allow_null=True)
    item_status = V11Status()


RedeemOutput = inline_serializer(
    "CapillaryV11RedeemResponse",
    {
        "response": inline_serializer(
            "CapillaryV11RedeemBody",
            {
                "status": V11Status(),
                "coupons": inline_serializer(
                    "CapillaryV11RedeemedCoupons",
                    {"coupon": V11RedeemedCoupon(many=True)},
                ),
            },
        )
    },
)


class V11RedeemableStatus(V11Status):
    status = serializers.CharField(help_text='"true" or "false", as success.')


class V11CouponDetails(serializers.Serializer):
    series_id = serializers.CharField(allow_null=True)
    series_name = serializers.CharField(allow_null=True)
    discount_code = serializers.CharField(allow_null=True)
    discount_type = serializers.CharField(allow_null=True)
    discount_value = serializers.CharField()
    valid_till = serializers.CharField(allow_null=True)


class V11RedeemableCoupon(serializers.Serializer):
    mobile = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    is_redeemable = serializers.CharField(help_text='"true" or "false" (strings).')
    redemptions_left = serializers.IntegerField(
        allow_null=True, help_text="-1 when unlimited."
    )
    no_of_redemptions_by_user = serializers.IntegerField()
    coupon_value = serializers.CharField(allow_null=True)
    customer = V11Identifiers()
    item_status = V11RedeemableStatus()
    coupon_details = V11CouponDetails(
        required=False, allow_null=True, help_text="With details=true or extended."
    )


IsRedeemableOutput = inline_serializer(
    "CapillaryV11IsRedeemableResponse",
    {
        "response": inline_serializer(
            "CapillaryV11IsRedeemableBody",
            {
                "status": V11Status(),
                "coupons": inline_serializer(
                    "CapillaryV11RedeemableCoupons",
                    {"redeemable": V11RedeemableCoupon(many=True)},
                ),
            },
        )
    },
)

V11_ERROR = inline_serializer(
    "CapillaryV11CouponError",
    {"response": inline_serializer("CapillaryV11StatusOnly", {"status": V11Status()})},
)


def _errors(bad_request: str) -> dict[int, OpenApiResponse]:
    return error_responses(
        V11_ERROR,
        (
            (400, bad_request),
            (401, "Missing or bad credentials."),
            (403, "The key lacks the `series` scope."),
            (429, GUESSING_429),
        ),
    )


# --- views ----------------------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(
        summary="Redeem coupons (Capillary v1.1); each coupon on its own",
        request=V11RedeemRequest,
        responses={
            200: OpenApiResponse(
                RedeemOutput,
                description="Every coupon redeemed (`status.code` 200), or some "
                "(201, each coupon's `item_status` says which).",
            ),
            **_errors(
                "Invalid body (`status.code` 400, no coupon), or no coupon redeemed "
                "(`status.code` 400, each coupon's `item_status` says why: 701, 702, "
                "703, 709, 710, 711, 712, 713)."
            ),
        },
    )
)
class CouponRedeemViewSet(CapillaryV11ViewSet):
    def create(self, request):
        store = self.store
        # Every coupon is validated first: a bad one fails the request, not one coupon.
        serializer = V11RedeemRequest(data=request.data, context={"store": store})
        serializer.is_valid(raise_exception=True)
        items = serializer.validated_data["root"]["coupon"]
        for item in items:  # 429 if a customer named is locked out (stores.guessing)
            ref = CustomerRef.named(**identifiers(item["customer"]))
            lockout = self.guessing.locked_named(
                lambda ref=ref: _customer_id(store, ref)
            )
            if lockout is not None:
                raise lockout.error()
        results = [self._redeem(store, item) for item in items]
        self.guessing.settle(wrote=any(ok for ok, _ in results))
        status, overall = CAPILLARY_V11.overall(ok for ok, _ in results)
        body = {
            "response": {
                "status": overall,
                "coupons": {"coupon": [rendered for _, rendered in results]},
            }
        }
        return Response(body, status=status)

    def _redeem(
        self, store: Store, item: dict[str, Any]
    ) -> tuple[bool, dict[str, Any]]:
        transaction = item.get("transaction") or {}
        number = transaction.get("number") or None
        order_value = transaction.get("order_value", 0)
        rendered: dict[str, Any] = {
            "code": item["code"],
            "customer": echo_identifiers(item["customer"]),
            "transaction": {
                "number": number,
                "amount": to_major(order_value, store),
            },
            "redemption_id": None,
            "discount_code": None,
            "discount_type": None,
            "discount_value": None,
        }
        try:
            redemption = redeem.redemption_create(
                store=store,
                code=typos.checked_code(
                    store=store, code=item["code"], actor=self.actor
                ),
                customer=CustomerRef.named(**identifiers(item["customer"])),
                # The transaction's amount is a cart of one line: discounted by
                # the cart engine and recorded with its line, as a native cart.
                order=Order.of_value(order_value=order_value, currency=store.currency),
                actor=self.actor,
                transaction_number=number,
            )
        except DomainError as exc:
            if exc.reason == errors.TYPO:  # a failed lookup too (stores.guessing)
                ref = CustomerRef.named(**identifiers(item["customer"]))
                self.guessing.failed_on(exc, lambda: _customer_id(store, ref))
            # Neither reads the customer (a typo is refused before any query).
            if exc.reason in (customer_errors.CUSTOMER_NOT_FOUND, errors.TYPO):
                rendered["item_status"] = CAPILLARY_V11.item_failure(exc.reason)
                return False, rendered
            if exc.reason == errors.REDEMPTION_REFUSED:
                reasons = refusal_reasons(
                    exc.details["problems"],
                    lambda: selectors.coupon_series_ended(
                        store=store, code=item["code"]
                    ),
                )
            elif exc.reason == errors.COUPON_NOT_FOUND:
                reasons = [exc.reason]
            else:
                raise
            # The customer was found: the answer shows it as the store knows it.
            ref = CustomerRef.named(**identifiers(item["customer"]))
            customer = customer_find(store=store, **ref.lookups())
            if customer is not None:
                rendered["customer"] = customer_profile(customer)
            if exc.reason == errors.COUPON_NOT_FOUND:
                self.guessing.failed(customer.id if customer is not None else None)
            rendered["item_status"] = CAPILLARY_V11.item_failure(*reasons)
            return False, rendered
        rendered["customer"] = customer_profile(redemption.customer)
        coupon = redemption.coupon
        rendered.update(
            code=coupon.code,
            redemption_id=str(compact.known(redemption)),
            discount_code=(
                discount_code(coupon.series.discount_code) if coupon.series_id else None
            ),
            discount_type=discount_type(coupon),
            discount_value=to_major(redemption.discount_amount, store),
            item_status=CAPILLARY_V11.item_status(COUPON_REDEEMED),
        )
        return True, rendered


def _customer_id(store: Store, ref: CustomerRef) -> int | None:
    customer = customer_find(store=store, **ref.lookups())
    return customer.id if customer is not None else None


# ASCII letters only, as codes compare (coupons.codes): an unknown "ßale" is shown
# as "ßALE", not as the "SSALE" it is not.
CODE_CASE = {"upper": fold_code, "lower": lower_code, "as_it_is": lambda code: code}


@extend_schema_view(
    list=extend_schema(
        summary="Whether a customer can redeem coupons now (Capillary v1.1)",
        parameters=[V11IsRedeemableQuery],
        responses={
            200: OpenApiResponse(
                IsRedeemableOutput,
                description="Each code's `is_redeemable` and `item_status` (700, or "
                "why not: 702, 703, 709, 710, 711, 712, 713).",
            ),
            **_errors(
                "Invalid parameters (`status.code` 400), or the customer could not "
                "be found (each code's `item_status.code` 701)."
            ),
        },
    )
)
class CouponIsRedeemableViewSet(CapillaryV11ViewSet):
    def list(self, request):
        query = V11IsRedeemableQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        store = self.store
        case = CODE_CASE[data["coupon_code_case"]]
        details = data["details"] != "false"
        ref = CustomerRef.named(**identifiers(data))
        customer = customer_find(store=store, **ref.lookups())
        if customer is None:
            status, overall = CAPILLARY_V11.overall([False])
            failure = self._status(CAPILLARY_V11.item_spec(["customer_not_found"]))
            items = [
                {
                    "mobile": data.get("mobile"),
                    "code": case(code),
                    "is_redeemable": "false",
                    "redemptions_left": None,
                    "no_of_redemptions_by_user": 0,
                    "coupon_value": None,
                    "customer": echo_identifiers(data),
                    "item_status": failure,
                }
                for code in data["code"]
            ]
            return Response(
                {"response": {"status": overall, "coupons": {"redeemable": items}}},
                status=status,
            )
        self.guessing.check(customer.id)
        checks = selectors.coupon_checks(
            store=store, codes=data["code"], customer_id=customer.id
        )
        # A code no coupon has counts as ``unknown_code``, a mistyped check-character
        # code as ``typo`` (recorded in the audit trail as v1.1 redeem records it).
        failed = [check for check in checks if check.coupon is None]
        for check in failed:
            if typos.TYPO_PROBLEM in check.verdict.problems:
                typos.record_typo(store=store, code=check.code, actor=self.actor)
        self.guessing.refuse_problems(
            customer.id, [p for check in failed for p in check.verdict.problems]
        )
        items = [self._item(store, customer, check, case, details) for check in checks]
        return Response(
            {"response": {"status": dict(SUCCESS), "coupons": {"redeemable": items}}}
        )

    @staticmethod
    def _status(spec) -> dict[str, Any]:
        status = CAPILLARY_V11.item_status(spec)
        return {
            "success": status["success"],
            "status": status["success"],
            "code": status["code"],
            "message": status["message"],
        }

    def _item(self, store, customer, check, case, details: bool) -> dict[str, Any]:
        coupon = check.coupon
        if check.verdict.valid:
            spec = COUPON_REDEEMABLE
        else:
            series = coupon.series if coupon is not None else None
            spec = CAPILLARY_V11.item_spec(
                refusal_reasons(
                    check.verdict.problems,
                    lambda: (
                        series is not None
                        and series.valid_till is not None
                        and series.valid_till <= timezone.now()
                    ),
                )
            )
        left = check.uses_left
        item = {
            "mobile": customer.mobile,
            "code": case(coupon.code if coupon is not None else check.code),
            "is_redeemable": "true" if check.verdict.valid else "false",
            "redemptions_left": -1 if left is None else left,
            "no_of_redemptions_by_user": check.usage.customer_used,
            "coupon_value": None if coupon is None else coupon_value(coupon, store),
            "customer": customer_profile(customer),
            "item_status": self._status(spec),
        }
        if details:
            item["coupon_details"] = (
                None if coupon is None else _coupon_details(coupon, store)
            )
        return item


def _coupon_details(coupon: Coupon, store: Store) -> dict[str, Any]:
    series = coupon.series
    code = None if series is None else discount_code(series.discount_code)
    return {
        "series_id": None if series is None else str(series.compact_id),
        "series_name": None if series is None else series.description,
        "discount_code": code,
        "discount_type": discount_type(coupon),
        "discount_value": coupon_value(coupon, store),
        "valid_till": local_seconds(coupon.expires_at, store.timezone),
    }
