"""PayNow dialect: ``/v1/stores/{storeId}/coupons`` (seed 001), and the native
redemption endpoints in the PayNow style (validate, redeem, list, roll back)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from core import flake, money
from core.dialects.fields import ChoiceField, ObjectInput
from core.errors import DomainError
from core.filters import FlakeIdFilter, filtered_page
from core.schema import PAYNOW_ERRORS, PAYNOW_LOOKUP_ERRORS, keyset_parameters
from core.serializers import (
    FlakeIdInputField,
    IdStringField,
    IsoDateTimeField,
    ListInput,
    MillisDateTimeField,
    SharedFieldsInput,
    SharedFieldsOutput,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    validated,
)
from coupons import errors, selectors, services, typos
from coupons.models import (
    MAX_DURATION_MONTHS,
    Coupon,
    DiscountType,
    Duration,
    Origin,
    PurchaseType,
)
from coupons.redeem import cart
from coupons.redeem import service as redeem
from coupons.redeem.decide import Order, Verdict
from customers import errors as customer_errors
from customers.refs import CustomerRef
from stores.api.dialects import PayNowViewSet
from stores.scopes import COUPONS_READ, COUPONS_WRITE

CODE_RE = re.compile(r"^[A-Za-z0-9-]+$")


class FlakeIdList(ListInput):
    child = FlakeIdInputField()

    def to_representation(self, data):
        return [str(item) for item in data]


class Money(StrictIntegerField):
    """An amount (or a count shown back) in the smallest unit: a JSON-safe integer
    (``money.MAX_MINOR``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", money.MAX_MINOR)
        super().__init__(**kwargs)


class CouponInput(ObjectInput):
    """CreateCouponDto (POST); with ``partial=True`` it is UpdateCouponDto (PATCH)."""

    enabled = StrictBooleanField()
    code = StrictCharField(max_length=64)
    note = StrictCharField(required=False, allow_null=True, allow_blank=True)
    duration = ChoiceField(choices=Duration.values)
    duration_in_months = StrictIntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_DURATION_MONTHS
    )
    # PayNow's 2026 name for duration_in_months; either spelling is accepted.
    duration_in_intervals = StrictIntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_DURATION_MONTHS
    )
    discount_type = ChoiceField(choices=DiscountType.values)
    discount_amount = Money()
    discount_apply_individually = StrictBooleanField()
    discount_apply_before_sales = StrictBooleanField()
    apply_to_products = FlakeIdList(required=False, allow_null=True, max_length=1000)
    apply_to_tags = FlakeIdList(required=False, allow_null=True, max_length=1000)
    usable_by_customer_id = FlakeIdInputField(required=False, allow_null=True)
    minimum_order_value = Money()
    redeem_limit_store_enabled = StrictBooleanField()
    redeem_limit_store_amount = Money()
    redeem_limit_customer_enabled = StrictBooleanField()
    redeem_limit_customer_amount = Money()
    usable_on_one_time_purchase = StrictBooleanField()
    usable_on_subscription = StrictBooleanField()
    usable_at = IsoDateTimeField(required=False, allow_null=True)
    expires_at = IsoDateTimeField(required=False, allow_null=True)

    def validate_code(self, value: str) -> str:
        if not CODE_RE.match(value):
            raise serializers.ValidationError(
                "Only letters, digits and dashes (A-Z, a-z, 0-9, -)."
            )
        return value

    def to_internal_value(self, data):
        # A PATCH that sends back the code it read is not setting one: a code made
        # by another dialect (a NewStore pattern's 'X_.%/+452', up to 100
        # characters) need not be of PayNow's form. Only a new code is checked.
        current = self.context.get("current_code")
        unchanged = (
            self.partial
            and current is not None
            and isinstance(data, Mapping)
            and data.get("code") == current
        )
        if unchanged:
            data = {key: value for key, value in data.items() if key != "code"}
        values = super().to_internal_value(data)
        if unchanged:
            # Still given to the update, which compares it with the locked row.
            values["code"] = current
        for key in ("apply_to_products", "apply_to_tags"):
            if values.get(key) is not None:
                values[key] = [str(item) for item in values[key]]
        if "duration_in_intervals" in values:
            intervals = values.pop("duration_in_intervals")
            if values.setdefault("duration_in_months", intervals) != intervals:
                raise serializers.ValidationError(
                    {
                        "duration_in_intervals": [
                            "Must equal duration_in_months when both are given."
                        ]
                    }
                )
        return values


