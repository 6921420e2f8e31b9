"""Admin of the assignments app (read-only)."""

from __future__ import annotations

from django.contrib import admin

from assignments.models import Assignment
from core.admin import BigTableMixin, StoreListFilter, StoreScopedMixin
from coupons.admin import HoldingSearchMixin


@admin.register(Assignment)
class AssignmentAdmin(
    HoldingSearchMixin, StoreScopedMixin, BigTableMixin, admin.ModelAdmin
):
    """Read-only: receiving and issuing move stock and caps, so only services write."""

    list_display = [
        "id",
        "coupon",
        "customer",
        "store",
        "series",
        "outlet",
        "channel",
        "valid_till",
        "created_at",
    ]
    list_filter = [("store", StoreListFilter), "channel"]
    list_select_related = ["coupon", "customer", "store", "series", "outlet"]
    search_fields = [
        "=coupon__code",
        "=customer__email",
        "=customer__mobile",
        "=customer__external_id",
        "=transaction_number",
    ]
    search_help_text = (
        "Exact coupon code, customer email / mobile / external ID, transaction "
        "number, or assignment ID."
    )
    fields = [
        "id",
        "store",
        "coupon",
        "customer",
        "series",
        "outlet",
        "api_key",
        "channel",
        "valid_till",
        "transaction_number",
        "purpose",
        "created_at",
    ]
    readonly_fields = fields
    list_per_page = 50

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
