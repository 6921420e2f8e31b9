"""Admin of the customers app."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower

from audit.admin import AuditTimelineMixin
from core import flake
from customers import services
from customers.models import Customer
from stores.admin import StoreOwnedAdmin


def customers_matching(term: str) -> QuerySet[Customer]:
    """Customers whose email (any case), mobile, external ID or ID is ``term``.

    Exact matches only: on a big table they stay index lookups (the email through the
    same ``lower(email)`` expression as its unique index), where a substring search
    would scan every row.
    """
    term = term.strip()
    match = Q(email_folded=term.lower()) | Q(mobile=term) | Q(external_id=term)
    if (customer_id := flake.parse(term)) is not None:
        match |= Q(pk=customer_id)
    return Customer.objects.alias(email_folded=Lower("email")).filter(match)


@admin.register(Customer)
class CustomerAdmin(AuditTimelineMixin, StoreOwnedAdmin):
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
    list_filter = ["store"]
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
    sortable_by = ["id"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        matches = customers_matching(search_term).values("pk")
        return queryset.filter(pk__in=matches), False

    def save_model(self, request, obj, form, change):
        # Through the services, as the API writes: same rules, audit trail.
        names = form.changed_data if change else list(form.cleaned_data)
        values = {n: form.cleaned_data[n] for n in names if n in services.EDITABLE}
        if change:
            saved = services.customer_update(customer=obj, **values)
        else:
            saved = services.customer_create(store=form.cleaned_data["store"], **values)
        obj.pk = saved.pk
        obj._state.adding = False

    def delete_model(self, request, obj):
        services.customer_delete(customer=obj)

    def delete_queryset(self, request, queryset):
        for customer in queryset:
            services.customer_delete(customer=customer)