class ActorOutput(SharedFieldsOutput):
    type = serializers.CharField()
    id = serializers.CharField(required=False)  # ActorDto: optional, never null


@extend_schema_field(ActorOutput)
class ActorField(serializers.Field):
    """ActorDto from a row's ``<prefix>_type``/``<prefix>_id``: ``{"type", "id"}``,
    no ``id`` when the actor has none (never null: the document has no null for it)
    and nothing at all (the key is left out) when the row names no actor."""

    def __init__(self, *, prefix: str, **kwargs: Any) -> None:
        self.prefix = prefix
        super().__init__(**kwargs)

    def to_representation(self, row: Any) -> dict[str, Any] | None:
        kind = getattr(row, f"{self.prefix}_type")
        actor_id = getattr(row, f"{self.prefix}_id")
        if not kind:
            return None
        if actor_id is None:
            return {"type": kind}
        return {"type": kind, "id": str(actor_id)}


# CouponDto fields that PayNow's OpenAPI document declares neither nullable nor
# required: a coupon without one leaves the key out instead of sending a null that a
# client generated from the document cannot read (README, "PayNow's document").
OMITTED_WHEN_NULL = ("usable_by_customer_id", "created_by", "updated_by")


class CouponOutput(SharedFieldsOutput):
    """CouponDto, in the seed's field order."""

    id = IdStringField()
    store_id = IdStringField()
    enabled = serializers.BooleanField()
    code = serializers.CharField()
    note = serializers.CharField(allow_null=True)
    duration = serializers.CharField()
    duration_in_months = serializers.IntegerField(allow_null=True)
    duration_in_intervals = serializers.IntegerField(
        source="duration_in_months", allow_null=True
    )
    discount_type = serializers.CharField()
    discount_amount = serializers.IntegerField()
    discount_apply_individually = serializers.BooleanField()
    discount_apply_before_sales = serializers.BooleanField()
    apply_to_products = serializers.ListField(
        child=serializers.CharField(), allow_null=True
    )
    apply_to_tags = serializers.ListField(
        child=serializers.CharField(), allow_null=True
    )
    # Not read-only in the schema, or drf-spectacular would make it required.
    usable_by_customer_id = serializers.CharField(allow_null=True, required=False)
    minimum_order_value = serializers.IntegerField()
    redeem_limit_store_enabled = serializers.BooleanField()
    redeem_limit_store_amount = serializers.IntegerField()
    redeem_limit_customer_enabled = serializers.BooleanField()
    redeem_limit_customer_amount = serializers.IntegerField()
    usable_on_one_time_purchase = serializers.BooleanField()
    usable_on_subscription = serializers.BooleanField()
    usable_at = MillisDateTimeField(allow_null=True)
    expires_at = MillisDateTimeField(allow_null=True)
    created_by = ActorField(prefix="created_by", source="*", required=False)
    created_at = MillisDateTimeField()
    updated_by = ActorField(prefix="updated_by", source="*", required=False)
    updated_at = MillisDateTimeField(allow_null=True)

    def to_representation(self, instance: Coupon) -> dict[str, Any]:
        data = super().to_representation(instance)
        for key in ("apply_to_products", "apply_to_tags"):
            value = getattr(instance, key)
            data[key] = None if value is None else [str(item) for item in value]
        for key in OMITTED_WHEN_NULL:
            if data[key] is None:
                del data[key]
        return data


class CouponFilter(filters.FilterSet):
    status = filters.ChoiceFilter(
        choices=[("all", "all"), ("active", "active"), ("inactive", "inactive")],
        method="filter_status",
    )
    type = filters.ChoiceFilter(
        choices=[("all", "all"), ("manual", "manual"), ("generated", "generated")],
        method="filter_type",
    )
    # PayNow's 2026 list filter: the coupons restricted to one customer.
    usable_by_customer_id = FlakeIdFilter()

    def filter_status(self, queryset, name, value):
        if value == "all":
            return queryset
        return queryset.filter(enabled=value == "active")

    def filter_type(self, queryset, name, value):
        if value == "all":
            return queryset
        return queryset.filter(origin=Origin(value))


