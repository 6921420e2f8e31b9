"""PayNow keyset pagination over time-ordered flake IDs.

``after=X`` keeps ids > X, ``before=X`` ids < X; then ``asc`` (default false, newest
first) orders and ``limit`` (1..100, default 100) cuts. The answer is a bare JSON array;
a client pages on with the last item's id. Keyset, not offset: cheap and stable while
rows are inserted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers

from core import flake

DEFAULT_LIMIT = 100
MAX_LIMIT = 100
_INTEGER = re.compile(r"-?[0-9]+")


class _FlakeQueryParam(serializers.CharField):
    default_error_messages = {"invalid_id": "Must be a valid ID."}

    def to_internal_value(self, data: Any) -> int:
        parsed = flake.parse(super().to_internal_value(data))
        if parsed is None:
            self.fail("invalid_id")
        return parsed


class _IntegerQueryParam(serializers.IntegerField):
    """The spec's ``integer``: ASCII digits (with a ``-``, a number out of range).
    DRF's IntegerField also reads ``1.0``, ``2.`` and other scripts' digits, which
    ASP.NET Core's binding refuses; a space or a ``+`` is refused here too."""

    def to_internal_value(self, data: Any) -> int:
        if not (isinstance(data, str) and _INTEGER.fullmatch(data)):
            self.fail("invalid")
        return super().to_internal_value(data)


class _BooleanQueryParam(serializers.BooleanField):
    """``true`` or ``false`` in any case, as ASP.NET Core binds the spec's
    ``boolean``: DRF's BooleanField also reads ``1``, ``yes``, ``on``, ``t``..."""

    def to_internal_value(self, data: Any) -> bool:
        if not (isinstance(data, str) and data.lower() in ("true", "false")):
            self.fail("invalid")
        return data.lower() == "true"


class KeysetParams(serializers.Serializer):
    limit = _IntegerQueryParam(
        required=False, default=DEFAULT_LIMIT, min_value=1, max_value=MAX_LIMIT
    )
    after = _FlakeQueryParam(required=False)
    before = _FlakeQueryParam(required=False)
    asc = _BooleanQueryParam(required=False, default=False)


@dataclass(frozen=True)
class KeysetPage:
    limit: int = DEFAULT_LIMIT
    after: int | None = None
    before: int | None = None
    asc: bool = False

    @classmethod
    def from_query(cls, query: Any) -> KeysetPage:
        """Parse ``limit/after/before/asc``; raises ValidationError (a 400)."""
        params = KeysetParams(
            data={k: query.get(k) for k in query if k in KeysetParams().fields}
        )
        params.is_valid(raise_exception=True)
        return cls(**params.validated_data)

    def apply(self, queryset: QuerySet) -> QuerySet:
        if self.after is not None:
            queryset = queryset.filter(id__gt=self.after)
        if self.before is not None:
            queryset = queryset.filter(id__lt=self.before)
        return queryset.order_by("id" if self.asc else "-id")[: self.limit]
