"""Strict JSON fields: a vendor client sending the wrong type gets a 400, not a guess.

DRF's stock fields coerce (``123`` becomes ``"123"``, ``"yes"`` becomes ``True``); these
accept only the JSON type the vendor documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models.manager import BaseManager
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField, get_error_detail
from rest_framework.relations import PKOnlyObject
from rest_framework.utils.serializer_helpers import BindingDict

from core import flake, timefmt
from core.timefmt import iso_millis_z


class StrictCharField(serializers.CharField):
    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(serializers.EmailField):
    default_error_messages = {"invalid_type": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid_type")
        return super().to_internal_value(data).strip()


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "Must be a boolean (true or false)."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "Must be an integer."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.STR)
class FlakeIdInputField(serializers.Field):
    """A flake ID sent as a JSON string (PayNow's ``FlakeId``: ``{"type": "string",
    "format": "flake-id"}``); rendered as a string.

    A JSON number is refused, not read: a JavaScript client sending an id as a
    number has already rounded it above 2^53, and would be answered about another
    id (mostly "No such customer").
    """

    default_error_messages = {
        "invalid": "Must be a valid ID.",
        "invalid_type": "Must be a string.",
    }

    def to_internal_value(self, data: Any) -> int:
        if not isinstance(data, str):
            self.fail("invalid_type")
        parsed = flake.parse(data)
        if parsed is None:
            self.fail("invalid")
        return parsed

    def to_representation(self, value: Any) -> str:
        return str(value)


@extend_schema_field(OpenApiTypes.DATETIME)
class IsoDateTimeField(serializers.Field):
    """ISO 8601 in, ``2025-10-08T15:51:07.322Z`` out; a time without zone is UTC."""

    default_error_messages = {
        "invalid": "Must be an ISO 8601 date-time such as 2025-10-08T15:51:07.322Z.",
        "out_of_range": timefmt.OUT_OF_RANGE,
    }

    def to_internal_value(self, data: Any) -> datetime:
        if not isinstance(data, str):
            self.fail("invalid")
        parsed = timefmt.parse_instant(data.strip())
        if parsed is None:
            self.fail("invalid")
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        # Stored in UTC, shown in every store's zone: a time that has no UTC value
        # (year 1 at +01:00) or no Berlin one (9999-12-31T23:59Z) is bad input.
        if not timefmt.storable(parsed):
            self.fail("out_of_range")
        return parsed.astimezone(UTC)

    def to_representation(self, value: datetime | None) -> str | None:
        return iso_millis_z(value)


@extend_schema_field(OpenApiTypes.STR)
class IdStringField(serializers.Field):
    """Output only: an integer id rendered as a string (PayNow, Shoplazza)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str | None:
        return None if value is None else str(value)


@extend_schema_field(OpenApiTypes.DATETIME)
class MillisDateTimeField(serializers.Field):
    """Output only: ``2025-10-08T15:51:07.322Z``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: datetime | None) -> str | None:
        return iso_millis_z(value)


# At most this many bad items of one list or dict are reported (and looked for).
MAX_ITEM_ERRORS = 10


class ListInput(serializers.ListField):
    """An input list: too long is refused before any item is validated, and item
    validation stops at the ``MAX_ITEM_ERRORS``-th bad item.

    DRF's ``ListField`` validates every item, building an error for each bad one,
    and only then checks ``max_length``: 5,000 bad ids cost 0.5 s of CPU and a
    500 KB error body.
    """

    def to_internal_value(self, data: Any) -> list[Any]:
        if (
            self.max_length is not None
            and isinstance(data, list)
            and len(data) > self.max_length
        ):
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)

    def run_child_validation(self, data: list[Any]) -> list[Any]:
        result, errors = [], {}
        for index, item in enumerate(data):
            try:
                result.append(self.child.run_validation(item))
            except serializers.ValidationError as exc:
                errors[index] = exc.detail
            except DjangoValidationError as exc:
                errors[index] = get_error_detail(exc)
            if len(errors) == MAX_ITEM_ERRORS:
                break
        if errors:
            raise serializers.ValidationError(errors)
        return result


class DictInput(serializers.DictField):
    """An input dict whose value validation stops at the ``MAX_ITEM_ERRORS``-th bad
    value (see ``ListInput``)."""

    def run_child_validation(self, data: Mapping[Any, Any]) -> dict[str, Any]:
        result, errors = {}, {}
        for key, value in data.items():
            try:
                result[str(key)] = self.child.run_validation(value)
            except serializers.ValidationError as exc:
                errors[str(key)] = exc.detail
                if len(errors) == MAX_ITEM_ERRORS:
                    break
        if errors:
            raise serializers.ValidationError(errors)
        return result


def validated(serializer: serializers.Serializer) -> dict[str, Any]:
    """Validate (a failure is a 400 in the view's dialect) and return the data."""
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class _SharedFields(serializers.Serializer):
    """Binds the declared fields once per class and shares them (see below)."""

    @cached_property
    def fields(self) -> BindingDict:
        cls = type(self)
        shared = cls.__dict__.get("_shared_fields")
        if shared is None:
            shared = serializers.Serializer.fields.func(cls())
            cls._shared_fields = shared
        return shared


class SharedFieldsOutput(_SharedFields):
    """An output serializer whose fields are bound once per class, not per instance.

    DRF deep-copies and binds every declared field for every serializer instance:
    for an issue/multiple answer about a hundred field objects a request, a tenth
    of the request's time. Bound output fields hold no state of their own, so the
    subclasses of this one share them; ``to_representation`` is DRF's, except that
    a method field calls the method of the serializer at hand (its context), and a
    nested serializer is made afresh with this one's context. Output only.

    Not for serializers whose fields read the context themselves (file or hyperlink
    fields, ``requires_context`` defaults), nested serializers declared with
    arguments or a custom ``list_serializer_class``, methods reading ``self.root``,
    or fields changed per instance: tests/core/test_shared_fields_output.py pins
    each of these differences.
    """

    def to_representation(self, instance: Any) -> dict[str, Any]:
        answer: dict[str, Any] = {}
        for field in self._readable_fields:
            name = field.field_name
            if isinstance(field, serializers.SerializerMethodField):
                # The shared field's parent is the class's template serializer.
                answer[name] = getattr(self, field.method_name)(instance)
                continue
            try:
                attribute = field.get_attribute(instance)
            except SkipField:
                continue
            check = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            if check is None:
                answer[name] = None
            elif isinstance(field, serializers.ListSerializer):
                child = type(field.child)(context=self.context)
                items = (
                    attribute.all() if isinstance(attribute, BaseManager) else attribute
                )
                answer[name] = [child.to_representation(item) for item in items]
            elif isinstance(field, serializers.BaseSerializer):
                nested = type(field)(context=self.context)
                answer[name] = nested.to_representation(attribute)
            else:
                answer[name] = field.to_representation(attribute)
        return answer


class SharedFieldsInput(_SharedFields):
    """An input serializer whose fields are bound once per class (see
    ``SharedFieldsOutput``): validation reads a field's settings, never its state.

    Never partial (a field asks its root whether a missing value may be skipped),
    and not for fields that read the context: the shared fields' root is a template
    instance.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("partial"):
            raise TypeError(f"{type(self).__name__} cannot be partial.")
        super().__init__(*args, **kwargs)