def _no_customer(path: str) -> serializers.ValidationError:
    return serializers.ValidationError({path: ["No such customer in this store."]})


@extend_schema_view(
    list=extend_schema(
        summary="Fetches all coupons for a store id",
        parameters=keyset_parameters(),
        filters=True,
        responses={200: CouponOutput(many=True), **PAYNOW_ERRORS},
    ),
    create=extend_schema(
        summary="Create a coupon",
        request=CouponInput,
        responses={200: CouponOutput, **PAYNOW_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Retrieves a coupon by ID",
        responses={200: CouponOutput, **PAYNOW_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Performs a Delta Update of a Coupon",
        request=CouponInput(partial=True),
        responses={200: CouponOutput, **PAYNOW_ERRORS},
    ),
    destroy=extend_schema(
        summary="Deletes a coupon", responses={204: None, **PAYNOW_ERRORS}
    ),
)
class CouponViewSet(PayNowViewSet):
    read_scope = COUPONS_READ
    write_scope = COUPONS_WRITE
    filterset_class = CouponFilter

    def list(self, request, store_id: str):
        coupons = filtered_page(
            CouponFilter,
            request.query_params,
            selectors.coupon_queryset(store=self.store),
        )
        return Response(CouponOutput(coupons, many=True).data)

    def create(self, request, store_id: str):
        data = validated(CouponInput(data=request.data))
        coupon = services.coupon_create(store=self.store, actor=self.actor, **data)
        return Response(CouponOutput(coupon).data, status=status.HTTP_200_OK)

    def retrieve(self, request, store_id: str, coupon_id: str):
        coupon = selectors.coupon_get(store=self.store, coupon_id=coupon_id)
        return Response(CouponOutput(coupon).data)

    def partial_update(self, request, store_id: str, coupon_id: str):
        coupon = selectors.coupon_get(store=self.store, coupon_id=coupon_id)
        data = validated(
            CouponInput(
                data=request.data, partial=True, context={"current_code": coupon.code}
            )
        )
        coupon = services.coupon_update(coupon=coupon, actor=self.actor, **data)
        return Response(CouponOutput(coupon).data)

    def destroy(self, request, store_id: str, coupon_id: str):
        coupon = selectors.coupon_get(store=self.store, coupon_id=coupon_id)
        services.coupon_delete(coupon=coupon, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


# A cart's bounds: a line's value (price x quantity) and the order's total (checked
# on the whole cart) stay within money.MAX_MINOR, so every amount shown back does.
MAX_LINES = 500
MAX_CODES = 10
MAX_UNIT_PRICE = 10**12
MAX_QUANTITY = 10**6


class LineInput(ObjectInput):
    id = StrictCharField(max_length=64)
    product_id = FlakeIdInputField(required=False, allow_null=True)
    tag_ids = FlakeIdList(required=False, default=list, max_length=100)
    quantity = StrictIntegerField(min_value=1, max_value=MAX_QUANTITY)
    unit_price = Money(max_value=MAX_UNIT_PRICE)
    sale_unit_price = Money(required=False, allow_null=True, max_value=MAX_UNIT_PRICE)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        sale = data.get("sale_unit_price")
        if sale is not None and sale > data["unit_price"]:
            raise serializers.ValidationError(
                {"sale_unit_price": ["Must not exceed unit_price."]}
            )
        if data["quantity"] * data["unit_price"] > money.MAX_MINOR:
            raise serializers.ValidationError(
                {
                    "unit_price": [
                        f"quantity x unit_price must not exceed {money.MAX_MINOR}."
                    ]
                }
            )
        return data


class LineList(ListInput):
    child = LineInput()


class CartInput(ObjectInput):
    """An order as a cart: amounts in the smallest unit of ``currency``."""

    currency = StrictCharField(max_length=3)
    lines = LineList(min_length=1, max_length=MAX_LINES)

    def validate_currency(self, value: str) -> str:
        if not money.is_currency(value):
            # Exact, as ISO 4217 writes them: "eur" is refused here, plainly, rather
            # than read as EUR or reported as another store's currency.
            raise serializers.ValidationError(
                "Not an ISO 4217 currency code: three upper-case letters, such as EUR."
            )
        return value

    def validate_lines(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = [line["id"] for line in value]
        if len(set(ids)) != len(ids):
            raise serializers.ValidationError("Each line id may appear once.")
        lines = _lines(value)
        if cart.total(lines) > money.MAX_MINOR:
            raise serializers.ValidationError(
                f"The order's total must not exceed {money.MAX_MINOR}."
            )
        return value


def _lines(data: list[dict[str, Any]]) -> tuple[cart.Line, ...]:
    return tuple(
        cart.Line(
            id=line["id"],
            quantity=line["quantity"],
            unit_price=line["unit_price"],
            sale_unit_price=line.get("sale_unit_price"),
            product_id=line.get("product_id"),
            tag_ids=tuple(line["tag_ids"]),
        )
        for line in data
    )


# With an order (a cart), these come from its lines.
NOT_WITH_ORDER = ("order_value", "product_ids", "tag_ids")


class OrderInput(ObjectInput, SharedFieldsInput):
    code = StrictCharField(max_length=100)
    customer_id = FlakeIdInputField(required=False, allow_null=True)
    order_value = Money(required=False, default=0)
    purchase_type = ChoiceField(
        choices=PurchaseType.values, required=False, default=PurchaseType.ONE_TIME
    )
    product_ids = FlakeIdList(required=False, default=list, max_length=1000)
    tag_ids = FlakeIdList(required=False, default=list, max_length=1000)
    order = CartInput(required=False)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if "order" in data:
            given = [key for key in NOT_WITH_ORDER if key in self.initial_data]
            if given:
                raise serializers.ValidationError(
                    {key: ["Not with an order: its lines say it."] for key in given}
                )
        return data

    def customer(self) -> CustomerRef | None:
        customer_id = self.validated_data.get("customer_id")
        return None if customer_id is None else CustomerRef.by_id(customer_id)

    def to_order(self) -> Order:
        data = self.validated_data
        if "order" in data:
            return Order.of_cart(
                lines=_lines(data["order"]["lines"]),
                currency=data["order"]["currency"],
                purchase_type=data["purchase_type"],
            )
        return Order(
            order_value=data["order_value"],
            purchase_type=data["purchase_type"],
            product_ids=tuple(data["product_ids"]),
            tag_ids=tuple(data["tag_ids"]),
        )


class CodeList(ListInput):
    child = StrictCharField(max_length=100)


class CodesInput(OrderInput):
    """Several codes on one cart, applied in the order given (``order`` required)."""

    code = None
    # The cart says these (a 400 when given: ``OrderInput.validate``).
    order_value = product_ids = tag_ids = None
    codes = CodeList(min_length=1, max_length=MAX_CODES)
    order = CartInput()

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if "code" in self.initial_data:
            raise serializers.ValidationError(
                {"code": ["Give code or codes, not both."]}
            )
        if "hold_id" in self.initial_data:
            raise serializers.ValidationError(
                {"hold_id": ["A hold is redeemed with its code, not with codes."]}
            )
        return super().validate(data)


def _has_codes(data: Any) -> bool:
    return isinstance(data, Mapping) and "codes" in data


class RedeemInput(OrderInput):
    transaction_number = StrictCharField(
        max_length=128, required=False, allow_null=True, allow_blank=True
    )
    # A hold of this code (and customer) whose use the redemption takes.
    hold_id = FlakeIdInputField(required=False, allow_null=True)


HOLD_TTL_DEFAULT, HOLD_TTL_MIN, HOLD_TTL_MAX = 900, 60, 86_400


class HoldInput(OrderInput):
    """A code held for a customer and an order, as validate reads them, for
    ``ttl_seconds``."""

    ttl_seconds = StrictIntegerField(
        required=False,
        default=HOLD_TTL_DEFAULT,
        min_value=HOLD_TTL_MIN,
        max_value=HOLD_TTL_MAX,
    )


class RedeemCodesInput(CodesInput):
    transaction_number = StrictCharField(
        max_length=128, required=False, allow_null=True, allow_blank=True
    )


class ProblemOutput(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class LineDiscountOutput(serializers.Serializer):
    id = serializers.CharField()
    discount = serializers.IntegerField()


class ValidationOutput(serializers.Serializer):
    valid = serializers.BooleanField()
    reasons = ProblemOutput(many=True)
    discount = serializers.IntegerField()
    # Only with an order (a cart): the discount of each of its lines.
    lines = LineDiscountOutput(many=True, required=False)


class CodeValidationOutput(serializers.Serializer):
    code = serializers.CharField()
    valid = serializers.BooleanField()
    reasons = ProblemOutput(many=True)
    discount = serializers.IntegerField()
    lines = LineDiscountOutput(many=True)


class CodesValidationOutput(serializers.Serializer):
    """Several codes: ``valid`` when every code is, the total of the valid ones'
    discounts (per line too), and each code's verdict in the order given."""

    valid = serializers.BooleanField()
    discount = serializers.IntegerField()
    lines = LineDiscountOutput(many=True)
    codes = CodeValidationOutput(many=True)


def _line_discounts(lines: tuple[tuple[str, int], ...]) -> list[dict[str, Any]]:
    return [{"id": line_id, "discount": discount} for line_id, discount in lines]


def _validation(verdict: Verdict, order: Order) -> dict[str, Any]:
    """The answer of one code; with a cart, its discount of each line (0 each when
    the code cannot be used)."""
    body = {
        "valid": verdict.valid,
        "reasons": [{"code": p.code, "message": p.message} for p in verdict.problems],
        "discount": verdict.discount,
    }
    if order.lines is not None:
        discounts = dict(verdict.lines)
        body["lines"] = _line_discounts(
            tuple((line.id, discounts.get(line.id, 0)) for line in order.lines)
        )
    return body


class RedemptionOutput(SharedFieldsOutput):
    id = IdStringField()
    store_id = IdStringField()
    coupon_id = IdStringField()
    code = serializers.CharField(source="coupon.code")
    customer_id = IdStringField(allow_null=True)
    outlet_code = serializers.CharField(
        source="outlet.code", allow_null=True, default=None
    )
    transaction_number = serializers.CharField(allow_null=True)
    order_value = serializers.IntegerField()
    discount_amount = serializers.IntegerField()
    purchase_type = serializers.CharField()
    created_at = MillisDateTimeField()
    rolled_back = serializers.BooleanField(source="is_rolled_back")
    rolled_back_at = MillisDateTimeField(allow_null=True)


class RedemptionLineOutput(serializers.Serializer):
    id = serializers.CharField(source="line_id")
    product_id = IdStringField(allow_null=True)
    quantity = serializers.IntegerField()
    unit_price = serializers.IntegerField()
    sale_unit_price = serializers.IntegerField(allow_null=True)
    discount = serializers.IntegerField()
    returned_quantity = serializers.IntegerField()
    returned_discount = serializers.IntegerField()


class CartRedemptionOutput(RedemptionOutput):
    """A redemption made with a cart, or partly returned: ``discount`` is what is
    left of its discount (as ``discount_amount``), beside what was returned (of the
    order's value, of the discount) and its lines (none without a cart)."""

    discount = serializers.IntegerField(source="discount_amount")
    value_returned = serializers.IntegerField()
    discount_returned = serializers.IntegerField()
    lines = RedemptionLineOutput(many=True, source="cart_lines")


def _redemption_body(redemption: Any, lines: list[Any]) -> dict[str, Any]:
    """A redemption's answer: the cart's shape when it has lines or was partly
    returned, else the shape it always had."""
    if not lines and not redemption.value_returned:
        return RedemptionOutput(redemption).data
    redemption.cart_lines = lines
    return CartRedemptionOutput(redemption).data


class RedemptionAnswerOutput(CartRedemptionOutput):
    """A redemption as redeem, rollback and the list answer it: with ``discount``,
    ``value_returned``, ``discount_returned`` and ``lines`` when it was made with a
    cart, or partly returned (schema only)."""

    discount = serializers.IntegerField(source="discount_amount", required=False)
    value_returned = serializers.IntegerField(required=False)
    discount_returned = serializers.IntegerField(required=False)
    lines = RedemptionLineOutput(many=True, source="cart_lines", required=False)


class CodesRedemptionOutput(serializers.Serializer):
    """Several codes redeemed on one cart: the total discount, per line too, and
    one redemption per code, in the order given."""

    discount = serializers.IntegerField()
    lines = LineDiscountOutput(many=True)
    redemptions = CartRedemptionOutput(many=True)


class ReturnLineInput(ObjectInput):
    id = StrictCharField(max_length=64)
    quantity = StrictIntegerField(min_value=1, max_value=MAX_QUANTITY)


class ReturnLineList(ListInput):
    child = ReturnLineInput()


class RollbackInput(ObjectInput):
    """Optional: a partial return, by ``lines`` (units of the cart's lines) or by
    ``amount`` (of the order's value, smallest unit); neither: the whole
    redemption."""

    lines = ReturnLineList(required=False, min_length=1, max_length=MAX_LINES)
    amount = Money(required=False, min_value=1)

    def validate_lines(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = [line["id"] for line in value]
        if len(set(ids)) != len(ids):
            raise serializers.ValidationError("Each line id may appear once.")
        return value

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if "lines" in data and "amount" in data:
            raise serializers.ValidationError(
                {"amount": ["Give lines or amount, not both."]}
            )
        return data


def _one_of(name: str, *serializers_: Any) -> PolymorphicProxySerializer:
    """A body of one of these shapes (no type field tells them apart: ``codes``
    instead of ``code``, an ``order`` or none)."""
    return PolymorphicProxySerializer(
        component_name=name,
        serializers=list(serializers_),
        resource_type_field_name=None,
    )


VALIDATE_REQUEST = _one_of("ValidateRequest", OrderInput, CodesInput)
VALIDATE_RESPONSE = _one_of("ValidateResponse", ValidationOutput, CodesValidationOutput)
REDEEM_REQUEST = _one_of("RedeemRequest", RedeemInput, RedeemCodesInput)
# One schema for a redemption, with or without the cart's fields: a oneOf of
# RedemptionOutput and CartRedemptionOutput matched a cart's answer under both
# (neither forbids other properties), and a oneOf must match exactly one.
REDEEM_RESPONSE = _one_of(
    "RedeemResponse", RedemptionAnswerOutput, CodesRedemptionOutput
)


@contextmanager
def _looking_up(view: Any, data: Mapping[str, Any]) -> Iterator[str]:
    """A call that looks up ``data``'s code and customer (a redemption, a hold):
    429 while the key and customer are locked out; the code checked first (a
    mistyped one is refused and audited before anything begins); a failed lookup
    counted toward the lockout; an unknown customer a 400 at ``customer_id``."""
    customer_id = data.get("customer_id")
    view.guessing.check(customer_id)
    try:
        yield typos.checked_code(store=view.store, code=data["code"], actor=view.actor)
    except DomainError as error:
        view.guessing.refuse_on(error, customer_id)
        if error.reason != customer_errors.CUSTOMER_NOT_FOUND:
            raise
        raise _no_customer("customer_id") from error


class HoldOutput(serializers.Serializer):
    id = IdStringField()
    store_id = IdStringField()
    coupon_id = IdStringField()
    code = serializers.CharField(source="coupon.code")
    customer_id = IdStringField(allow_null=True)
    state = serializers.CharField()
    expires_at = MillisDateTimeField()
    discount = serializers.IntegerField(source="discount_amount")
    created_at = MillisDateTimeField()
    # Only with an order (a cart): the discount of each of its lines.
    lines = LineDiscountOutput(many=True, required=False)


@extend_schema_view(
    create=extend_schema(
        summary="Hold one use of a code for a time (409 with every reason when it "
        "cannot be)",
        description=(
            "Checks the code as `coupons/validate` does (with `order`, a cart, the "
            "discount per line too), then reserves one use: until it is redeemed "
            "(`hold_id` on a redemption), released or `expires_at` passes, it "
            "counts against the coupon's store-wide and per-customer limits, and "
            "takes a unit of its Shoplazza `stock` while the customer has not "
            "received it. `ttl_seconds` 60..86400, default 900. A code that cannot "
            "be held is a 409 `hold_refused` with validate's reasons in `errors` "
            "(and `out_of_stock` when no unit of stock is left)."
        ),
        request=HoldInput,
        responses={201: HoldOutput, **PAYNOW_LOOKUP_ERRORS},
    ),
    destroy=extend_schema(
        summary="Release a hold (its use is free at once)",
        description=(
            "204; an unknown hold is a 404; one that has expired, was redeemed or "
            "released already is a 409 (`hold_expired`, `hold_redeemed`, "
            "`hold_released`) and nothing changes."
        ),
        responses={204: None, **PAYNOW_ERRORS},
    ),
)
class HoldViewSet(PayNowViewSet):
    read_scope = COUPONS_READ
    write_scope = COUPONS_WRITE

    def create(self, request, store_id: str):
        serializer = HoldInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order = serializer.to_order()
        with _looking_up(self, data) as code:
            held = redeem.hold_create(
                store=self.store,
                code=code,
                customer=serializer.customer(),
                order=order,
                ttl_seconds=data["ttl_seconds"],
                actor=self.actor,
            )
        body = HoldOutput(held.hold).data
        if order.lines is not None:
            body["lines"] = _validation(held.verdict, order)["lines"]
        return Response(body, status=status.HTTP_201_CREATED)

    def destroy(self, request, store_id: str, hold_id: str):
        parsed = flake.parse(hold_id)
        if not parsed:
            raise DomainError(errors.HOLD_NOT_FOUND, "Hold not found.")
        redeem.hold_release(store=self.store, hold_id=parsed, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RedemptionFilter(filters.FilterSet):
    coupon_id = FlakeIdFilter(field_name="coupon_id")
    customer_id = FlakeIdFilter(field_name="customer_id")


@extend_schema_view(
    validate=extend_schema(
        summary="Check a code for a customer and an order (every failing rule)",
        description=(
            "With `order` (a cart in the store's currency) the answer adds the "
            "discount of each line; with `codes` (up to 10, with an `order`) the "
            "codes apply in the order given, each on what the ones before it "
            "left, and each code's verdict is given with the totals."
        ),
        request=VALIDATE_REQUEST,
        responses={200: VALIDATE_RESPONSE, **PAYNOW_LOOKUP_ERRORS},
    ),
)
class CouponValidationViewSet(PayNowViewSet):
    read_scope = COUPONS_READ
    write_scope = COUPONS_READ  # validating writes nothing

    @action(detail=False, methods=["post"])
    def validate(self, request, store_id: str):
        if _has_codes(request.data):
            return self._validate_codes(request)
        serializer = OrderInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer_id = serializer.validated_data.get("customer_id")
        self.guessing.check(customer_id)  # 429 while locked out (stores.guessing)
        order = serializer.to_order()
        try:
            verdict = redeem.redemption_validate(
                store=self.store,
                # A mistyped code is audited as a redemption's is (no transaction
                # here to roll the event back), then answered as a typo below.
                code=typos.checked_code(
                    store=self.store,
                    code=serializer.validated_data["code"],
                    actor=self.actor,
                ),
                customer=serializer.customer(),
                order=order,
            )
        except DomainError as error:
            if error.reason == customer_errors.CUSTOMER_NOT_FOUND:
                raise _no_customer("customer_id") from error
            self.guessing.refuse_on(error, customer_id)
            if error.reason == errors.TYPO:
                return Response(_validation(Verdict([typos.TYPO_PROBLEM]), order))
            if error.reason != errors.COUPON_NOT_FOUND:
                raise
            verdict = Verdict(problems=[redeem.NO_SUCH_CODE])
        return Response(_validation(verdict, order))

    def _validate_codes(self, request):
        serializer = CodesInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = serializer.to_order()
        customer_id = serializer.validated_data.get("customer_id")
        self.guessing.check(customer_id)  # 429 while locked out (stores.guessing)
        try:
            verdicts = redeem.redemptions_validate(
                store=self.store,
                codes=serializer.validated_data["codes"],
                customer=serializer.customer(),
                order=order,
            )
        except DomainError as error:
            if error.reason != customer_errors.CUSTOMER_NOT_FOUND:
                raise
            raise _no_customer("customer_id") from error
        self.guessing.refuse_problems(
            customer_id, (p for item in verdicts for p in item.verdict.problems)
        )
        totals = dict.fromkeys((line.id for line in order.lines), 0)
        for item in verdicts:
            for line_id, discount in item.verdict.lines:
                totals[line_id] += discount
        return Response(
            {
                "valid": all(item.verdict.valid for item in verdicts),
                "discount": sum(item.verdict.discount for item in verdicts),
                "lines": _line_discounts(tuple(totals.items())),
                "codes": [
                    {"code": item.code, **_validation(item.verdict, order)}
                    for item in verdicts
                ],
            }
        )


@extend_schema_view(
    list=extend_schema(
        summary="List redemptions",
        parameters=keyset_parameters(),
        filters=True,
        responses={200: RedemptionAnswerOutput(many=True), **PAYNOW_ERRORS},
    ),
    create=extend_schema(
        summary="Redeem a code (409 with every reason when it cannot be)",
        description=(
            "With `order` the redemption records the cart's lines and each "
            "line's discount; with `codes` one redemption per code, all or none "
            "(a code that fails is a 409 naming it at `codes.<n>`). With "
            "`hold_id` (a hold of this code and customer) the hold's use becomes "
            "the redemption's; after its `expires_at` the call is a plain "
            "redemption; a hold redeemed or released already is a 409."
        ),
        request=REDEEM_REQUEST,
        responses={200: REDEEM_RESPONSE, **PAYNOW_LOOKUP_ERRORS},
    ),
    rollback=extend_schema(
        summary="Roll back a redemption (frees the limits it used)",
        description=(
            "Without a body the whole redemption. With `lines` (units of the "
            "cart's lines) or `amount` (of the order's value) a partial return: "
            "the discount shrinks by its share, and the use is freed by the "
            "return that completes the order; more than is left is a 409."
        ),
        request=RollbackInput,
        responses={200: RedemptionAnswerOutput, **PAYNOW_ERRORS},
    ),
)
class RedemptionViewSet(PayNowViewSet):
    read_scope = COUPONS_READ
    write_scope = COUPONS_WRITE
    filterset_class = RedemptionFilter

    def list(self, request, store_id: str):
        redemptions = filtered_page(
            RedemptionFilter,
            request.query_params,
            selectors.redemption_list_queryset(store=self.store),
        )
        # Each as the redeem and rollback answers show it (README "Carts").
        return Response(
            [_redemption_body(item, item.cart_lines) for item in redemptions]
        )

    def create(self, request, store_id: str):
        if _has_codes(request.data):
            return self._create_codes(request)
        serializer = RedeemInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order = serializer.to_order()
        with _looking_up(self, data) as code:
            redemption = redeem.redemption_create(
                store=self.store,
                code=code,
                customer=serializer.customer(),
                order=order,
                actor=self.actor,
                transaction_number=data.get("transaction_number") or None,
                hold_id=data.get("hold_id"),
            )
        if order.lines is None:
            return Response(RedemptionOutput(redemption).data)
        lines = selectors.redemption_lines(redemption_ids=[redemption.id])
        return Response(_redemption_body(redemption, lines[redemption.id]))

    def _create_codes(self, request):
        serializer = RedeemCodesInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order = serializer.to_order()
        self.guessing.check(data.get("customer_id"))
        try:
            redemptions = redeem.redemptions_create(
                store=self.store,
                codes=data["codes"],
                customer=serializer.customer(),
                order=order,
                actor=self.actor,
                transaction_number=data.get("transaction_number") or None,
            )
        except DomainError as error:
            if error.reason == errors.REDEMPTION_REFUSED:  # nothing was written
                self.guessing.refuse_problems(
                    data.get("customer_id"), error.details["problems"]
                )
            if error.reason != customer_errors.CUSTOMER_NOT_FOUND:
                raise
            raise _no_customer("customer_id") from error
        lines = selectors.redemption_lines(
            redemption_ids=[redemption.id for redemption in redemptions]
        )
        totals = dict.fromkeys((line.id for line in order.lines), 0)
        for redemption in redemptions:
            for line in lines[redemption.id]:
                totals[line.line_id] += line.discount
        return Response(
            {
                "discount": sum(r.discount_amount for r in redemptions),
                "lines": _line_discounts(tuple(totals.items())),
                "redemptions": [
                    _redemption_body(redemption, lines[redemption.id])
                    for redemption in redemptions
                ],
            }
        )

    @action(detail=True, methods=["post"])
    def rollback(self, request, store_id: str, redemption_id: str):
        data = validated(RollbackInput(data=request.data))
        redemption = selectors.redemption_get(
            store=self.store, redemption_id=redemption_id
        )
        returned = data.get("lines")
        redeem.redemption_rollback(
            store=self.store,
            redemption_id=redemption.id,
            actor=self.actor,
            lines=(
                None
                if returned is None
                else [(line["id"], line["quantity"]) for line in returned]
            ),
            amount=data.get("amount"),
        )
        redemption = selectors.redemption_get(
            store=self.store, redemption_id=redemption.id
        )
        lines = selectors.redemption_lines(redemption_ids=[redemption.id])
        return Response(_redemption_body(redemption, lines[redemption.id]))
