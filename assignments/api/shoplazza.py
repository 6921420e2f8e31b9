"""Shoplazza Open API 2022-01 dialect: ``POST /openapi/2022-01/coupons/receive``
(seed 000, "Receive Coupons")."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from assignments.errors import Outcome
from assignments.receive import service as receive
from assignments.receive.decide import MAX_COUPON_IDS
from assignments.receive.service import ReceivedItem, ReceiveResult
from core import errors as core_errors
from core import flake, money
from core.dialects.fields import ObjectInput
from core.errors import DomainError
from core.schema import GUESSING_429
from core.serializers import (
    ListInput,
    SharedFieldsInput,
    SharedFieldsOutput,
    StrictCharField,
    validated,
)
from coupons.models import Coupon, DiscountType
from customers.refs import CustomerRef
from stores.api.dialects import ShoplazzaViewSet

# items[].status and the top-level status (the 2025-06 receive_status numbers).
RECEIVED = 1
RECEIVE_STATUS = {
    Outcome.RECEIVED: RECEIVED,
    Outcome.NOT_ELIGIBLE: 2,
    Outcome.CUSTOMER_LIMIT_REACHED: 4,
    Outcome.EXPIRED: 5,
    Outcome.NOT_FOUND: 6,
    Outcome.ALREADY_RECEIVED: 7,
    Outcome.OUT_OF_STOCK: 8,
    Outcome.NOT_STARTED: 10,
}
# items[].coupon_status: the coupon for this customer once the request is done.
COUPON_RECEIVABLE = 1  # the vendor's "Received": nothing stops a further receive
COUPON_PERSONAL_LIMIT_REACHED = 2
COUPON_NO_STOCK = 3
UNLIMITED_STOCK = -1


def _percent(coupon: Coupon) -> Decimal:
    return Decimal(coupon.discount_amount).scaleb(-1)  # percent x 10


def discount_value(coupon: Coupon, currency: str) -> float:
    if coupon.discount_type == DiscountType.PERCENT:
        return float(_percent(coupon))
    if coupon.discount_type == DiscountType.AMOUNT:
        return float(money.to_major(coupon.discount_amount, currency))
    return 0.0


def discount_text(coupon: Coupon, currency: str) -> str:
    """``25% off``, ``12.5% off (up to €10.00)``, ``€5.00 off``."""
    if coupon.discount_type == DiscountType.PERCENT:
        text = f"{format(_percent(coupon).normalize(), 'f')}% off"
        if coupon.discount_max_amount is not None:
            most = money.format_money(coupon.discount_max_amount, currency)
            text += f" (up to {most})"
        return text
    if coupon.discount_type == DiscountType.AMOUNT:
        return f"{money.format_money(coupon.discount_amount, currency)} off"
    return "No discount"


def prerequisite_text(coupon: Coupon, currency: str) -> str:
    """``Orders of €50.00 or more``: the minimum is inclusive (an order of exactly
    the minimum qualifies, coupons.redeem.decide), so never "over". The seed says
    only "Any prerequisite details for using the coupon"."""
    if coupon.minimum_order_value > 0:
        minimum = money.format_money(coupon.minimum_order_value, currency)
        return f"Orders of {minimum} or more"
    return "No minimum"


class ReceiveInput(ObjectInput, SharedFieldsInput):
    customer_id = StrictCharField(trim_whitespace=False)
    # Missing or null is the vendor's 422 "CouponIds is required", not a 400; the
    # length limit is a 422 as well (the service's rule).
    coupon_ids = ListInput(
        child=StrictCharField(allow_blank=True, trim_whitespace=False),
        required=False,
        allow_null=True,
        allow_empty=True,
    )


class ReceivedCouponOutput(SharedFieldsOutput):
    """One ``items[]`` entry, in the vendor's field order."""

    id = serializers.CharField(source="requested_id")
    status = serializers.SerializerMethodField()
    value = serializers.SerializerMethodField()
    stock = serializers.SerializerMethodField()
    coupon_status = serializers.SerializerMethodField()
    received_count = serializers.IntegerField()
    discount_text = serializers.SerializerMethodField()
    prerequisite_text = serializers.SerializerMethodField()
    is_first_order = serializers.SerializerMethodField()

    @property
    def _currency(self) -> str:
        return self.context["currency"]

    def get_status(self, item: ReceivedItem) -> int:
        return RECEIVE_STATUS[item.outcome]

    def get_value(self, item: ReceivedItem) -> float:
        return discount_value(item.coupon, self._currency) if item.coupon else 0.0

    def get_stock(self, item: ReceivedItem) -> int:
        return UNLIMITED_STOCK if item.stock is None else item.stock

    def get_coupon_status(self, item: ReceivedItem) -> int:
        if item.customer_limit_reached:
            return COUPON_PERSONAL_LIMIT_REACHED
        if item.stock == 0:  # also an unknown coupon: nothing to receive
            return COUPON_NO_STOCK
        return COUPON_RECEIVABLE

    def get_discount_text(self, item: ReceivedItem) -> str:
        return discount_text(item.coupon, self._currency) if item.coupon else ""

    def get_prerequisite_text(self, item: ReceivedItem) -> str:
        return prerequisite_text(item.coupon, self._currency) if item.coupon else ""

    def get_is_first_order(self, item: ReceivedItem) -> bool:
        return bool(item.coupon and item.coupon.is_first_order_only)


