"""Admin of the coupons app: coupons (edited by staff) and redemptions (read-only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from assignments.models import Assignment
from audit.admin import AuditTimelineMixin
from audit.models import AuditEvent
from core import money
from core.admin import (
    BigTableMixin,
    RelatedPagesMixin,
    StoreListFilter,
    StoreScopedMixin,
    admin_link,
    refuse_above_caps,
    related_page,
)
from core.admin_writes import edited
from core.errors import DomainError
from coupons import admin_search, bulk, errors, services
from coupons.admin_bulk import BulkActionsMixin
from coupons.admin_search import ExactSearchMixin
from coupons.models import (
    MAX_DURATION_MONTHS,
    ActorType,
    Coupon,
    Hold,
    HoldState,
    Redemption,
    RedemptionLine,
)
from coupons.redeem import decide
from coupons.redeem import service as redeem
from legacy.patterns import ALPHABET as CODE_ALPHABET
from series import pool as series_pool
from stores.admin import StoreOwnedAdmin
from stores.models import ApiKey

# Written only by the services, under a lock or a conditional UPDATE.
COUNTERS = frozenset({"redeemed_count", "received_count"})


def actor_label(actor_type: str | None, actor_id: int | None) -> str:
    """Who created or updated a coupon, for people: "user alice", "API key ck_..."."""
    if not actor_type:
        return "-"
    if actor_type == ActorType.USER and actor_id is not None:
        user = get_user_model().objects.filter(pk=actor_id).first()
        return f"staff user {user.get_username() if user else f'#{actor_id} (deleted)'}"
    if actor_type == ActorType.API_KEY and actor_id is not None:
        key = ApiKey.objects.filter(pk=actor_id).only("key_id", "name").first()
        if key is None:
            return f"API key #{actor_id} (deleted)"
        return f"API key {key.key_id}" + (f" ({key.name})" if key.name else "")
    return ActorType(actor_type).label if actor_type in ActorType.values else actor_type


class HoldingSearchMixin(ExactSearchMixin):
    """Search a coupon's uses (redemptions, assignments): exact coupon code (any
    case) or ID, customer identifier, transaction number (``holding_txn_idx``
    indexes) or the row's id."""

    def search_condition(self, matches: admin_search.Matches) -> Q:
        return admin_search.any_of(
            Q(coupon_id__in=matches.coupon_ids) if matches.coupon_ids else None,
            Q(customer_id__in=matches.customer_ids) if matches.customer_ids else None,
            Q(transaction_number=matches.term),
            matches.id_match(),
        )


# The form's fields capped as PayNow's CouponInput caps them: amounts and limits at
# core.money.MAX_MINOR (discount_max_amount, which only Capillary's discountUpto
# sets, as an amount too), duration_in_months at MAX_DURATION_MONTHS.
CAPS = {
    **dict.fromkeys(
        (
            "discount_amount",
            "minimum_order_value",
            "redeem_limit_store_amount",
            "redeem_limit_customer_amount",
            "discount_max_amount",
        ),
        money.MAX_MINOR,
    ),
    "duration_in_months": MAX_DURATION_MONTHS,
}


class CouponAdminForm(forms.ModelForm):
    # No Meta: the admin supplies the model and the fields of its fieldsets.

    def clean_code(self):
        """A code at least one dialect can carry: printable ASCII without spaces, the
        widest alphabet of a dialect's codes (NewStore's patterns,
        ``legacy.patterns.ALPHABET``; PayNow's A-Z a-z 0-9 - and Capillary's series
        codes are within it). Only a new or edited code is checked: a code stored
        before the rule stays as it is when other fields are edited."""
        code = self.cleaned_data["code"]
        if "code" in self.changed_data:
            refused = next((char for char in code if char not in CODE_ALPHABET), None)
            if refused is not None:
                shown = "A space" if refused == " " else repr(refused)
                raise forms.ValidationError(
                    f"{shown} cannot be part of a code: codes are printable ASCII "
                    "characters without spaces.",
                    code="invalid_code",
                )
        return code

    def clean(self):
        cleaned = super().clean()
        refuse_above_caps(self, CAPS)
        coupon = self.instance
        # The counters are not form fields, so the form skips the constraint that
        # holds them under the store-wide limit; check it here for a clear message.
        if cleaned.get("redeem_limit_store_enabled"):
            limit = cleaned.get("redeem_limit_store_amount")
            used = max(coupon.redeemed_count, coupon.received_count)
            if limit is not None and limit < used:
                self.add_error(
                    "redeem_limit_store_amount",
                    f"{used} already used: the store-wide limit cannot be lower.",
                )
        store = cleaned.get("store")
        customer = cleaned.get("usable_by_customer")
        if store is not None and customer is not None and customer.store_id != store.pk:
            self.add_error(
                "usable_by_customer", "This customer belongs to another store."
            )
        return cleaned


