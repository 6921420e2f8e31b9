"""NewStore "Deprecated Coupons API (v0)" (seed 004): ``/v0/d/...``.

Coupon definitions (create, get, overwrite, delete), coupon templates (create, get)
and the coupons made from them (create, find by code, enable/disable and re-rule).
Bearer auth with the ``legacy`` scope; errors ``{"error_code", "message"}``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.response import Response

from core import money, timefmt
from core.dialects.fields import AmountField, ChoiceField, ObjectInput
from core.schema import GUESSING_429, error_responses
from core.serializers import (
    IsoDateTimeField,
    ListInput,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    validated,
)
from coupons.codes import fold_code
from coupons.models import Coupon
from legacy import rules, selectors, services
from legacy.models import Kind, LegacyDefinition
from legacy.rules import Money, Rule
from stores.api.dialects import NewStoreViewSet

# Major units; in the smallest unit of any currency (at most 4 decimals) it still fits
# a BIGINT.
MAX_AMOUNT = Decimal(10) ** 12
MAX_FILTER_CODES = 100
CREATED = status.HTTP_201_CREATED
CODE_FILTER = "filter[code]"

NEWSTORE_ERROR = inline_serializer(
    "NewStoreError",
    {"error_code": serializers.CharField(), "message": serializers.CharField()},
)


def newstore_errors(*statuses: int) -> dict[int, OpenApiResponse]:
    described = {
        400: "Invalid body or parameters (`invalid_request`).",
        401: "Missing, unknown or revoked bearer token.",
        403: "The key lacks the `legacy` scope, or the store is inactive.",
        404: "Unknown or malformed id, or unknown `template_label`.",
        409: (
            "`duplicate_label`, `code_space_exhausted`, `validation_rule_conflict`, "
            "`coupon_definition_in_use`, `coupon_definition_deleted`, `code_taken`."
        ),
        429: GUESSING_429,
    }
    return error_responses(
        NEWSTORE_ERROR, ((code, described[code]) for code in (401, 403, *statuses))
    )


# --- input ---------------------------------------------------------------------------


class NonBlankCharField(StrictCharField):
    """A string kept as sent (no trimming) that is not empty or only spaces."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not value.strip():
            self.fail("blank")
        return value


# The amount of a monetary amount object (zero allowed or not).
_AMOUNTS = {
    positive: AmountField(max_value=MAX_AMOUNT, positive=positive)
    for positive in (False, True)
}


def _money(data: Any, *, positive: bool) -> Money:
    """The monetary amount object ``{"amount": <number>, "currency": "USD"}``."""
    if not isinstance(data, dict):
        raise serializers.ValidationError(
            'Must be a monetary amount object: {"amount": <number>, "currency": "USD"}.'
        )
    issues: dict[str, list[str]] = {}
    unexpected = sorted(set(data) - {"amount", "currency"})
    if unexpected:
        issues["non_field_errors"] = [f"Unexpected key(s): {', '.join(unexpected)}."]
    value: Decimal | None = None
    try:
        value = _AMOUNTS[positive].to_internal_value(data.get("amount"))
    except serializers.ValidationError as exc:
        issues["amount"] = [str(message) for message in exc.detail]
    currency = data.get("currency")
    if not money.is_currency(currency):
        issues["currency"] = ["Must be a three-letter ISO 4217 code such as USD."]
    elif "amount" not in issues:
        try:
            money.to_minor(value, currency)
        except money.MoneyError as exc:
            issues["amount"] = [f"{exc}."]
    if issues:
        raise serializers.ValidationError(issues)
    return Money(value, currency)


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            "amount": {"type": "number", "example": 10},
            "currency": {"type": "string", "example": "USD"},
        },
        "required": ["amount", "currency"],
    }
)
class MoneyField(serializers.Field):
    def __init__(self, *, positive: bool = True, **kwargs: Any) -> None:
        self.positive = positive
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Money:
        return _money(data, positive=self.positive)

    def to_representation(self, value: Money) -> dict[str, Any]:
        return value.to_json()


_RULE_VALUES = {
    rules.VALID_FROM: ("valid_from",),
    rules.VALID_TO: ("valid_to",),
    rules.CONSUMER: ("consumer_id",),
    rules.MINIMUM_TOTAL: ("amount", "currency"),
}
_TIMESTAMP = IsoDateTimeField()
MAX_CONSUMER_ID = 200


