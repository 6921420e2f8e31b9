"""Strict JSON fields: a vendor client sending the wrong type gets a 400, not a guess.

DRF's stock fields coerce (``123`` becomes ``"123"``, ``"yes"`` becomes ``True``); these
accept only the JSON type the vendor documents.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core import flake
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
    """A flake ID sent as a string (or a JSON integer); rendered as a string."""

    default_error_messages = {"invalid": "Must be a valid ID."}

    def to_internal_value(self, data: Any) -> int:
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
        "out_of_range": "The date-time is out of range.",
    }

    def to_internal_value(self, data: Any) -> datetime:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            parsed = parse_datetime(data.strip())
        except ValueError:
            parsed = None
        if parsed is None:
            self.fail("invalid")
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        try:
            # Stored in UTC: a time that has no UTC value (year 1 at +01:00) is bad
            # input, not a server error.
            return parsed.astimezone(UTC)
        except OverflowError:
            self.fail("out_of_range")

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


def validated(serializer: serializers.Serializer) -> dict[str, Any]:
    """Validate (a failure is a 400 in the view's dialect) and return the data."""
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
