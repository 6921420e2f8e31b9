"""Capillary v2 dialect of the series app (seed 002).

``POST /v2/coupon/series`` (a ``CouponSeriesV2`` body, wrapped or bare),
``GET /v2/coupon/series?ids=1,2`` and ``POST /v2/coupon/issue/multiple``. Field names,
types and formats are Capillary's; IDs are JSON numbers: the rows' compact ids
(``core.compact``: int32 while row counts allow, never above 2^53-1), never a
flake id. A series or customer id given back may be either (flake ids as shown
before). Errors are
``{"errors": [{"status": false, "code": N, "message": "..."}]}`` (HTTP 400, 401 for
auth) from the one table in ``core/dialects/capillary.py``; a partial success is a
200 whose ``errors`` list comes from the same table.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from drf_spectacular.drainage import set_override
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response

from core import compact, flake, money, timefmt
from core.dialects.capillary import CAPILLARY_V2, NO_DISCOUNT_CODE, discount_code
from core.dialects.fields import AmountField, ChoiceField, NumberField
from core.errors import DomainError
from core.schema import error_responses
from core.serializers import (
    DictInput,
    SharedFieldsInput,
    SharedFieldsOutput,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    validated,
)
from customers.models import Customer
from customers.refs import CustomerRef
from series import errors, selectors, services
from series.codegen import AFFIX_RE
from series.issue import service as issue_service
from series.issue.service import IssueOutcome
from series.models import (
    UNLIMITED,
    DiscountOn,
    ExpiryStrategy,
    Series,
    SeriesDiscountType,
)
from stores.api.dialects import CapillaryV2ViewSet

MAX_AMOUNT = Decimal("999999999999.99")
MAX_IDS = 100
AT_MOST = f"At most {MAX_AMOUNT}."
# The counts of a series are shown back as JSON numbers, which clients generated from
# Capillary's OpenAPI read as int32 (DESIGN.md, IDs): they are capped there.
INT32 = compact.INT32


# --- input ----------------------------------------------------------------------------


def _amount(**kwargs: Any) -> AmountField:
    """An amount of a series: a JSON number in major units, never negative, with at
    most as many decimals as any currency has; the store currency's own rule (JPY 0,
    EUR 2, KWD 3) is the service's (``core.money``)."""
    return AmountField(
        max_value=MAX_AMOUNT,
        max_decimals=money.MAX_DECIMALS,
        error_messages={"min_value": "Cannot be negative.", "max_value": AT_MOST},
        **kwargs,
    )


def _store_time(naive: datetime, zone: ZoneInfo) -> datetime:
    """The instant a wall-clock time without an offset names in the store's zone,
    as that zone's clock shows it. In a spring-forward gap (02:30 in New York on
    2027-03-14) it is read with the offset before the gap and so moves forward by
    the gap (03:30-04:00), as Java's ``ZonedDateTime.of`` does; in the repeated hour
    of autumn it is the first one (fold=0: 01:30-04:00 on 2027-11-07). Through UTC,
    so the answer shows what a later read shows: ``replace(tzinfo=zone)`` kept the
    non-existent 02:30-05:00, which ``astimezone`` to the same zone leaves as is."""
    return naive.replace(tzinfo=zone, fold=0).astimezone(UTC).astimezone(zone)


@extend_schema_field(OpenApiTypes.DATETIME)
class ValidTillField(serializers.Field):
    """``2026-06-12T00:00:00+05:30`` as given; without an offset, store time
    (``_store_time``: a time in a DST gap moves forward by the gap, a repeated one
    is the first); a bare date ``2026-06-12`` is the end of that day (23:59:59) in
    the store's time zone."""

    default_error_messages = {
        "invalid": "Must be a date-time such as 2026-06-12T23:59:59+05:30, "
        "or a date such as 2026-06-12.",
        "out_of_range": timefmt.OUT_OF_RANGE,
    }

    def to_internal_value(self, data: Any) -> datetime:
        if not isinstance(data, str):
            self.fail("invalid")
        zone = ZoneInfo(self.context.get("tz", "UTC"))
        text = data.strip()
        day = timefmt.parse_day(text)
        moment = None if day else timefmt.parse_instant(text)
        if day is not None:
            moment = datetime.combine(day, time(23, 59, 59), tzinfo=zone)
        elif moment is None:
            self.fail("invalid")
        elif moment.tzinfo is None:
            try:
                moment = _store_time(moment, zone)
            except OverflowError:  # 9999-12-31T23:00:00 west of UTC
                self.fail("out_of_range")
        if not timefmt.storable(moment):
            self.fail("out_of_range")
        return moment


