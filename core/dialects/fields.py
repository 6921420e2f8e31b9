"""Serializer fields several dialects share, written once.

Where two vendors' rules differ (which JSON types an amount may be, its bounds, the
wording of a refusal), the difference is an argument of the one field, not a copy of
it: each dialect module states its vendor's rule where it declares the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.money import json_number

NOT_AN_OBJECT = "The body must be a JSON object."


# A request body that must be a JSON object: a list, a string or a number is a 400 on
# the body itself (path ``$``), before any field is read. ``null_is_not_an_object``: a
# ``null`` body gets the same answer (NewStore's); by default it is DRF's "This field
# may not be null.". Also a base beside ``SharedFieldsInput``:
# ``class X(ObjectInput, SharedFieldsInput)``. (A comment, not a docstring: the API
# schema would show a docstring as the description of every body without its own.)
class ObjectInput(serializers.Serializer):
    null_is_not_an_object = False

    def run_validation(self, data: Any = serializers.empty) -> Any:
        if data is None and self.null_is_not_an_object:
            raise _not_an_object()
        return super().run_validation(data)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, Mapping):
            raise _not_an_object()
        return super().to_internal_value(data)


def _not_an_object() -> serializers.ValidationError:
    return serializers.ValidationError({"non_field_errors": [NOT_AN_OBJECT]})


class ChoiceField(serializers.ChoiceField):
    """One of ``choices``; a refusal lists them: ``"x" is not one of: a, b.``

    ``strings_only``: a JSON value of another type (``1``, ``true``) is refused, not
    matched by its text. ``any_case``: a string is matched trimmed and in lower case
    (``sort_order=DESC`` is ``desc``).
    """

    default_error_messages = {"invalid_choice": '"{input}" is not one of: {choices}.'}

    def __init__(
        self, *, strings_only: bool = False, any_case: bool = False, **kwargs: Any
    ) -> None:
        self.strings_only = strings_only
        self.any_case = any_case
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            if self.any_case:
                data = data.strip().lower()
        elif self.strings_only:
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)

    def fail(self, key: str, **kwargs: Any) -> None:
        if key == "invalid_choice":
            kwargs["choices"] = ", ".join(self.choices)
        super().fail(key, **kwargs)


_DIGITS = re.compile(r"^\s*[0-9]+(\.[0-9]+)?\s*$")


class AmountField(serializers.Field):
    """An amount in major units (``50``, ``12.5``), never negative, as a ``Decimal``.

    The vendor's rule is in the arguments:

    - ``strings``: a string of digits (``"50.00"``) is taken as well, and then only
      digits with an optional fraction are, whatever the JSON type (no sign, exponent
      or ``NaN``); the field is documented and rendered as a string. Otherwise only a
      JSON number is, documented and rendered as one (``core.money.json_number``).
    - ``max_value`` (the largest amount) or ``less_than`` (the first one refused).
    - ``positive``: zero is refused as well (the refusal is then ``positive``).
    - ``max_decimals``: at most that many decimals (the currency's own rule, applied
      with the store's currency by ``core.money``, may be stricter).

    Refusals (``invalid``, ``min_value``, ``positive``, ``max_value``, ``decimals``)
    are worded by ``error_messages`` where a vendor words them its way.
    """

    default_error_messages = {
        "invalid": "Must be a number.",
        "min_value": "Must not be negative.",
        "positive": "Must be greater than 0.",
        "max_value": "Must not exceed {limit}.",
        "decimals": "At most {max_decimals} decimals.",
    }

    def __init__(
        self,
        *,
        strings: bool = False,
        max_value: Decimal | None = None,
        less_than: Decimal | None = None,
        positive: bool = False,
        max_decimals: int | None = None,
        **kwargs: Any,
    ) -> None:
        if (max_value is None) == (less_than is None):
            raise TypeError("AmountField takes one of max_value and less_than.")
        self.strings = strings
        self.max_value, self.less_than = max_value, less_than
        self.positive = positive
        self.max_decimals = max_decimals
        super().__init__(**kwargs)
        # The schema type follows ``strings`` (per field, not per class).
        extend_schema_field(OpenApiTypes.STR if strings else OpenApiTypes.NUMBER)(self)

    def to_internal_value(self, data: Any) -> Decimal:
        types = (str, int, float) if self.strings else (int, float)
        if isinstance(data, bool) or not isinstance(data, types):
            self.fail("invalid")
        text = data if isinstance(data, str) else repr(data)
        if self.strings and not _DIGITS.match(text):
            self.fail("invalid")
        try:
            value = Decimal(text.strip())
        except InvalidOperation:
            self.fail("invalid")
        if not value.is_finite():
            self.fail("invalid")
        if value < 0 or (self.positive and value == 0):
            self.fail("positive" if self.positive else "min_value")
        if (self.max_value is not None and value > self.max_value) or (
            self.less_than is not None and value >= self.less_than
        ):
            limit = self.less_than if self.max_value is None else self.max_value
            self.fail("max_value", limit=limit)
        if self.max_decimals is not None and value != value.quantize(
            Decimal(1).scaleb(-self.max_decimals)
        ):
            self.fail("decimals", max_decimals=self.max_decimals)
        return value

    def to_representation(self, value: Any) -> str | int | float:
        return str(value) if self.strings else json_number(value)


@extend_schema_field(OpenApiTypes.NUMBER)
class NumberField(serializers.Field):
    """Output only: a decimal as a JSON number, ``500`` or ``12.5``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> int | float:
        return json_number(value)


@extend_schema_field(OpenApiTypes.STR)
class BlankForNull(serializers.CharField):
    """Output only: a string, ``""`` where the value is missing (DRF would render a
    missing value as null without asking the field)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def get_attribute(self, instance: Any) -> Any:
        value = super().get_attribute(instance)
        return "" if value is None else value