class ReceiveOutput(SharedFieldsOutput):
    status = serializers.SerializerMethodField()
    items = ReceivedCouponOutput(many=True)
    limit = serializers.SerializerMethodField()
    has_more = serializers.SerializerMethodField()
    cursor = serializers.SerializerMethodField()

    def get_status(self, result: ReceiveResult) -> int:
        failure = result.first_failure
        return RECEIVED if failure is None else RECEIVE_STATUS[failure.outcome]

    def get_limit(self, result: ReceiveResult) -> int:
        return MAX_COUPON_IDS  # the most coupon ids one request may receive

    def get_has_more(self, result: ReceiveResult) -> bool:
        return False

    def get_cursor(self, result: ReceiveResult) -> str:
        return ""


_ERRORS = inline_serializer(
    "ShoplazzaErrors", {"errors": serializers.ListField(child=serializers.CharField())}
)
_ERROR = inline_serializer("ShoplazzaError", {"error": serializers.CharField()})


def _is_json(request: Any) -> bool:
    media_type = (request.content_type or "").split(";")[0].strip().lower()
    return media_type == "application/json"


class ReceiveCouponsViewSet(ShoplazzaViewSet):
    @extend_schema(
        operation_id="shoplazza_coupons_receive",
        summary="Receive Coupons",
        description=(
            "Assigns coupons to a customer. Each coupon is received or refused on its "
            "own (`items[].status`: 1 received, 2 not eligible, 4 receive limit "
            "reached, 5 expired, 6 does not exist, 7 already received, 8 insufficient "
            "stock, 10 not started); the top-level `status` is 1 when all were "
            f"received, else the first failing item's. At most {MAX_COUPON_IDS} ids."
        ),
        request=ReceiveInput,
        responses={
            200: ReceiveOutput,
            400: OpenApiResponse(
                _ERRORS,
                description="Malformed JSON, wrong types, or a Content-Type other "
                "than application/json.",
            ),
            401: OpenApiResponse(_ERROR, description='{"error": "Unauthorized"}'),
            403: OpenApiResponse(
                _ERRORS,
                description="The key lacks the price_rules scope "
                '(`{"error": "store is not active"}` for an inactive store).',
            ),
            404: OpenApiResponse(_ERRORS, description='["customer not exist"]'),
            422: OpenApiResponse(
                _ERRORS,
                description='["CouponIds is required"] (none given), or more than '
                f"{MAX_COUPON_IDS} ids.",
            ),
            429: OpenApiResponse(
                _ERRORS,
                description=GUESSING_429 + " A coupon id that names no coupon counts "
                "as a failed lookup.",
            ),
        },
    )
    @action(detail=False, methods=["post"])
    def receive(self, request):
        if not _is_json(request):
            raise DomainError(
                core_errors.UNSUPPORTED_MEDIA_TYPE,
                "Content-Type must be application/json.",
            )
        data = validated(ReceiveInput(data=request.data))
        customer_id = flake.parse(data["customer_id"])
        self.guessing.check(customer_id)  # 429 while locked out (stores.guessing)
        result = receive.receive_coupons(
            store=self.store,
            customer=CustomerRef(id=customer_id),
            coupon_ids=data.get("coupon_ids") or [],
            actor=self.actor,
        )
        # A coupon id that names none counts as a failed lookup, as a code does.
        self.guessing.failed(
            customer_id,
            failures=sum(item.outcome == Outcome.NOT_FOUND for item in result.items),
        )
        self.guessing.settle(
            wrote=any(item.outcome == Outcome.RECEIVED for item in result.items)
        )
        return Response(
            ReceiveOutput(result, context={"currency": self.store.currency}).data
        )
