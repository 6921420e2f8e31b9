"""django-filter pieces shared by the dialects."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django_filters import rest_framework as filters

from core import flake
from core.pagination import KeysetPage


class FlakeIdFormField(forms.CharField):
    def clean(self, value):
        value = super().clean(value)
        if value in (None, ""):
            return None
        parsed = flake.parse(value)
        if parsed is None:
            raise forms.ValidationError("Must be a valid ID.", code="invalid")
        return parsed


class FlakeIdFilter(filters.Filter):
    field_class = FlakeIdFormField


def filtered(filterset: filters.FilterSet):
    """The filtered queryset; invalid parameters raise a DRF ValidationError (400)."""
    from rest_framework.exceptions import ValidationError

    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    return filterset.qs


def filtered_page(
    filterset_class: type[filters.FilterSet], query: Any, queryset: QuerySet
) -> QuerySet:
    """One keyset page (``limit/after/before/asc``) of ``queryset`` filtered by the
    query parameters; a bad parameter of either kind is a 400."""
    page = KeysetPage.from_query(query)
    return page.apply(filtered(filterset_class(query, queryset=queryset)))