def _archived_meanwhile(coupon: Coupon, refused: DomainError) -> DomainError:
    """A live coupon that the API deleted (archived) while the page was open is
    ``coupon_not_found`` to the services; staff are told what happened."""
    if refused.reason == errors.COUPON_NOT_FOUND and coupon.archived_at is None:
        return DomainError(
            refused.reason,
            "This coupon was deleted (archived) by someone else while the page was "
            "open: nothing was changed.",
        )
    return refused


@admin.register(Coupon)
class CouponAdmin(
    BulkActionsMixin,
    RelatedPagesMixin,
    ExactSearchMixin,
    BigTableMixin,
    AuditTimelineMixin,
    StoreOwnedAdmin,
):
    audit_key = "coupon_id"
    form = CouponAdminForm
    list_display = [
        "code",
        "id",
        "store",
        "enabled",
        "discount_type",
        "discount_amount",
        "origin",
        "redeemed_count",
        "received_count",
        "usable_at",
        "expires_at",
        "archived_at",
    ]
    list_filter = [
        ("store", StoreListFilter),
        "enabled",
        "origin",
        "discount_type",
        # A series' pooled codes are its inventory, not coupons yet: staff find
        # (and retire) them here, the vendor APIs never show them.
        "pooled",
        ("archived_at", admin.EmptyFieldListFilter),
    ]
    list_select_related = ["store"]
    # Declared for the search box and autocompletes; get_search_results does the
    # matching (exact code in any case, ID or legacy UUID).
    search_fields = ["=code"]
    search_help_text = (
        "Exact code (any case), coupon ID, legacy UUID, or the exact email, mobile "
        "or external ID of a customer who holds it."
    )
    autocomplete_fields = ["store", "usable_by_customer"]
    fieldsets = [
        (None, {"fields": ["id", "store", "code", "enabled", "note"]}),
        (
            "Discount",
            {
                "fields": [
                    "discount_type",
                    "discount_amount",
                    "discount_max_amount",
                    "discount_apply_individually",
                    "discount_apply_before_sales",
                    "duration",
                    "duration_in_months",
                ]
            },
        ),
        (
            "Restrictions",
            {
                "fields": [
                    "usable_at",
                    "expires_at",
                    "usable_by_customer",
                    "minimum_order_value",
                    "is_first_order_only",
                    "usable_on_one_time_purchase",
                    "usable_on_subscription",
                    "apply_to_products",
                    "apply_to_tags",
                ]
            },
        ),
        (
            "Limits",
            {
                "fields": [
                    "redeem_limit_store_enabled",
                    "redeem_limit_store_amount",
                    "redeem_limit_customer_enabled",
                    "redeem_limit_customer_amount",
                    "redeemed_count",
                    "received_count",
                ]
            },
        ),
        (
            "Origin",
            {
                "fields": [
                    "origin",
                    "series",
                    "pooled",
                    "legacy_definition",
                    "legacy_uuid",
                    "legacy_label",
                ]
            },
        ),
        (
            "History",
            {
                "fields": [
                    "created_by",
                    "created_at",
                    "updated_by",
                    "updated_at",
                    "archived_at",
                ]
            },
        ),
        ("Audit trail", {"fields": ["timeline"], "classes": ["collapse"]}),
    ]
    readonly_fields = [
        "id",
        *sorted(COUNTERS),
        # Where a coupon came from is set by the series and legacy services; a
        # coupon made here is manual.
        "origin",
        "series",
        "pooled",
        "legacy_definition",
        "legacy_uuid",
        "legacy_label",
        "created_by",
        "created_at",
        "updated_by",
        "updated_at",
        "timeline",
    ]
    list_per_page = 50
    actions = ["retire_pool_codes"]

    def has_change_permission(self, request, obj=None):
        # A pooled code is its series' inventory: shown read-only, retired with
        # the actions (conditional on its still being pooled when they run), so a
        # form shown before the code was issued cannot disable a customer's coupon.
        if obj is not None and obj.pooled:
            return False
        return super().has_change_permission(request, obj)

    @admin.action(
        description="Retire selected pool codes (disable; issued ones are left alone)",
        permissions=["change"],
    )
    def retire_pool_codes(self, request, queryset):
        retired = series_pool.pool_codes_retire(
            coupon_ids=list(queryset.values_list("pk", flat=True)),
            actor=services.Actor.user(request.user),
        )
        self.message_user(request, f"Retired {retired:,} pool codes.", messages.SUCCESS)

    @admin.display(description="created by")
    def created_by(self, coupon: Coupon) -> str:
        return actor_label(coupon.created_by_type, coupon.created_by_id)

    @admin.display(description="updated by")
    def updated_by(self, coupon: Coupon) -> str:
        return actor_label(coupon.updated_by_type, coupon.updated_by_id)

    def search_condition(self, matches: admin_search.Matches) -> Q:
        return bulk.coupons_named(matches)

    def related_pages(self, request, obj):
        def changelist(model: str) -> str:
            return f"{reverse(f'admin:{model}_changelist')}?coupon__id__exact={obj.pk}"

        assignments = (
            Assignment.objects.filter(coupon=obj)
            .select_related("customer", "series", "outlet")
            .order_by("-id")
        )
        redemptions = (
            Redemption.objects.filter(coupon=obj)
            .select_related("customer", "outlet")
            .order_by("-id")
        )
        return [
            related_page(
                request,
                assignments,
                key="assignments",
                title="Assignments (who holds this coupon)",
                columns=[
                    ("id", admin_link),
                    ("customer", lambda a: admin_link(a.customer)),
                    ("series", lambda a: admin_link(a.series)),
                    ("outlet", lambda a: a.outlet or "-"),
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
                    ("customer", lambda r: admin_link(r.customer)),
                    ("outlet", lambda r: r.outlet or "-"),
                    ("order value", lambda r: r.order_value),
                    ("discount", lambda r: r.discount_amount),
                    ("at", lambda r: r.created_at),
                    ("rolled back at", lambda r: r.rolled_back_at or "-"),
                ],
                changelist_url=changelist("coupons_redemption"),
            ),
            related_page(
                request,
                Hold.objects.filter(coupon=obj)
                .select_related("customer", "redemption")
                .order_by("-id"),
                key="holds",
                title="Holds (uses reserved until a time; release them from the list)",
                columns=[
                    ("id", admin_link),
                    ("customer", lambda h: admin_link(h.customer)),
                    ("until", lambda h: h.expires_at),
                    ("state", hold_state),
                    ("redemption", lambda h: admin_link(h.redemption)),
                ],
                changelist_url=changelist("coupons_hold"),
            ),
        ]

    def save_model(self, request, obj, form, change):
        # Staff write through the same services as the API: the same rules, the
        # row lock for the counters, the audit trail, and the user as the actor; on
        # a change only what staff edited, on the row as it is now.
        values = {}
        for name, value in edited(form, change).items():
            if name == "usable_by_customer":
                values["usable_by_customer_id"] = value.pk if value else None
            elif name in services.EDITABLE:
                values[name] = value
        actor = services.Actor.user(request.user)
        if change:
            try:
                saved = services.coupon_update(coupon=obj, actor=actor, **values)
            except DomainError as refused:
                raise _archived_meanwhile(obj, refused) from refused
        else:
            saved = services.coupon_create(
                store=form.cleaned_data["store"], actor=actor, **values
            )
        obj.pk = saved.pk
        obj._state.adding = False

    def delete_model(self, request, obj):
        if obj.pooled:
            self.delete_queryset(request, [obj])
            return
        try:
            services.coupon_delete(coupon=obj, actor=services.Actor.user(request.user))
        except DomainError as refused:  # the delete page reports it
            raise _archived_meanwhile(obj, refused) from refused

    def delete_queryset(self, request, queryset):
        # A coupon with history is archived, as through the API. A pooled code is
        # retired from its series' pool (archived only while it is still pooled),
        # so a code issued since the page was shown stays its customer's coupon.
        actor = services.Actor.user(request.user)
        coupons = list(queryset)
        pooled = [coupon.pk for coupon in coupons if coupon.pooled]
        if pooled:
            series_pool.pool_codes_retire(coupon_ids=pooled, archive=True, actor=actor)
        for coupon in coupons:
            if coupon.pooled:
                continue
            try:
                services.coupon_delete(coupon=coupon, actor=actor)
            except DomainError as refused:  # deleted by someone else meanwhile
                message = _archived_meanwhile(coupon, refused).message
                self.message_user(request, f"{coupon.code}: {message}", messages.ERROR)


