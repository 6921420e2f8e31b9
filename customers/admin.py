"""Admin of the customers app."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.urls import reverse

from assignments.models import Assignment
from audit.admin import AuditTimelineMixin
from core.actors import Actor
from core.admin import (
    BigTableMixin,
    RelatedPagesMixin,
    StoreListFilter,
    admin_link,
    related_page,
)
from core.admin_writes import edited
from core.errors import DomainError
from coupons import admin_search
from coupons.admin_search import ExactSearchMixin
from coupons.models import Coupon, Redemption
from customers import services
from customers.identifiers import MOBILE_MESSAGE, is_mobile
from customers.models import Customer
from stores.admin import StoreOwnedAdmin


class CustomerForm(forms.ModelForm):
    def clean_mobile(self) -> str | None:
        # The API's and the import's rule, on a mobile staff typed: one stored
        # before the rule with separators can be left as it is.
        mobile = self.cleaned_data["mobile"]
        if mobile and "mobile" in self.changed_data and not is_mobile(mobile):
            raise forms.ValidationError(MOBILE_MESSAGE, code="invalid")
        return mobile


@admin.register(Customer)
class CustomerAdmin(
    RelatedPagesMixin,
    ExactSearchMixin,
    BigTableMixin,
    AuditTimelineMixin,
    StoreOwnedAdmin,
):
    form = CustomerForm
    audit_key = "customer_id"
    list_display = [
        "id",
        "first_name",
        "last_name",
        "email",
        "mobile",
        "external_id",
        "store",
        "created_at",
    ]
    list_filter = [("store", StoreListFilter)]
    list_select_related = ["store"]
    # Declared for the search box and autocompletes; get_search_results does the
    # matching, exactly and through the indexes.
    search_fields = ["=email", "=mobile", "=external_id"]
    search_help_text = "Exact email (any case), mobile, external ID or customer ID."
    autocomplete_fields = ["store"]
    readonly_fields = ["id", "created_at", "updated_at", "timeline"]
    fields = [
        "id",
        "store",
        "first_name",
        "last_name",
        "email",
        "mobile",
        "external_id",
        "created_at",
        "updated_at",
        "timeline",
    ]
    list_per_page = 50

    def search_condition(self, matches: admin_search.Matches) -> Q:
        return Q(pk__in=matches.customer_ids)

    def related_pages(self, request, obj):
        def changelist(model: str) -> str:
            url = reverse(f"admin:{model}_changelist")
            return f"{url}?customer__id__exact={obj.pk}"

        coupons = Coupon.objects.filter(usable_by_customer=obj).order_by("-id")
        assignments = (
            Assignment.objects.filter(customer=obj)
            .select_related("coupon", "series", "outlet")
            .order_by("-id")
        )
        redemptions = (
            Redemption.objects.filter(customer=obj)
            .select_related("coupon", "outlet")
            .order_by("-id")
        )
        return [
            related_page(
                request,
                coupons,
                key="coupons",
                title="Coupons restricted to this customer",
                columns=[
                    ("code", admin_link),
                    ("enabled", lambda c: c.enabled),
                    ("redeemed", lambda c: c.redeemed_count),
                    ("expires at", lambda c: c.expires_at or "-"),
                    ("archived at", lambda c: c.archived_at or "-"),
                ],
            ),
            related_page(
                request,
                assignments,
                key="assignments",
                title="Assignments (coupons this customer holds)",
                columns=[
                    ("id", admin_link),
                    ("coupon", lambda a: admin_link(a.coupon)),
                    ("series", lambda a: admin_link(a.series)),
                    ("channel", lambda a: a.get_channel_display()),
                    ("valid till", lambda a: a.valid_till or "-"),
                    ("at", lambda a: a.created_at),
                ],
                changelist_url=changelist("assignments_assignment"),
            ),
            related_page(
                request,
                redemptions,
                key="redemptions",
                title="Redemptions",
                columns=[
                    ("id", admin_link),
                    ("coupon", lambda r: admin_link(r.coupon)),
                    ("order value", lambda r: r.order_value),
                    ("discount", lambda r: r.discount_amount),
                    ("at", lambda r: r.created_at),
                    ("rolled back at", lambda r: r.rolled_back_at or "-"),
                ],
                changelist_url=changelist("coupons_redemption"),
            ),
        ]

    def save_model(self, request, obj, form, change):
        # Through the services, as the API writes: same rules, audit trail; on a
        # change only what staff edited, on the row as it is now.
        values = {
            name: value
            for name, value in edited(form, change).items()
            if name in services.EDITABLE
        }
        actor = Actor.user(request.user)
        if change:
            saved = services.customer_update(customer=obj, actor=actor, **values)
        else:
            saved = services.customer_create(
                store=form.cleaned_data["store"], actor=actor, **values
            )
        obj.pk = saved.pk
        obj._state.adding = False

    def delete_model(self, request, obj):
        services.customer_delete(customer=obj, actor=Actor.user(request.user))

    def delete_queryset(self, request, queryset):
        actor = Actor.user(request.user)
        for customer in queryset:
            try:
                services.customer_delete(customer=customer, actor=actor)
            except DomainError as refused:  # deleted, or given history, meanwhile
                self.message_user(
                    request, f"{customer}: {refused.message}", messages.ERROR
                )
