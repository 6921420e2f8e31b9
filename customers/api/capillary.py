"""Capillary v1.1 dialect: ``GET /v1.1/customer/coupons`` (seed 003).

Also the v1.1 customer identifiers (``mobile``, ``email``, ``external_id``, ``id``)
that the coupon endpoints of the dialect (redeem, isredeemable) take as well.

Ids shown are the rows' compact ids (``core.compact``), as strings the way the seed
writes them; an ``id`` or ``series_id`` given may be a compact id or, as the dialect
showed before, a flake id.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response

from core.dialects.capillary_v11 import (
    CAPILLARY_V11,
    COUPONS_RETRIEVED,
    SUCCESS,
    NumericIdField,
    V11CustomerIdentifiers,
    V11Identifiers,
    V11Status,
    echo_identifiers,
    identifiers,
)
from core.dialects.fields import BlankForNull, ChoiceField
from core.errors import DomainError
from core.schema import error_responses
from core.serializers import IdStringField, MillisDateTimeField
from core.timefmt import local_seconds
from customers import selectors
from customers.refs import CustomerRef
from stores.api.dialects import CapillaryV11ViewSet

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_OFFSET = 2**31 - 1


# --- input ----------------------------------------------------------------------------


class DateParam(serializers.DateField):
    """``YYYY-MM-DD``, in a range whose local midnights are valid times anywhere."""

    FIRST, LAST = date(1900, 1, 1), date(9998, 12, 31)
    default_error_messages = {
        "invalid": "Must be a date in the form YYYY-MM-DD.",
        "range": "Must be between 1900-01-01 and 9998-12-31.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("input_formats", ["%Y-%m-%d"])
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> date:
        parsed = super().to_internal_value(value)
        if not self.FIRST <= parsed <= self.LAST:
            self.fail("range")
        return parsed


class V11CustomerCouponsQuery(V11CustomerIdentifiers):
    start_date = DateParam(
        required=False, help_text="Issued or redeemed on or after this date."
    )
    end_date = DateParam(
        required=False, help_text="Issued or redeemed on or before this date."
    )
    status = ChoiceField(
        required=False,
        any_case=True,
        choices=[choice.value for choice in selectors.HoldingStatus],
    )
    series_id = NumericIdField(required=False)
    store_id = serializers.CharField(
        required=False, max_length=64, help_text="An outlet (store) code."
    )
    order_by = ChoiceField(
        required=False,
        any_case=True,
        default="created_date",
        choices=["created_date", "created_by", "valid_till"],
    )
    sort_order = ChoiceField(
        required=False, any_case=True, default="desc", choices=["asc", "desc"]
    )
    limit = serializers.IntegerField(
        required=False, default=DEFAULT_LIMIT, min_value=1, max_value=MAX_LIMIT
    )
    offset = serializers.IntegerField(
        required=False, default=0, min_value=0, max_value=MAX_OFFSET
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        start, end = attrs.get("start_date"), attrs.get("end_date")
        if start and end and start > end:
            raise serializers.ValidationError(
                {"end_date": ["Must not be before start_date."]}
            )
        return attrs


ORDER_BY = {
    "created_date": selectors.HoldingOrder.CREATED,
    "created_by": selectors.HoldingOrder.CREATED_BY,
    "valid_till": selectors.HoldingOrder.VALID_TILL,
}


def local_midnight(day: date, tz: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(tz))


# --- output ---------------------------------------------------------------------------


class V11Outlet(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


@extend_schema_field(V11Outlet)
class PlaceField(serializers.Field):
    """Output only: where it happened, the outlet's ``{code, name}``, or the store's
    own code and name when no outlet was involved (never null; context ``store``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def get_attribute(self, instance: Any) -> Any:
        # (DRF renders a None attribute as null without asking the field.)
        outlet = super().get_attribute(instance)
        return outlet if outlet is not None else self.context["store"]

    def to_representation(self, place: Any) -> dict[str, str]:
        return {"code": place.code, "name": place.name}


@extend_schema_field(OpenApiTypes.STR)
class LocalSecondsField(BlankForNull):
    """Output only: ``2019-12-31 23:59:59`` in the store's time zone (context); never
    expires: an empty string (the seed's objects are never null)."""

    def to_representation(self, value: datetime | str) -> str:
        if value == "":
            return ""
        return local_seconds(value, self.context["timezone"])


class V11Redemption(serializers.Serializer):
    id = IdStringField(source="compact_id")
    date = MillisDateTimeField(source="created_at")
    transaction_number = serializers.CharField(allow_null=True)
    redeemed_at = PlaceField(source="outlet")


class V11RedemptionList(serializers.Serializer):
    redemption = V11Redemption(many=True, source="holder_redemptions")


class V11CustomProperty(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.CharField()


class V11CustomPropertyList(serializers.Serializer):
    custom_property = V11CustomProperty(many=True)


def _series(holding: Any) -> Any:
    return holding.series or holding.coupon.series


class V11CustomerCoupon(serializers.Serializer):
    """One coupon of the customer (an assignment), in the seed's field order."""

    id = IdStringField(source="coupon.compact_id")
    series_id = serializers.SerializerMethodField()
    series_name = serializers.SerializerMethodField()
    redemption_count = serializers.SerializerMethodField()
    created_date = MillisDateTimeField(source="created_at")
    valid_till = LocalSecondsField(source="effective_valid_till")
    code = serializers.CharField(source="coupon.code")
    transaction_number = serializers.CharField(allow_null=True)
    issued_at = PlaceField(source="outlet")
    purpose = serializers.CharField()
    custom_properties = serializers.SerializerMethodField()
    redemptions = V11RedemptionList(source="coupon")

    @extend_schema_field(OpenApiTypes.STR)
    def get_series_id(self, holding: Any) -> str:
        series = _series(holding)
        return "" if series is None else str(series.compact_id)

    @extend_schema_field(OpenApiTypes.STR)
    def get_series_name(self, holding: Any) -> str:
        series = _series(holding)
        return "" if series is None else series.description

    @extend_schema_field(OpenApiTypes.INT)
    def get_redemption_count(self, holding: Any) -> int:
        return len(holding.coupon.holder_redemptions)

    @extend_schema_field(V11CustomPropertyList)
    def get_custom_properties(self, holding: Any) -> dict[str, Any]:
        series = _series(holding)
        properties = series.custom_properties if series is not None else None
        if not isinstance(properties, dict):
            properties = {}
        return {
            "custom_property": [
                {
                    "name": str(name),
                    "value": value if isinstance(value, str) else json.dumps(value),
                }
                for name, value in sorted(properties.items())
            ]
        }


class V11CustomerCouponList(serializers.Serializer):
    coupon = V11CustomerCoupon(many=True)


class V11Customer(serializers.Serializer):
    firstname = serializers.CharField(source="customer.first_name")
    lastname = serializers.CharField(source="customer.last_name")
    email = BlankForNull(source="customer.email")
    external_id = serializers.CharField(source="customer.external_id", allow_null=True)
    mobile = BlankForNull(source="customer.mobile")
    id = IdStringField(source="customer.compact_id")
    coupons = V11CustomerCouponList(source="*")
    item_status = V11Status()


class V11Pagination(serializers.Serializer):
    limit = serializers.CharField()
    offset = serializers.CharField()
    total = serializers.IntegerField()


class V11CustomerList(serializers.Serializer):
    customer = V11Customer(many=True)


class V11CustomerCouponsBody(serializers.Serializer):
    pagination = V11Pagination()
    status = V11Status()
    customers = V11CustomerList()


class V11CustomerCouponsResponse(serializers.Serializer):
    response = V11CustomerCouponsBody()


class V11FailedCustomer(V11Identifiers):
    """A customer item that failed: the identifiers as the request gave them."""

    item_status = V11Status()


V11_ERROR = inline_serializer(
    "CapillaryV11Error",
    {
        "response": inline_serializer(
            "CapillaryV11ErrorBody",
            {
                "status": V11Status(),
                "customers": inline_serializer(
                    "CapillaryV11FailedCustomers",
                    {"customer": V11FailedCustomer(many=True)},
                    required=False,
                ),
            },
        )
    },
)

V11_ERRORS = error_responses(
    V11_ERROR,
    (
        (
            400,
            "Invalid parameters (`status.code` 400), or the customer could not be "
            "found (`item_status.code` 701) / the series ID is invalid (707).",
        ),
        (401, "Missing or bad credentials."),
        (403, "The key lacks the `series` scope, or the store is inactive."),
    ),
)


# --- view -----------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="A customer's coupons, with their redemptions (Capillary v1.1)",
        parameters=[V11CustomerCouponsQuery],
        responses={200: V11CustomerCouponsResponse, **V11_ERRORS},
    )
)
class CustomerCouponsViewSet(CapillaryV11ViewSet):
    def list(self, request):
        query = V11CustomerCouponsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        store = self.store
        ref = CustomerRef.named(**identifiers(data))
        customer = selectors.customer_find(store=store, **ref.lookups())
        if customer is None:
            return self._failure(data, "customer_not_found")
        since = before = None
        if data.get("start_date"):
            since = local_midnight(data["start_date"], store.timezone)
        if data.get("end_date"):
            before = local_midnight(
                data["end_date"] + timedelta(days=1), store.timezone
            )
        try:
            holdings = selectors.customer_coupon_holdings(
                store=store,
                customer=customer,
                since=since,
                before=before,
                status=data.get("status"),
                series_id=data.get("series_id"),
                redeemable_at=data.get("store_id"),
                order_by=ORDER_BY[data["order_by"]],
                descending=data["sort_order"] == "desc",
            )
        except DomainError as exc:
            if exc.reason == selectors.SERIES_NOT_FOUND:
                return self._failure(data, exc.reason)
            raise
        limit, offset = data["limit"], data["offset"]
        total = holdings.count()
        page = list(holdings[offset : offset + limit]) if total > offset else []
        body = {
            "response": {
                "pagination": {
                    "limit": str(limit),
                    "offset": str(offset),
                    "total": total,
                },
                "status": dict(SUCCESS),
                "customers": {
                    "customer": [
                        {
                            "customer": customer,
                            "coupon": page,
                            "item_status": CAPILLARY_V11.item_status(COUPONS_RETRIEVED),
                        }
                    ]
                },
            }
        }
        context = {"timezone": store.timezone, "store": store}
        return Response(V11CustomerCouponsResponse(body, context=context).data)

    def _failure(self, data: dict[str, Any], reason: str) -> Response:
        status, overall = CAPILLARY_V11.overall([False])
        item = {
            **echo_identifiers(data),
            "item_status": CAPILLARY_V11.item_failure(reason),
        }
        body = {"response": {"status": overall, "customers": {"customer": [item]}}}
        return Response(body, status=status)