class AffixField(StrictCharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.update(required=False, allow_blank=True, max_length=32, default="")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not AFFIX_RE.match(value):
            raise serializers.ValidationError("Only letters, digits, '-' and '_'.")
        return value


class CapInt(StrictIntegerField):
    """-1 (unlimited) or a count, at most ``INT32``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("min_value", UNLIMITED)
        kwargs.setdefault("max_value", INT32)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        value = super().to_internal_value(data)
        if value == 0:
            raise serializers.ValidationError("Use -1 (unlimited) or at least 1.")
        return value


def _same(data: Any, value: Any) -> bool:
    """JSON equality: false is not 0 nor true 1 (as they are in Python), 0.0 is 0."""
    if isinstance(value, bool) or isinstance(data, bool):
        return data is value
    return isinstance(data, int | float | Decimal) and data == value


class NotEnforcedField(serializers.Field):
    """A restriction of Capillary's ``CouponSeriesV2`` that Couponhub does not
    enforce: taken only at a value that restricts nothing (or null, or left out),
    any other value is a 400 naming the field. Answering 200 would let a client
    believe its series restricted when no redemption would check it (attack report
    2, item 15)."""

    def __init__(self, openapi_type: str, *unrestricted: Any, **kwargs: Any) -> None:
        kwargs.update(required=False, allow_null=True)
        super().__init__(**kwargs)
        self.unrestricted = unrestricted
        self.shown = "".join(f" or {json.dumps(value)}" for value in unrestricted)
        # The schema names the only values taken (DRF re-runs __init__ on binding);
        # one integer as a range of one, so that two fields taking -1 alone are not
        # one enum component with two names.
        schema: dict[str, Any] = {"type": openapi_type, "nullable": True}
        # (Null alone has no OpenAPI 3.0 form: an enum of only null is refused.)
        if openapi_type == "integer" and len(unrestricted) == 1:
            schema.update(minimum=unrestricted[0], maximum=unrestricted[0])
        elif unrestricted:
            schema["enum"] = [*unrestricted, None]
        schema["description"] = (
            f"Not enforced by Couponhub: only null{self.shown} (no restriction) is "
            "taken, else 400."
        )
        set_override(self, "field", schema)

    def to_internal_value(self, data: Any) -> Any:
        if any(_same(data, value) for value in self.unrestricted):
            return data
        raise serializers.ValidationError(
            "Not supported: Couponhub does not enforce this restriction. "
            f"Leave it out, or send null{self.shown}."
        )

    def to_representation(self, value: Any) -> Any:
        return value


class CouponSeriesV2Input(serializers.Serializer):
    """Capillary's ``CouponSeriesV2``. Restrictions Couponhub does not enforce are
    refused unless they restrict nothing (``NotEnforcedField``); other fields it
    does not model (``smsTemplate``, ``clientHandlingType``, ...) are ignored."""

    description = StrictCharField(max_length=250)
    discountCode = StrictCharField(
        max_length=100, required=False, allow_blank=True, default=NO_DISCOUNT_CODE
    )
    discountType = ChoiceField(choices=SeriesDiscountType.values, strings_only=True)
    discountValue = _amount()
    discountUpto = _amount(required=False, default=Decimal(0))
    discountOn = ChoiceField(
        choices=DiscountOn.values,
        strings_only=True,
        required=False,
        default=DiscountOn.BILL,
    )
    validTillDate = ValidTillField()
    expiryStrategyType = ChoiceField(
        choices=ExpiryStrategy.values,
        strings_only=True,
        required=False,
        default=ExpiryStrategy.SERIES_EXPIRY,
    )
    expiryStrategyValue = StrictIntegerField(
        required=False, min_value=0, max_value=36500
    )
    maxCreate = CapInt(default=UNLIMITED)
    isMultipleVouchersPerUserAllowed = StrictBooleanField(required=False, default=True)
    maxVouchersPerUser = CapInt(default=UNLIMITED)
    genericCode = StrictCharField(
        max_length=100, required=False, allow_blank=True, allow_null=True
    )
    alphaNumeric = StrictBooleanField(required=False, default=True)
    randomCodeLength = StrictIntegerField(
        required=False, min_value=1, max_value=64, default=8
    )
    couponPrefix = AffixField()
    couponSuffix = AffixField()
    # Couponhub's extension (issue 20): codes people can type.
    checkCharacter = StrictBooleanField(
        required=False,
        default=False,
        help_text="Couponhub extension: random codes over Crockford's base32 (no I, "
        "L, O, U) with a check character appended (coupons.typed_codes); "
        "`alphaNumeric` is then ignored, and `couponPrefix`/`couponSuffix` may use "
        "only those symbols. Every dialect reads such a code in any case, without "
        "spaces or dashes, O as 0 and I/L as 1, and refuses a mistyped one.",
    )
    redemptionValidAfterDays = StrictIntegerField(
        required=False, min_value=0, max_value=36500, default=0
    )
    minBillAmount = _amount(required=False, default=Decimal(0))
    redemptionPerCouponMaxLimit = CapInt(default=1)
    customPropertyMap = DictInput(
        child=StrictCharField(max_length=1000, allow_blank=True),
        required=False,
        default=dict,
    )
    # Restrictions with no equivalent in the domain (README, Capillary v2): no
    # maximum bill, no series-wide or per-customer redemption count, no spacing of
    # issues, no date before which codes of a series cannot be redeemed.
    maxBillAmount = NotEnforcedField("number", 0, -1)
    maxRedeem = NotEnforcedField("integer", -1)
    maxRedemptionsInSeriesPerUser = NotEnforcedField("integer", -1)
    sameUserMultipleRedeem = NotEnforcedField("boolean", True)
    minDaysBetweenVouchers = NotEnforcedField("integer", 0)
    redemptionValidFrom = NotEnforcedField("string")  # a date in Capillary

    def validate_customPropertyMap(self, value: dict[str, str]) -> dict[str, str]:
        if len(value) > 50:
            raise serializers.ValidationError("At most 50 properties.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        strategy = attrs["expiryStrategyType"]
        if strategy != ExpiryStrategy.SERIES_EXPIRY and (
            attrs.get("expiryStrategyValue") is None
        ):
            raise serializers.ValidationError(
                {"expiryStrategyValue": [f"Required with {strategy}."]}
            )
        return attrs

    def to_domain(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        data["expiryStrategyValue"] = data.get("expiryStrategyValue") or 0
        data["genericCode"] = data.get("genericCode") or ""
        return {domain: data[name] for name, domain in SERIES_FIELDS.items()}


# The series' fields: the request's name -> the domain's. ``to_domain`` reads the body
# through it, and the service's field errors are named back through it
# (``DOMAIN_NAMES``), so a client reads ``discountValue: ...`` where the service said
# ``discount_value`` (DESIGN.md, Layers: the dialect maps).
SERIES_FIELDS = {
    "description": "description",
    "discountCode": "discount_code",
    "discountType": "discount_type",
    "discountValue": "discount_value",
    "discountUpto": "discount_upto",
    "discountOn": "discount_on",
    "validTillDate": "valid_till",
    "expiryStrategyType": "expiry_strategy_type",
    "expiryStrategyValue": "expiry_strategy_value",
    "maxCreate": "max_create",
    "isMultipleVouchersPerUserAllowed": "is_multiple_vouchers_per_user_allowed",
    "maxVouchersPerUser": "max_vouchers_per_user",
    "genericCode": "generic_code",
    "alphaNumeric": "alpha_numeric",
    "randomCodeLength": "random_code_length",
    "couponPrefix": "code_prefix",
    "couponSuffix": "code_suffix",
    "checkCharacter": "check_character",
    "redemptionValidAfterDays": "redemption_valid_after_days",
    "minBillAmount": "min_bill_amount",
    "redemptionPerCouponMaxLimit": "max_redemptions_per_coupon",
    "customPropertyMap": "custom_properties",
}
DOMAIN_NAMES = {domain: name for name, domain in SERIES_FIELDS.items()}


@extend_schema_field(OpenApiTypes.INT64)
class SeriesIdField(serializers.Field):
    default_error_messages = {
        "invalid": "Must be a series ID (a number).",
        "many": "Takes one series ID (a number), not a list: issue from one series "
        "per request.",
    }

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, list):
            self.fail("many")
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return data


class CapillaryV2CustomerRefInput(SharedFieldsInput):
    """Who gets the coupons: any of these (every one given must match)."""

    mobile = StrictCharField(max_length=32, required=False, allow_null=True)
    email = StrictCharField(max_length=254, required=False, allow_null=True)
    externalId = StrictCharField(max_length=128, required=False, allow_null=True)
    id = StrictIntegerField(
        required=False, allow_null=True, min_value=1, max_value=flake.MAX_ID
    )


class CapillaryV2MetadataInput(SharedFieldsInput):
    sourceType = StrictCharField(max_length=50, required=False, allow_blank=True)
    sourceId = StrictCharField(max_length=50, required=False, allow_blank=True)
    sourceActivity = StrictCharField(max_length=50, required=False, allow_blank=True)
    notes = StrictCharField(max_length=250, required=False, allow_blank=True)
    reason = StrictCharField(max_length=250, required=False, allow_blank=True)


class CapillaryV2IssueMultipleInput(SharedFieldsInput):
    seriesId = SeriesIdField(required=False, allow_null=True)
    count = StrictIntegerField(required=False, allow_null=True)
    customer = CapillaryV2CustomerRefInput(required=False, allow_null=True)
    metadata = CapillaryV2MetadataInput(required=False, allow_null=True)


# --- output ---------------------------------------------------------------------------


def _epoch_ms(value: datetime | None) -> int:
    return 0 if value is None else int(value.timestamp() * 1000)


def _local_iso(value: datetime | None, tz: str) -> str | None:
    if value is None:
        return None
    return timefmt.in_zone(value, tz).isoformat(timespec="seconds")


class _Constant(serializers.Field):
    def __init__(self, value: Any, **kwargs: Any) -> None:
        kwargs.update(read_only=True, source="*")
        super().__init__(**kwargs)
        self.value = value

    def to_representation(self, instance: Any) -> Any:
        return self.value


@extend_schema_field(OpenApiTypes.BOOL)
class FalseField(_Constant):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(False, **kwargs)


@extend_schema_field(OpenApiTypes.INT)
class ZeroField(_Constant):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(0, **kwargs)


@extend_schema_field(OpenApiTypes.STR)
class BlankField(_Constant):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", **kwargs)


@extend_schema_field({"type": "object"})
class EmptyObjectField(_Constant):
    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(None, **kwargs)


@extend_schema_field({"type": "array", "items": {"type": "object"}})
class EmptyListField(_Constant):
    def to_representation(self, instance: Any) -> list[Any]:
        return []

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(None, **kwargs)


class CapillaryV2Series(serializers.Serializer):
    """A coupon series as Capillary's v2 series endpoints show it."""

    id = serializers.IntegerField(source="compact_id")
    # A store is not a Capillary org, and its flake id is no safe JSON number.
    orgId = ZeroField()
    description = serializers.CharField()
    discountCode = serializers.SerializerMethodField()
    info = serializers.CharField(source="description")
    validTillDate = serializers.SerializerMethodField()
    expiryStrategyType = serializers.CharField(source="expiry_strategy_type")
    expiryStrategyValue = serializers.IntegerField(source="expiry_strategy_value")
    maxCreate = serializers.IntegerField(source="max_create")
    numIssued = serializers.IntegerField(source="issued_count")
    isMultipleVouchersPerUserAllowed = serializers.BooleanField(
        source="is_multiple_vouchers_per_user_allowed"
    )
    maxVouchersPerUser = serializers.IntegerField(source="max_vouchers_per_user")
    discountType = serializers.CharField(source="discount_type")
    discountValue = NumberField(source="discount_value")
    discountUpto = NumberField(source="discount_upto")
    discountOn = serializers.CharField(source="discount_on")
    minBillAmount = NumberField(source="min_bill_amount")
    redemptionPerCouponMaxLimit = serializers.IntegerField(
        source="max_redemptions_per_coupon"
    )
    redemptionValidAfterDays = serializers.IntegerField(
        source="redemption_valid_after_days"
    )
    genericCode = serializers.SerializerMethodField()
    alphaNumeric = serializers.BooleanField(source="alpha_numeric")
    randomCodeLength = serializers.IntegerField(source="random_code_length")
    couponPrefix = serializers.CharField(source="code_prefix")
    couponSuffix = serializers.CharField(source="code_suffix")
    customPropertyMap = serializers.DictField(
        source="custom_properties", child=serializers.CharField()
    )
    seriesCode = serializers.SerializerMethodField()
    createdOn = serializers.SerializerMethodField()

    def get_discountCode(self, series: Series) -> str:
        return discount_code(series.discount_code)

    def get_validTillDate(self, series: Series) -> str | None:
        return _local_iso(series.valid_till, self.context["tz"])

    def get_genericCode(self, series: Series) -> str | None:
        return series.generic_code if series.is_generic else None

    def get_seriesCode(self, series: Series) -> str:
        return str(series.id)

    def get_createdOn(self, series: Series) -> str | None:
        return _local_iso(series.created_at, self.context["tz"])


class CapillaryV2CouponConfig(SharedFieldsOutput):
    """``couponConfig`` of issue/multiple: every field of the seed, from the series."""

    customPropertyMap = serializers.DictField(
        source="custom_properties", child=serializers.CharField()
    )
    id = serializers.IntegerField(source="compact_id")
    description = serializers.CharField()
    discountCode = serializers.SerializerMethodField()
    info = serializers.CharField(source="description")
    discountUpto = NumberField(source="discount_upto")
    discountValue = NumberField(source="discount_value")
    issueToLoyalty = FalseField()
    numUploadedNonIssued = serializers.SerializerMethodField()
    numUploadedTotal = serializers.SerializerMethodField()
    redemptionValidAfterDays = serializers.IntegerField(
        source="redemption_valid_after_days"
    )
    ownerId = ZeroField()
    ownerValidity = ZeroField()
    alphaNumeric = serializers.BooleanField(source="alpha_numeric")
    shortCodeLength = ZeroField()
    randomCodeLength = serializers.SerializerMethodField()
    fixedExpiryDate = serializers.SerializerMethodField()
    numTotal = serializers.IntegerField(source="issued_count")
    latestIssualTime = serializers.SerializerMethodField()
    latestRedemptionTime = serializers.SerializerMethodField()
    discountOn = serializers.CharField(source="discount_on")
    discountType = serializers.CharField(source="discount_type")
    externalIssual = FalseField()
    updateProductData = FalseField()

    def get_discountCode(self, series: Series) -> str:
        return discount_code(series.discount_code)

    def get_numUploadedNonIssued(self, series: Series) -> int:
        return self.context["uploaded"][1]

    def get_numUploadedTotal(self, series: Series) -> int:
        return self.context["uploaded"][0]

    def get_randomCodeLength(self, series: Series) -> int:
        return 0 if series.is_generic else series.random_code_length

    def get_fixedExpiryDate(self, series: Series) -> int:
        if series.expiry_strategy_type != ExpiryStrategy.SERIES_EXPIRY:
            return 0
        return _epoch_ms(series.valid_till)

    def get_latestIssualTime(self, series: Series) -> int:
        return _epoch_ms(self.context["issued_at"])

    def get_latestRedemptionTime(self, series: Series) -> int:
        return _epoch_ms(self.context["redeemed_at"])


class CapillaryV2Identifier(serializers.Serializer):
    type = serializers.CharField()
    value = serializers.CharField()


class CapillaryV2Profile(SharedFieldsOutput):
    firstName = serializers.CharField(source="first_name")
    lastName = serializers.CharField(source="last_name")
    fields = EmptyObjectField()
    allFields = EmptyObjectField()
    identifiers = serializers.SerializerMethodField()
    commChannels = EmptyListField()
    userId = serializers.IntegerField(source="compact_id")
    accountId = BlankField()
    autoUpdateTime = serializers.SerializerMethodField()
    identifiersAll = serializers.SerializerMethodField()

    @extend_schema_field(CapillaryV2Identifier(many=True))
    def get_identifiers(self, customer: Customer) -> list[dict[str, str]]:
        found = (
            ("email", customer.email),
            ("mobile", customer.mobile),
            ("externalId", customer.external_id),
        )
        return [{"type": kind, "value": value} for kind, value in found if value]

    def get_autoUpdateTime(self, customer: Customer) -> str:
        return customer.updated_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    @extend_schema_field(CapillaryV2Identifier(many=True))
    def get_identifiersAll(self, customer: Customer) -> list[dict[str, str]]:
        return self.get_identifiers(customer)


class CapillaryV2Customer(SharedFieldsOutput):
    id = serializers.IntegerField(source="compact_id")
    profiles = serializers.SerializerMethodField()

    @extend_schema_field(CapillaryV2Profile(many=True))
    def get_profiles(self, customer: Customer) -> list[dict[str, Any]]:
        return [CapillaryV2Profile(customer).data]


class CapillaryV2IssuedCoupon(SharedFieldsOutput):
    code = serializers.CharField()
    couponId = serializers.IntegerField(source="compact_id")


class CapillaryV2ErrorItem(serializers.Serializer):
    status = serializers.BooleanField()
    code = serializers.IntegerField()
    message = serializers.CharField()


class CapillaryV2IssueMultiple(SharedFieldsOutput):
    coupons = CapillaryV2IssuedCoupon(many=True)
    couponConfig = CapillaryV2CouponConfig(source="series")
    totalCount = serializers.IntegerField(source="requested")
    failureCount = serializers.SerializerMethodField()
    successCount = serializers.IntegerField(source="issued")
    customer = CapillaryV2Customer()
    errors = serializers.SerializerMethodField()
    warnings = EmptyListField()

    def get_failureCount(self, outcome: IssueOutcome) -> int:
        return outcome.requested - outcome.issued

    @extend_schema_field(CapillaryV2ErrorItem(many=True))
    def get_errors(self, outcome: IssueOutcome) -> list[dict[str, Any]]:
        if outcome.shortfall is None:
            return []
        return [CAPILLARY_V2.item(outcome.shortfall)]


CAPILLARY_ERROR = inline_serializer(
    "CapillaryV2Error",
    {
        "errors": CapillaryV2ErrorItem(many=True),
    },
)


def _errors(*statuses: tuple[int, str]) -> dict[int, OpenApiResponse]:
    return error_responses(CAPILLARY_ERROR, statuses)


AUTH_ERRORS = (
    (401, "Missing or bad Basic credentials or OAuth token (code 401)."),
    (403, "The key lacks the `series` scope, or the store is inactive."),
)


# --- views ----------------------------------------------------------------------------


class CapillaryV2SeriesListEnvelope(serializers.Serializer):
    entity = CapillaryV2Series(many=True)
    warnings = CapillaryV2ErrorItem(many=True)


class CapillaryV2SeriesEnvelope(serializers.Serializer):
    entity = CapillaryV2Series()
    warnings = CapillaryV2ErrorItem(many=True)


def _ids(raw: str | None) -> list[int]:
    if raw is None or not raw.strip():
        raise serializers.ValidationError({"ids": ["Give series IDs, e.g. ids=1,2."]})
    parts = [part.strip() for part in raw.split(",")]
    if not all(part.isascii() and part.isdigit() for part in parts):
        raise serializers.ValidationError(
            {"ids": ["Comma-separated series IDs (numbers), e.g. ids=1,2."]}
        )
    if len(parts) > MAX_IDS:
        raise serializers.ValidationError({"ids": [f"At most {MAX_IDS} IDs."]})
    return [int(part) for part in parts]


class SeriesViewSet(CapillaryV2ViewSet):
    domain_field_names = DOMAIN_NAMES

    @extend_schema(
        summary="Get coupon series details",
        operation_id="capillary_series_get",
        parameters=[
            OpenApiParameter(
                "ids",
                str,
                required=True,
                description="Comma-separated series IDs (at most 100).",
            )
        ],
        responses={
            200: CapillaryV2SeriesListEnvelope,
            **_errors((400, "Bad `ids`, or no such series (code 707)."), *AUTH_ERRORS),
        },
    )
    def list(self, request):
        ids = _ids(request.query_params.get("ids"))
        found = selectors.series_by_ids(store=self.store, ids=ids)
        if not found:
            raise DomainError(errors.SERIES_NOT_FOUND, "Coupon series not found.")
        known = {key for series in found for key in (series.id, series.compact_id)}
        warnings = [
            {
                **CAPILLARY_V2.item(errors.SERIES_NOT_FOUND),
                "message": f"Coupon Series ID = {value} is invalid",
            }
            for value in dict.fromkeys(ids)
            if value not in known
        ]
        context = {"tz": self.store.timezone}
        return Response(
            {
                "entity": CapillaryV2Series(found, many=True, context=context).data,
                "warnings": warnings,
            }
        )

    @extend_schema(
        summary="Create a coupon series",
        description=(
            "A `CouponSeriesV2` object, bare or wrapped as "
            '`{"CouponSeriesV2": {...}}`. With `genericCode` the series is generic '
            "(everyone gets that code); otherwise codes are random from "
            "`alphaNumeric`/`randomCodeLength`/`couponPrefix`/`couponSuffix` and a "
            "first pool is generated at once."
        ),
        operation_id="capillary_series_create",
        request=CouponSeriesV2Input,
        responses={
            200: CapillaryV2SeriesEnvelope,
            **_errors(
                (400, "Invalid series (code 400), or its codes cannot fit."),
                *AUTH_ERRORS,
            ),
        },
    )
    def create(self, request):
        body = request.data
        if isinstance(body, dict) and "CouponSeriesV2" in body:
            body = body["CouponSeriesV2"]
        context = {"tz": self.store.timezone}
        serializer = CouponSeriesV2Input(data=body, context=context)
        validated(serializer)
        series = services.series_create(
            store=self.store,
            actor=self.actor,
            **serializer.to_domain(),
        )
        return Response(
            {"entity": CapillaryV2Series(series, context=context).data, "warnings": []}
        )


class IssueViewSet(CapillaryV2ViewSet):
    @extend_schema(
        summary="Issue multiple coupons to a customer from a series",
        operation_id="capillary_issue_multiple",
        request=CapillaryV2IssueMultipleInput,
        responses={
            200: OpenApiResponse(
                CapillaryV2IssueMultiple,
                description="Full or partial success; a partial one lists why in "
                "`errors` (5001, 5002, 5004, 5006).",
            ),
            **_errors(
                (
                    400,
                    "Nothing issued: 701, 707, 709, 713, 756, 677, 5001, 5002, "
                    "5005, or invalid input (400).",
                ),
                *AUTH_ERRORS,
            ),
        },
    )
    def multiple(self, request):
        data = validated(CapillaryV2IssueMultipleInput(data=request.data))
        series_id, redeemed_at = data.get("seriesId"), None
        if series_id is not None:
            series_id, redeemed_at = selectors.series_to_issue(
                store=self.store, series_id=series_id
            )
            series_id = 0 if series_id is None else series_id  # 0: no such series
        count = data.get("count")
        metadata = data.get("metadata") or {}
        outcome = issue_service.series_issue(
            store=self.store,
            series_id=series_id,
            customer=_customer_ref(data.get("customer") or {}),
            count=1 if count is None else count,
            actor=self.actor,
            purpose=metadata.get("reason", ""),
        )
        context = {
            "tz": self.store.timezone,
            "issued_at": outcome.issued_at,
            "redeemed_at": redeemed_at,
            "uploaded": selectors.series_uploaded_counts(series=outcome.series),
        }
        return Response(CapillaryV2IssueMultiple(outcome, context=context).data)


def _customer_ref(ref: dict[str, Any]) -> CustomerRef:
    """The customer the body names (``id``: the compact id the dialect shows, or a
    flake id as it showed before)."""
    return CustomerRef.named(
        id=ref.get("id"),
        email=ref.get("email"),
        mobile=ref.get("mobile"),
        external_id=ref.get("externalId"),
    )
