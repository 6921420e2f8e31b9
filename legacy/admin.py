"""Admin of the legacy app: NewStore coupon definitions and templates."""

from __future__ import annotations

import contextlib
import uuid

from django.contrib import admin

from legacy.models import CouponDefinition, CouponTemplate
from stores.admin import StoreOwnedAdmin


class LegacyDefinitionAdmin(StoreOwnedAdmin):
    """Shared by the two proxies; each lists only its own kind."""

    list_display = [
        "label",
        "pattern",
        "store",
        "max_redemptions",
        "amount",
        "amount_currency",
        "discount_rule_id",
        "created_at",
    ]
    list_filter = ["store"]
    list_select_related = ["store"]
    search_fields = ["label"]
    search_help_text = "Label (part of it) or UUID."
    autocomplete_fields = ["store"]
    fields = [
        "id",
        "uuid",
        "store",
        "label",
        "pattern",
        "max_redemptions",
        "amount",
        "amount_currency",
        "discount_rule_id",
        "channel_types",
        "validation_rules",
        "created_at",
        "updated_at",
    ]
    readonly_fields = ["id", "uuid", "created_at", "updated_at"]
    list_per_page = 100

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(
            request, queryset, search_term
        )
        with contextlib.suppress(ValueError):
            found |= queryset.filter(uuid=uuid.UUID(search_term.strip()))
        return found, may_have_duplicates


@admin.register(CouponDefinition)
class CouponDefinitionAdmin(LegacyDefinitionAdmin):
    pass


@admin.register(CouponTemplate)
class CouponTemplateAdmin(LegacyDefinitionAdmin):
    pass
