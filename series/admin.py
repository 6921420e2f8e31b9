"""Admin of the series app."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from audit.admin import AuditTimelineMixin
from core import flake
from series.models import UNLIMITED, Series
from stores.admin import StoreOwnedAdmin

# Written only by the issue service, under a lock or a conditional UPDATE.
COUNTERS = frozenset({"issued_count"})


class SeriesAdminForm(forms.ModelForm):
    # No Meta: the admin supplies the model and the fields of its fieldsets.

    def clean(self):
        cleaned = super().clean()
        # issued_count is not a form field, so the form skips the constraint that
        # holds it under max_create; check it here for a clear message.
        max_create = cleaned.get("max_create")
        issued = self.instance.issued_count
        if max_create is not None and max_create != UNLIMITED and max_create < issued:
            self.add_error(
                "max_create", f"{issued} already issued: the cap cannot be lower."
            )
        return cleaned


@admin.register(Series)
class SeriesAdmin(AuditTimelineMixin, StoreOwnedAdmin):
    audit_key = "series_id"
    form = SeriesAdminForm
    list_display = [
        "id",
        "description",
        "store",
        "code_format",
        "discount_type",
        "discount_value",
        "max_create",
        "issued_count",
        "valid_till",
        "is_active",
    ]
    list_filter = ["store", "is_active", "code_format", "discount_type"]
    list_select_related = ["store"]
    search_fields = ["description"]
    search_help_text = "Description (part of it) or series ID."
    autocomplete_fields = ["store"]
    fieldsets = [
        (None, {"fields": ["id", "store", "description", "is_active"]}),
        (
            "Discount",
            {
                "fields": [
                    "discount_code",
                    "discount_type",
                    "discount_value",
                    "discount_upto",
                    "discount_on",
                    "min_bill_amount",
                ]
            },
        ),
        (
            "Codes",
            {
                "fields": [
                    "code_format",
                    "generic_code",
                    "alpha_numeric",
                    "random_code_length",
                    "code_prefix",
                    "code_suffix",
                ]
            },
        ),
        (
            "Issue",
            {
                "fields": [
                    "max_create",
                    "issued_count",
                    "is_multiple_vouchers_per_user_allowed",
                    "max_vouchers_per_user",
                ]
            },
        ),
        (
            "Validity and redemption",
            {
                "fields": [
                    "valid_till",
                    "expiry_strategy_type",
                    "expiry_strategy_value",
                    "redemption_valid_after_days",
                    "max_redemptions_per_coupon",
                    "custom_properties",
                ]
            },
        ),
        ("History", {"fields": ["created_at", "updated_at"]}),
        ("Audit trail", {"fields": ["timeline"], "classes": ["collapse"]}),
    ]
    readonly_fields = ["id", *sorted(COUNTERS), "created_at", "updated_at", "timeline"]
    list_per_page = 100

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(
            request, queryset, search_term
        )
        # Capillary clients know a series by its number: match it as well.
        if (series_id := flake.parse(search_term.strip())) is not None:
            found |= queryset.filter(pk=series_id)
        return found, may_have_duplicates

    def save_model(self, request, obj, form, change):
        if change:
            # Write only what staff changed: issued_count moves under locks while
            # the form is open, and a full save would put back the stale value.
            obj.save(update_fields={*form.changed_data, "updated_at"} - COUNTERS)
        else:
            obj.save()