class RedemptionLineInline(admin.TabularInline):
    """A redemption's cart lines, each with its discount and what was returned."""

    model = RedemptionLine
    fields = [
        "line_id",
        "product_id",
        "quantity",
        "unit_price",
        "sale_unit_price",
        "discount",
        "returned_quantity",
        "returned_discount",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class WrittenByServicesMixin:
    """Read-only for staff: these rows move a coupon's counters or limits, so only
    services write them (the admin's actions call them)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Redemption)
class RedemptionAdmin(
    WrittenByServicesMixin,
    HoldingSearchMixin,
    StoreScopedMixin,
    BigTableMixin,
    admin.ModelAdmin,
):
    """Read-only: a redemption moves a coupon's counters, so only services write.

    The "roll back" action (with a confirmation page) calls the rollback service.
    """

    list_display = [
        "id",
        "coupon",
        "store",
        "customer",
        "outlet",
        "order_value",
        "discount_amount",
        "purchase_type",
        "dialect",
        "created_at",
        "rolled_back_at",
    ]
    list_filter = [
        ("store", StoreListFilter),
        "purchase_type",
        ("rolled_back_at", admin.EmptyFieldListFilter),
    ]
    list_select_related = ["coupon", "store", "customer", "outlet"]
    search_fields = [
        "=coupon__code",
        "=customer__email",
        "=customer__mobile",
        "=customer__external_id",
        "=transaction_number",
    ]
    search_help_text = (
        "Exact coupon code, customer email / mobile / external ID, transaction "
        "number, or redemption ID."
    )
    fields = [
        "id",
        "store",
        "coupon",
        "customer",
        "outlet",
        "api_key",
        "dialect",
        "transaction_number",
        "order_value",
        "discount_amount",
        "value_returned",
        "discount_returned",
        "purchase_type",
        "created_at",
        "rolled_back_at",
        "returns",
    ]
    readonly_fields = fields
    inlines = [RedemptionLineInline]
    list_per_page = 50
    actions = ["roll_back"]

    def has_rollback_permission(self, request):
        return request.user.has_perm("coupons.change_redemption")

    @admin.display(description="Returns and rollback")
    def returns(self, obj: Redemption) -> str:
        """Each partial return and the rollback, oldest first (the audit trail)."""
        events = list(
            AuditEvent.objects.filter(
                object_id=obj.pk,
                object_type="redemption",
                action__in=["return", "rollback"],
            ).order_by("id")
        )
        if not events:
            return "None."
        return format_html(
            "<table><thead><tr><th>when (UTC)</th><th>action</th><th>by</th>"
            "<th>value returned</th><th>discount returned</th><th>lines</th></tr>"
            "</thead><tbody>{}</tbody></table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                "<td>{}</td></tr>",
                (
                    (
                        event.at.strftime("%Y-%m-%d %H:%M:%S"),
                        event.action,
                        event.actor_label,
                        event.changes.get("value_returned", "all"),
                        event.changes.get("discount_returned", "-"),
                        ", ".join(
                            f"{line['id']} x{line['quantity']}"
                            for line in event.changes.get("lines", [])
                        )
                        or "-",
                    )
                    for event in events
                ),
            ),
        )

    @admin.action(
        description="Roll back the selected redemptions", permissions=["rollback"]
    )
    def roll_back(self, request, queryset):
        """Ask first; then roll back each through the service (frees its use)."""
        redemptions = list(
            queryset.select_related("coupon", "customer", "store").order_by("id")
        )
        if request.POST.get("confirm") != "yes":
            return TemplateResponse(
                request,
                "admin/coupons/redemption/rollback_confirmation.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Roll back redemptions?",
                    "opts": self.model._meta,
                    "redemptions": redemptions,
                    "open": [r for r in redemptions if r.rolled_back_at is None],
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                },
            )
        done = 0
        actor = services.Actor.user(request.user)
        for redemption in redemptions:
            try:
                redeem.redemption_rollback(
                    store=redemption.store, redemption_id=redemption.pk, actor=actor
                )
            except DomainError as exc:
                self.message_user(
                    request, f"{redemption.pk}: {exc.message}", messages.WARNING
                )
            else:
                done += 1
        self.message_user(
            request, f"Rolled back {done} redemption(s).", messages.SUCCESS
        )
        return None


def hold_state(hold: Hold) -> str:
    """The hold's state as it counts now: an active hold past its end is ended
    (it holds nothing) even before ``expire_holds`` tidies it."""
    live = decide.hold_live(
        state=hold.state, expires_at=hold.expires_at, at=timezone.now()
    )
    if hold.state == HoldState.ACTIVE and not live:
        return "ended (not tidied)"
    return hold.get_state_display()


@admin.register(RedemptionLine)
class RedemptionLineAdmin(
    WrittenByServicesMixin, StoreScopedMixin, BigTableMixin, admin.ModelAdmin
):
    """Read-only: every cart line redeemed, found by its redemption's id (each
    redemption's page shows its own lines inline)."""

    list_display = [
        "id",
        "redemption_id",
        "line_id",
        "product_id",
        "quantity",
        "unit_price",
        "sale_unit_price",
        "discount",
        "returned_quantity",
        "returned_discount",
    ]
    list_filter = [("store", StoreListFilter)]
    search_fields = ["=redemption__id"]
    search_help_text = "The ID of a redemption."

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        # redemption_line_unique leads with the redemption: an exact id is an index
        # lookup; anything else names no redemption.
        if not (term.isascii() and term.isdigit()) or int(term) >= 2**63:
            return queryset.none(), False
        return queryset.filter(redemption_id=int(term)), False


@admin.register(Hold)
class HoldAdmin(
    WrittenByServicesMixin,
    ExactSearchMixin,
    StoreScopedMixin,
    BigTableMixin,
    admin.ModelAdmin,
):
    """Read-only: a hold counts against a coupon's limits, so only services write.

    The "release" action calls the release service (frees the use at once). Searched
    by the coupon's exact code (any case) or id, the customer's identifier or the
    hold's id (``hold_coupon_idx``, the customer's index, the primary key)."""

    list_display = [
        "id",
        "coupon",
        "store",
        "customer",
        "expires_at",
        "state_now",
        "redemption",
        "created_at",
    ]
    list_filter = [("store", StoreListFilter), "state"]
    list_select_related = ["coupon", "store", "customer", "redemption"]
    # Declared for the search box; get_search_results matches (ExactSearchMixin).
    search_fields = ["=coupon__code"]
    search_help_text = (
        "Exact code or ID of the coupon (any letter case), email, mobile, external "
        "ID or ID of the customer, or the hold's ID."
    )
    fields = [
        "id",
        "store",
        "coupon",
        "customer",
        "expires_at",
        "state_now",
        "redemption",
        "order_value",
        "discount_amount",
        "created_by",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    list_per_page = 50
    actions = ["release"]

    def has_release_permission(self, request):
        return request.user.has_perm("coupons.change_hold")

    def search_condition(self, matches: admin_search.Matches) -> Q:
        return admin_search.any_of(
            Q(coupon_id__in=matches.coupon_ids) if matches.coupon_ids else None,
            Q(customer_id__in=matches.customer_ids) if matches.customer_ids else None,
            matches.id_match(),
        )

    @admin.display(description="state")
    def state_now(self, hold: Hold) -> str:
        return hold_state(hold)

    @admin.display(description="created by")
    def created_by(self, hold: Hold) -> str:
        return actor_label(hold.created_by_type, hold.created_by_id)

    @admin.action(description="Release the selected holds", permissions=["release"])
    def release(self, request, queryset):
        """Release each through the service; one that has ended, was redeemed or
        released already is reported and left as it is."""
        done = 0
        actor = services.Actor.user(request.user)
        for hold in queryset.select_related("store").order_by("id"):
            try:
                redeem.hold_release(store=hold.store, hold_id=hold.pk, actor=actor)
            except DomainError as exc:
                self.message_user(
                    request, f"{hold.pk}: {exc.message}", messages.WARNING
                )
            else:
                done += 1
        self.message_user(request, f"Released {done} hold(s).", messages.SUCCESS)
