"""PayNow dialect: ``/v1/stores/{storeId}/coupons`` (seed 001), and the native
redemption endpoints in the PayNow style (validate, redeem, list, roll back)."""

from __future__ import annotations

import re
from typing import Any

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from core.dialects.fields import ChoiceField, ObjectInput
from core.errors import DomainError
from core.filters import FlakeIdFilter, filtered_page
from core.schema import PAYNOW_ERRORS, keyset_parameters
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
from coupons import errors, selectors, services
from coupons.models import Coupon, DiscountType, Duration, Origin, PurchaseType
from coupons.redeem import service as redeem
from coupons.redeem.decide import Order
from customers import errors as customer_errors
from customers.refs import CustomerRef
from stores.api.dialects import PayNowViewSet
from stores.scopes import COUPONS_READ, COUPONS_WRITE

CODE_RE = re.compile(r"^[A-Za-z0-9-]+$")
INT64 = 2**63 - 1


class FlakeIdList(ListInput):
    child = FlakeIdInputField()

    def to_representation(self, data):
        return [str(item) for item in data]


class Money(StrictIntegerField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", INT64)
        super().__init__(**kwargs)


class CouponInput(ObjectInput):
    """CreateCouponDto (POST); with ``partial=True`` it is UpdateCouponDto (PATCH)."""

    enabled = StrictBooleanField()
    code = StrictCharField(max_length=64)
    note = StrictCharField(required=False, allow_null=True, allow_blank=True)
    duration = ChoiceField(choices=Duration.values)
    duration_in_months = StrictIntegerField(
        required=False, allow_null=True, min_value=1, max_value=1200
    )
    # PayNow's 2026 name for duration_in_months; either spelling is accepted.
    duration_in_intervals = StrictIntegerField(
        required=False, allow_null=True, min_value=1, max_value=1200
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
        values = super().to_internal_value(data)
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
        data = validated(CouponInput(data=request.data, partial=True))
        coupon = services.coupon_update(coupon=coupon, actor=self.actor, **data)
        return Response(CouponOutput(coupon).data)

    def destroy(self, request, store_id: str, coupon_id: str):
        coupon = selectors.coupon_get(store=self.store, coupon_id=coupon_id)
        services.coupon_delete(coupon=coupon, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class OrderInput(ObjectInput, SharedFieldsInput):
    code = StrictCharField(max_length=100)
    customer_id = FlakeIdInputField(required=False, allow_null=True)
    order_value = Money(required=False, default=0)
    purchase_type = ChoiceField(
        choices=PurchaseType.values, required=False, default=PurchaseType.ONE_TIME
    )
    product_ids = FlakeIdList(required=False, default=list, max_length=1000)
    tag_ids = FlakeIdList(required=False, default=list, max_length=1000)

    def customer(self) -> CustomerRef | None:
        customer_id = self.validated_data.get("customer_id")
        return None if customer_id is None else CustomerRef.by_id(customer_id)

    def order(self) -> Order:
        data = self.validated_data
        return Order(
            order_value=data["order_value"],
            purchase_type=data["purchase_type"],
            product_ids=tuple(data["product_ids"]),
            tag_ids=tuple(data["tag_ids"]),
        )


class RedeemInput(OrderInput):
    transaction_number = StrictCharField(
        max_length=128, required=False, allow_null=True, allow_blank=True
    )


class ProblemOutput(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class ValidationOutput(serializers.Serializer):
    valid = serializers.BooleanField()
    reasons = ProblemOutput(many=True)
    discount = serializers.IntegerField()


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


class RedemptionFilter(filters.FilterSet):
    coupon_id = FlakeIdFilter(field_name="coupon_id")
    customer_id = FlakeIdFilter(field_name="customer_id")


@extend_schema_view(
    validate=extend_schema(
        summary="Check a code for a customer and an order (every failing rule)",
        request=OrderInput,
        responses={200: ValidationOutput, **PAYNOW_ERRORS},
    ),
)
class CouponValidationViewSet(PayNowViewSet):
    read_scope = COUPONS_READ
    write_scope = COUPONS_READ  # validating writes nothing

    @action(detail=False, methods=["post"])
    def validate(self, request, store_id: str):
        serializer = OrderInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            verdict = redeem.redemption_validate(
                store=self.store,
                code=serializer.validated_data["code"],
                customer=serializer.customer(),
                order=serializer.order(),
            )
        except DomainError as error:
            if error.reason == customer_errors.CUSTOMER_NOT_FOUND:
                raise _no_customer("customer_id") from error
            if error.reason != errors.COUPON_NOT_FOUND:
                raise
            body = {
                "valid": False,
                "reasons": [
                    {"code": "not_found", "message": "No coupon has this code."}
                ],
                "discount": 0,
            }
            return Response(body)
        return Response(
            ValidationOutput(
                {
                    "valid": verdict.valid,
                    "reasons": verdict.problems,
                    "discount": verdict.discount,
                }
            ).data
        )


@extend_schema_view(
    list=extend_schema(
        summary="List redemptions",
        parameters=keyset_parameters(),
        filters=True,
        responses={200: RedemptionOutput(many=True), **PAYNOW_ERRORS},
    ),
    create=extend_schema(
        summary="Redeem a code (409 with every reason when it cannot be)",
        request=RedeemInput,
        responses={200: RedemptionOutput, **PAYNOW_ERRORS},
    ),
    rollback=extend_schema(
        summary="Roll back a redemption (frees the limits it used)",
        request=None,
        responses={200: RedemptionOutput, **PAYNOW_ERRORS},
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
            selectors.redemption_queryset(store=self.store),
        )
        return Response(RedemptionOutput(redemptions, many=True).data)

    def create(self, request, store_id: str):
        serializer = RedeemInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            redemption = redeem.redemption_create(
                store=self.store,
                code=data["code"],
                customer=serializer.customer(),
                order=serializer.order(),
                actor=self.actor,
                transaction_number=data.get("transaction_number") or None,
            )
        except DomainError as error:
            if error.reason != customer_errors.CUSTOMER_NOT_FOUND:
                raise
            raise _no_customer("customer_id") from error
        return Response(RedemptionOutput(redemption).data)

    @action(detail=True, methods=["post"])
    def rollback(self, request, store_id: str, redemption_id: str):
        redemption = selectors.redemption_get(
            store=self.store, redemption_id=redemption_id
        )
        redeem.redemption_rollback(
            store=self.store, redemption_id=redemption.id, actor=self.actor
        )
        return Response(
            RedemptionOutput(
                selectors.redemption_get(store=self.store, redemption_id=redemption.id)
            ).data
        )