def _consumer_id(value: Any) -> str:
    problem = None
    if not isinstance(value, str) or not value.strip():
        problem = "Must be a non-empty string."
    elif "\x00" in value:  # PostgreSQL text cannot hold NUL
        problem = "Null characters are not allowed."
    elif len(value) > MAX_CONSUMER_ID:
        problem = f"Ensure this field has no more than {MAX_CONSUMER_ID} characters."
    if problem:
        raise serializers.ValidationError({"values": {"consumer_id": [problem]}})
    return value


def _utc_millis(value: datetime) -> datetime:
    """In UTC, to the millisecond (as stored and rendered); a 400 when out of range."""
    if not timefmt.storable(value):  # e.g. 0001-01-01T00:00:00+01:00, year 9999
        raise serializers.ValidationError(timefmt.OUT_OF_RANGE)
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


@extend_schema_field(
    {
        "type": "object",
        "description": (
            '{"label": "valid_from", "values": {"valid_from": "2017-10-23T06:00Z"}}, '
            '{"label": "valid_to", "values": {"valid_to": "..."}}, '
            '{"label": "restricted_to_consumer_id", "values": {"consumer_id": "..."}}, '
            '{"label": "minimal_order_total_before_discount", '
            '"values": {"amount": 50, "currency": "USD"}} (coupons and templates).'
        ),
        "properties": {
            "label": {"type": "string", "enum": list(rules.COUPON_KINDS)},
            "values": {"type": "object", "additionalProperties": True},
        },
        "required": ["label", "values"],
    }
)
class ValidationRuleField(serializers.Field):
    """One validation rule object, checked against its documented shape."""

    def __init__(self, *, kinds: tuple[str, ...], **kwargs: Any) -> None:
        self.kinds = kinds
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Rule:
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                'Must be a validation rule object: {"label": ..., "values": {...}}.'
            )
        unexpected = sorted(set(data) - {"label", "values"})
        if unexpected:
            raise serializers.ValidationError(
                f"Unexpected key(s): {', '.join(unexpected)}."
            )
        kind = data.get("label")
        if not isinstance(kind, str) or kind not in self.kinds:
            raise serializers.ValidationError(
                {"label": [f"Must be one of: {', '.join(self.kinds)}."]}
            )
        values = data.get("values")
        expected = _RULE_VALUES[kind]
        if not isinstance(values, dict):
            raise serializers.ValidationError(
                {"values": [f"Must be an object with: {', '.join(expected)}."]}
            )
        if kind == rules.MINIMUM_TOTAL:
            try:
                return Rule(kind, _money(values, positive=False))
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({"values": exc.detail}) from exc
        problems = {
            key: ["This field is required."] for key in expected if key not in values
        }
        problems.update(
            {key: ["Unexpected key."] for key in values if key not in expected}
        )
        if problems:
            raise serializers.ValidationError({"values": problems})
        (key,) = expected
        if kind == rules.CONSUMER:
            return Rule(kind, _consumer_id(values[key]))
        try:
            moment = _utc_millis(_TIMESTAMP.to_internal_value(values[key]))
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"values": {key: exc.detail}}) from exc
        return Rule(kind, moment)

    def to_representation(self, value: Rule) -> dict[str, Any]:
        return value.to_json()


