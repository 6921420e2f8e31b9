"""Admin of the legacy app: NewStore coupon definitions and templates."""

from __future__ import annotations

import contextlib
import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import path

from core import money
from core.actors import Actor
from core.admin import StoreListFilter, refuse_above_caps
from core.admin_writes import edited
from core.errors import DomainError
from legacy import rules, services
from legacy.models import CouponDefinition, CouponTemplate, Kind
from legacy.patterns import PatternError, compile_pattern
from stores.admin import StoreOwnedAdmin

PREVIEW_CODES = 5


def pattern_error(pattern: str) -> str | None:
    """Why a code pattern cannot be used (the same check as the NewStore API), or
    None when it is fine."""
    try:
        compile_pattern(pattern)
    except PatternError as exc:
        return f"Invalid or unsupported pattern: {exc.message}."
    return None


def preview_codes(pattern: str, count: int = PREVIEW_CODES) -> list[str]:
    """Up to ``count`` distinct random codes of a valid ``pattern``."""
    compiled = compile_pattern(pattern)
    codes: list[str] = []
    for _ in range(count * 4):
        code = compiled.random_code()
        if code not in codes:
            codes.append(code)
        if len(codes) == min(count, compiled.size):
            break
    return codes


class LegacyDefinitionForm(forms.ModelForm):
    """The amount and a minimum order rule are checked as the NewStore API checks
    them, in its words (``legacy.rules.amount_problem``: an amount the currency can
    hold, ``core.money``: ¥500.5 is refused; above zero; a minimum order not
    negative), so the admin saves only what ``POST /v0/d/coupon_templates`` would.
    The service (``save_model``) then checks the rest as for the API (currency,
    rule kinds, label)."""

    # No Meta: the admin supplies the model and fields.

    def clean_pattern(self):
        pattern = self.cleaned_data["pattern"]
        if (problem := pattern_error(pattern)) is not None:
            raise forms.ValidationError(problem, code="invalid_pattern")
        return pattern

    def clean(self):
        cleaned = super().clean()
        amount = cleaned.get("amount")
        if amount is not None and "amount" in self.fields:
            currency = cleaned.get("amount_currency") or ""
            if not money.is_currency(currency):
                self.add_error("amount_currency", rules.UNKNOWN_CURRENCY)
            elif problem := rules.amount_problem(amount, currency, positive=True):
                self.add_error("amount", problem)
        refuse_above_caps(self, {"max_redemptions": money.MAX_MINOR})
        given_rules = cleaned.get("validation_rules")
        if isinstance(given_rules, list) and "validation_rules" in self.fields:
            for n, rule in enumerate(given_rules):
                if problem := _minimum_problem(rule):
                    self.add_error("validation_rules", f"{n}.values.amount: {problem}")
        return cleaned


def _minimum_problem(rule: Any) -> str | None:
    """What the API says of a minimum order rule's amount it refuses, else None (the
    service checks the rules' shape and kinds)."""
    if not isinstance(rule, dict) or rule.get("label") != rules.MINIMUM_TOTAL:
        return None
    values = rule.get("values")
    if not isinstance(values, dict):
        return None
    amount, currency = values.get("amount"), values.get("currency")
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        return None
    if not isinstance(currency, str) or not money.is_currency(currency):
        return None
    return rules.amount_problem(Decimal(repr(amount)), currency, positive=False)


class LegacyDefinitionAdmin(StoreOwnedAdmin):
    """Shared by the two proxies; each lists only its own kind.

    The pattern is checked on save (a clear message on the form); "Preview 5 codes"
    on the change page draws codes from the saved pattern.
    """

    form = LegacyDefinitionForm
    change_form_template = "admin/legacy/change_form.html"

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
    list_filter = [("store", StoreListFilter)]
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

    def get_urls(self):
        meta = self.model._meta
        return [
            path(
                "<path:object_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name=f"{meta.app_label}_{meta.model_name}_preview",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request, object_id):
        """Five codes the definition's pattern would make (nothing is saved)."""
        obj = self.get_object(request, object_id)
        if obj is None:
            return self._get_obj_does_not_exist_redirect(
                request, self.model._meta, object_id
            )
        problem = pattern_error(obj.pattern)
        return TemplateResponse(
            request,
            "admin/legacy/preview.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Preview of {obj.label}",
                "opts": self.model._meta,
                "original": obj,
                "problem": problem,
                "codes": [] if problem else preview_codes(obj.pattern),
            },
        )

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(
            request, queryset, search_term
        )
        with contextlib.suppress(ValueError):
            found |= queryset.filter(uuid=uuid.UUID(search_term.strip()))
        return found, may_have_duplicates

    def save_model(self, request, obj, form, change):
        # Through the services, as the NewStore API writes: the same checks of the
        # rules, and on a change only what staff edited, on the row as it is now.
        values = edited(form, change)
        if change:
            saved = services.legacy_definition_change(definition=obj, changes=values)
        else:
            saved = services.legacy_definition_create(
                store=values["store"], kind=self.kind, **services.staff_values(values)
            )
        obj.pk = saved.pk
        obj._state.adding = False

    def delete_model(self, request, obj):
        # As the API deletes: refused once a coupon of it was redeemed, and its
        # coupons disabled (the delete page reports a refusal).
        services.legacy_definition_delete(
            definition=obj, actor=Actor.user(request.user)
        )

    def delete_queryset(self, request, queryset):
        actor = Actor.user(request.user)
        for definition in queryset:
            try:
                services.legacy_definition_delete(definition=definition, actor=actor)
            except DomainError as refused:
                self.message_user(
                    request, f"{definition.label}: {refused.message}", messages.ERROR
                )


@admin.register(CouponDefinition)
class CouponDefinitionAdmin(LegacyDefinitionAdmin):
    kind = Kind.DEFINITION


@admin.register(CouponTemplate)
class CouponTemplateAdmin(LegacyDefinitionAdmin):
    kind = Kind.TEMPLATE
