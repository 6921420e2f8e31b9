"""django-filter pieces shared by the dialects."""

from __future__ import annotations

from django import forms
from django_filters import rest_framework as filters

from core import flake


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