class RuleList(ListInput):
    def __init__(self, *, kinds: tuple[str, ...], **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs["child"] = ValidationRuleField(kinds=kinds)
        super().__init__(**kwargs)


class NewStoreInput(ObjectInput):
    """A body that must be a JSON object (``null``, a list or a string is a 400)."""

    null_is_not_an_object = True


class NewStoreDefinitionInput(NewStoreInput):
    """Create and overwrite bodies of a coupon definition (the same fields)."""

    label = NonBlankCharField(max_length=200)
    pattern = NonBlankCharField(max_length=500)
    validation_rules = RuleList(kinds=rules.DEFINITION_KINDS)
    discount_rule_id = NonBlankCharField(max_length=200)
    channel_types = ListInput(
        child=ChoiceField(choices=services.CHANNEL_TYPES),
        max_length=services.MAX_CHANNEL_TYPES,
        required=False,
        allow_null=True,
    )
    # The coupons' store-wide redeem limit, which every dialect shows back as a JSON
    # number (PayNow redeem_limit_store_amount, Shoplazza stock, v1.1
    # redemptions_left): capped where PayNow's limits are, 2^53-1 (README, Amounts).
    max_redemptions = StrictIntegerField(
        min_value=1, max_value=money.MAX_MINOR, required=False, allow_null=True
    )

    def validate_channel_types(self, value: list[str] | None) -> list[str] | None:
        if value and len(set(value)) != len(value):
            raise serializers.ValidationError("A channel type appears more than once.")
        return value


class NewStoreTemplateInput(NewStoreInput):
    label = NonBlankCharField(max_length=200)
    pattern = NonBlankCharField(max_length=500)
    validation_rules = RuleList(kinds=rules.COUPON_KINDS)
    amount = MoneyField(required=False, allow_null=True)


class NewStoreCouponInput(NewStoreInput):
    label = StrictCharField(
        max_length=200,
        required=False,
        allow_null=True,
        allow_blank=True,
        trim_whitespace=False,
    )
    template_label = NonBlankCharField(max_length=200)
    validation_rules = RuleList(kinds=rules.COUPON_KINDS)
    amount = MoneyField(required=False, allow_null=True)
    discount_rule_id = NonBlankCharField(
        max_length=200, required=False, allow_null=True
    )


class NewStoreCouponUpdateInput(NewStoreInput):
    is_enabled = StrictBooleanField(required=False)
    validation_rules = RuleList(kinds=rules.COUPON_KINDS)


# --- output --------------------------------------------------------------------------


class NewStoreCreatedOutput(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    label = serializers.CharField()


class _Optional(serializers.Serializer):
    """Leaves out the optional keys that are not set (as NewStore's samples do)."""

    optional: tuple[str, ...] = ()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for key in self.optional:
            if data.get(key) in (None, []):
                data.pop(key, None)
        return data


class NewStoreDefinitionOutput(_Optional):
    optional = ("max_redemptions", "channel_types")

    id = serializers.UUIDField(source="uuid")
    label = serializers.CharField()
    pattern = serializers.CharField()
    validation_rules = serializers.ListField(child=serializers.DictField())
    discount_rule_id = serializers.CharField()
    max_redemptions = serializers.IntegerField(required=False)
    channel_types = serializers.ListField(child=serializers.CharField(), required=False)


class NewStoreTemplateOutput(_Optional):
    optional = ("amount",)

    id = serializers.UUIDField(source="uuid")
    label = serializers.CharField()
    pattern = serializers.CharField()
    validation_rules = serializers.ListField(child=serializers.DictField())
    amount = serializers.SerializerMethodField()

    @extend_schema_field(MoneyField)
    def get_amount(self, definition: LegacyDefinition) -> dict[str, Any] | None:
        if definition.amount is None:
            return None
        return Money(definition.amount, definition.amount_currency).to_json()


class NewStoreCouponOutput(serializers.Serializer):
    """The seed's order: label, code, id, is_enabled."""

    label = serializers.SerializerMethodField()
    code = serializers.CharField()
    id = serializers.UUIDField(source="legacy_uuid")
    is_enabled = serializers.BooleanField(source="enabled")

    @extend_schema_field(OpenApiTypes.STR)
    def get_label(self, coupon: Coupon) -> str | None:
        return coupon.legacy_label or None


class NewStoreCouponListOutput(serializers.Serializer):
    items = NewStoreCouponOutput(many=True)


# --- views ---------------------------------------------------------------------------


class CouponDefinitionViewSet(NewStoreViewSet):
    @extend_schema(
        summary="Create coupon definition",
        request=NewStoreDefinitionInput,
        responses={201: NewStoreCreatedOutput, **newstore_errors(400, 409)},
    )
    def create(self, request):
        data = validated(NewStoreDefinitionInput(data=request.data))
        definition = services.legacy_definition_create(
            store=self.store, kind=Kind.DEFINITION, **data
        )
        return Response(NewStoreCreatedOutput(definition).data, status=CREATED)

    @extend_schema(
        summary="Get coupon definition",
        responses={200: NewStoreDefinitionOutput, **newstore_errors(404)},
    )
    def retrieve(self, request, definition_id: str):
        definition = selectors.legacy_definition_get(
            store=self.store, definition_id=definition_id, kind=Kind.DEFINITION
        )
        return Response(NewStoreDefinitionOutput(definition).data)

    @extend_schema(
        summary="Update (overwrite) coupon definition",
        request=NewStoreDefinitionInput,
        responses={200: NewStoreDefinitionOutput, **newstore_errors(400, 404, 409)},
    )
    def update(self, request, definition_id: str):
        definition = selectors.legacy_definition_get(
            store=self.store, definition_id=definition_id, kind=Kind.DEFINITION
        )
        data = validated(NewStoreDefinitionInput(data=request.data))
        definition = services.legacy_definition_update(definition=definition, **data)
        return Response(NewStoreDefinitionOutput(definition).data)

    @extend_schema(
        summary="Delete coupon definition (409 once one of its coupons was used)",
        responses={204: None, **newstore_errors(404, 409)},
    )
    def destroy(self, request, definition_id: str):
        definition = selectors.legacy_definition_get(
            store=self.store, definition_id=definition_id, kind=Kind.DEFINITION
        )
        services.legacy_definition_delete(definition=definition, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CouponTemplateViewSet(NewStoreViewSet):
    @extend_schema(
        summary="Create coupon template",
        request=NewStoreTemplateInput,
        responses={201: NewStoreCreatedOutput, **newstore_errors(400, 409)},
    )
    def create(self, request):
        data = validated(NewStoreTemplateInput(data=request.data))
        template = services.legacy_definition_create(
            store=self.store, kind=Kind.TEMPLATE, **data
        )
        return Response(NewStoreCreatedOutput(template).data, status=CREATED)

    @extend_schema(
        summary="Get coupon template",
        responses={200: NewStoreTemplateOutput, **newstore_errors(404)},
    )
    def retrieve(self, request, template_id: str):
        template = selectors.legacy_definition_get(
            store=self.store, definition_id=template_id, kind=Kind.TEMPLATE
        )
        return Response(NewStoreTemplateOutput(template).data)


class LegacyCouponViewSet(NewStoreViewSet):
    @extend_schema(
        summary="Find coupons by code",
        parameters=[
            OpenApiParameter(
                CODE_FILTER,
                str,
                many=True,
                explode=True,
                required=True,
                description=(
                    f"One or more codes (any letter case), at most {MAX_FILTER_CODES}:"
                    " ?filter[code]=A&filter[code]=B. Other parameters are refused."
                ),
            )
        ],
        responses={200: NewStoreCouponListOutput, **newstore_errors(400, 429)},
    )
    def find(self, request):
        codes = _code_filter(request.query_params)
        self.guessing.check(None)  # 429 while locked out (stores.guessing)
        coupons = selectors.legacy_coupon_list(store=self.store, codes=codes)
        found = {coupon.code_folded for coupon in coupons}
        self.guessing.refuse(
            None, failures=len({fold_code(code) for code in codes} - found)
        )
        return Response(NewStoreCouponListOutput({"items": coupons}).data)

    @extend_schema(
        summary="Create coupon (a code generated from the definition's pattern)",
        request=NewStoreCouponInput,
        responses={201: NewStoreCouponOutput, **newstore_errors(400, 404, 409)},
    )
    def create(self, request):
        data = validated(NewStoreCouponInput(data=request.data))
        coupon = services.legacy_coupon_create(
            store=self.store, actor=self.actor, **data
        )
        return Response(NewStoreCouponOutput(coupon).data, status=CREATED)

    @extend_schema(
        summary="[DEPRECATED] Update coupon (answers null)",
        request=NewStoreCouponUpdateInput,
        responses={
            200: OpenApiResponse(description="The JSON body `null`."),
            **newstore_errors(400, 404, 409),
        },
    )
    def update(self, request, coupon_id: str):
        self._update(request, coupon_id)
        return HttpResponse(b"null", content_type="application/json")

    @extend_schema(
        summary="Update coupon partially",
        request=NewStoreCouponUpdateInput,
        responses={200: NewStoreCouponOutput, **newstore_errors(400, 404, 409)},
    )
    def partial_update(self, request, coupon_id: str):
        return Response(NewStoreCouponOutput(self._update(request, coupon_id)).data)

    def _update(self, request, coupon_id: str) -> Coupon:
        coupon = selectors.legacy_coupon_get(store=self.store, coupon_id=coupon_id)
        data = validated(NewStoreCouponUpdateInput(data=request.data))
        return services.legacy_coupon_update(
            coupon=coupon,
            actor=self.actor,
            enabled=data.get("is_enabled"),
            validation_rules=data.get("validation_rules"),
        )


def _code_filter(query) -> list[str]:
    unknown = sorted(set(query) - {CODE_FILTER})
    if unknown:
        raise serializers.ValidationError(
            {"non_field_errors": [f"Unknown query parameter(s): {', '.join(unknown)}."]}
        )
    codes = query.getlist(CODE_FILTER)
    if not codes:
        raise serializers.ValidationError(
            {CODE_FILTER: ["Required: give one or more codes, e.g. ?filter[code]=A."]}
        )
    if len(codes) > MAX_FILTER_CODES:
        raise serializers.ValidationError(
            {CODE_FILTER: [f"At most {MAX_FILTER_CODES} codes."]}
        )
    if any(not code.strip() for code in codes):
        raise serializers.ValidationError({CODE_FILTER: ["A code cannot be empty."]})
    if any("\x00" in code for code in codes):
        raise serializers.ValidationError(
            {CODE_FILTER: ["Null characters are not allowed."]}
        )
    return codes
