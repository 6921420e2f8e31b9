"""Admin of the stores app: stores, outlets and API keys (never their secrets)."""

from __future__ import annotations

import axes.admin  # noqa: F401  (registers axes' admins now: _with_nul_free_filters)
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin, messages
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group
from django.db import models

from core import timefmt
from core.admin import NulFreeFiltersMixin, StoreListFilter, StoreScopedMixin
from core.admin_writes import ServiceWritesMixin, edited
from core.paginator import CappedCountPaginator
from stores import services
from stores.models import (
    ApiKey,
    FailedLookupCount,
    IdempotencyKey,
    Outlet,
    Store,
    StoreMembership,
)


class StoreOwnedAdmin(ServiceWritesMixin, StoreScopedMixin, admin.ModelAdmin):
    """Admin of a row that belongs to one store: the store is fixed once saved.

    Staff who are not superusers see only their stores' rows (``StoreScopedMixin``).
    Saves go through the services (``core.admin_writes``): each admin's
    ``save_model`` calls them with what staff edited.

    The store field is disabled rather than read-only: a read-only field is left out
    of the form's constraint checks, and every "unique per store" rule needs it.
    """

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        field = form.base_fields.get("store")
        if obj is not None and field is not None:
            field.disabled = True
            if isinstance(field.widget, RelatedFieldWidgetWrapper):
                field.widget.can_add_related = False
                field.widget.can_change_related = False
                field.widget.can_delete_related = False
        return form

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if isinstance(db_field, models.DateTimeField) and formfield is not None:
            # A time some store's zone cannot show is refused (core.timefmt).
            formfield.validators.append(timefmt.validate_storable)
        return formfield


class SuperuserOnlyMixin:
    """Who may see which store is for superusers to decide."""

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class StoreMembershipInline(SuperuserOnlyMixin, admin.TabularInline):
    model = StoreMembership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "created_at"]
    readonly_fields = ["created_at"]
    verbose_name = "staff member"
    verbose_name_plural = "staff members (they see only their stores' rows)"


class UserStoreMembershipInline(StoreMembershipInline):
    autocomplete_fields = ["store"]
    fields = ["store", "created_at"]
    verbose_name = "store"
    verbose_name_plural = "stores (a staff user who is not a superuser sees only these)"


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


def _with_nul_free_filters(*models) -> None:
    """Register the other apps' admins of ``models`` again with
    ``NulFreeFiltersMixin``, so their change lists refuse a NUL too."""
    for model in models:
        if admin.site.is_registered(model):
            current = type(admin.site.get_model_admin(model))
            admin.site.unregister(model)
            guarded = type(current.__name__, (NulFreeFiltersMixin, current), {})
            admin.site.register(model, guarded)


# Django's groups and axes' lockout logs (axes.admin, imported above, registers its
# admins on import; INSTALLED_APPS would import it after this module).
_with_nul_free_filters(Group, AccessAttempt, AccessLog, AccessFailureLog)


@admin.register(User)
class StaffUserAdmin(NulFreeFiltersMixin, UserAdmin):
    inlines = [UserStoreMembershipInline]


@admin.register(StoreMembership)
class StoreMembershipAdmin(SuperuserOnlyMixin, NulFreeFiltersMixin, admin.ModelAdmin):
    list_display = ["user", "store", "created_at"]
    list_filter = [("store", StoreListFilter)]
    list_select_related = ["user", "store"]
    search_fields = ["user__username", "=user__email", "=store__code"]
    search_help_text = "Username (part of it), exact user email or store code."
    autocomplete_fields = ["user", "store"]
    fields = ["user", "store", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Store)
class StoreAdmin(ServiceWritesMixin, StoreScopedMixin, admin.ModelAdmin):
    store_path = "pk"
    inlines = [StoreMembershipInline]
    list_display = ["name", "code", "id", "is_active", "timezone", "currency"]
    list_filter = ["is_active", "currency"]
    search_fields = ["name", "=code"]
    search_help_text = "Name (part of it) or exact store code."
    readonly_fields = ["id", "created_at", "updated_at"]
    fields = [
        "id",
        "name",
        "code",
        "is_active",
        "timezone",
        "currency",
        "code_guess_limit",
        "created_at",
        "updated_at",
    ]
    list_per_page = 100

    def has_delete_permission(self, request, obj=None):
        # A store cascades to every coupon, customer and redemption it owns; retire
        # it with is_active instead.
        return False

    def save_model(self, request, obj, form, change):
        values = edited(form, change)
        if "timezone" in values:
            values["timezone_name"] = values.pop("timezone")
        if change:
            saved = services.store_update(store=obj, **values)
        else:
            saved = services.store_create(**values)
        obj.pk = saved.pk
        obj._state.adding = False


@admin.register(Outlet)
class OutletAdmin(StoreOwnedAdmin):
    list_display = ["code", "name", "store", "is_active", "created_at"]
    list_filter = ["is_active", ("store", StoreListFilter)]
    list_select_related = ["store"]
    search_fields = ["=code", "name"]
    search_help_text = "Exact outlet code or name (part of it)."
    autocomplete_fields = ["store"]
    readonly_fields = ["id", "created_at"]
    fields = ["id", "store", "code", "name", "is_active", "created_at"]
    list_per_page = 100

    def save_model(self, request, obj, form, change):
        values = edited(form, change)
        if change:
            saved = services.outlet_update(outlet=obj, **values)
        else:
            saved = services.outlet_create(**values)
        obj.pk = saved.pk
        obj._state.adding = False


@admin.register(ApiKey)
class ApiKeyAdmin(ServiceWritesMixin, StoreScopedMixin, admin.ModelAdmin):
    """Keys are made by ``manage.py create_api_key`` (the only time a secret shows).

    The hashes are never rendered; staff may rename a key, set its rate limit or
    revoke it.
    """

    list_display = [
        "key_id",
        "name",
        "store",
        "outlet",
        "scopes",
        "rate_limit",
        "created_at",
        "revoked_at",
    ]
    list_filter = [
        ("revoked_at", admin.EmptyFieldListFilter),
        ("store", StoreListFilter),
    ]
    list_select_related = ["store", "outlet"]
    search_fields = ["=key_id", "name"]
    search_help_text = "Exact key ID or name (part of it)."
    fields = [
        "key_id",
        "name",
        "store",
        "outlet",
        "scopes",
        "rate_limit",
        "created_at",
        "revoked_at",
    ]
    readonly_fields = [
        "key_id",
        "store",
        "outlet",
        "scopes",
        "created_at",
        "revoked_at",
    ]
    exclude = ["secret_hash", "secret_md5_hash"]
    actions = ["revoke_selected"]
    list_per_page = 100

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # Revoke instead: redemptions and assignments keep pointing at the key.
        return False

    def save_model(self, request, obj, form, change):
        # Name and rate limit only, on the key as it is now: a revoke meanwhile stays.
        services.api_key_update(api_key=obj, **edited(form, change))

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke_selected(self, request, queryset):
        key_ids = list(
            queryset.filter(revoked_at__isnull=True).values_list("key_id", flat=True)
        )
        for key_id in key_ids:
            services.api_key_revoke(key_id=key_id)
        self.message_user(
            request, f"Revoked {len(key_ids)} API key(s).", level=messages.SUCCESS
        )


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(StoreScopedMixin, admin.ModelAdmin):
    """Read-only: which writes were retried with an Idempotency-Key, and the answer."""

    list_display = ["key", "store", "status", "response_status", "created_at"]
    list_filter = ["status"]
    list_select_related = ["store"]
    search_fields = ["=key"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    exclude = ["response_body"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(FailedLookupCount)
class FailedLookupCountAdmin(StoreScopedMixin, admin.ModelAdmin):
    """Read-only: failed code lookups per hour, key and reason (stores.guessing)."""

    list_display = ["hour", "store", "api_key", "reason", "failures"]
    list_filter = [("store", StoreListFilter), "reason"]
    list_select_related = ["store", "api_key"]
    show_full_result_count = False
    paginator = CappedCountPaginator

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
