from __future__ import annotations

from django.contrib import admin
from django.db.models import Q
from django.utils.html import format_html, format_html_join

from audit import selectors
from audit.models import AuditEvent
from core.actors import ActorType
from core.admin import (
    BigTableMixin,
    StoreListFilter,
    StoreScopedMixin,
    values_filter,
)
from coupons import admin_search
from coupons.admin_search import ExactSearchMixin

TIMELINE_LENGTH = 50


# What the services record (a filter offers these; an event of another kind is still
# listed, searched and shown).
ACTIONS = (
    "create",
    "update",
    "delete",
    "archive",
    "retire",
    "expire",
    "disable",
    "extend_expiry",
    "issue",
    "receive",
    "redeem",
    "rollback",
    "lockout",  # an API key and customer locked out for guessing (stores.guessing)
)
OBJECT_TYPES = (
    "coupon",
    "customer",
    "series",
    "assignment",
    "redemption",
    "api_key",
)


def _same(values) -> list[tuple[str, str]]:
    return [(value, value) for value in values]


def _channels() -> list[tuple[str, str]]:
    from assignments.models import Channel

    # Assignments are made through a vendor; events also through Capillary's v1.1
    # endpoints, which audit as their own channel.
    return [*Channel.choices, ("capillary_v11", "Capillary v1.1")]


@admin.register(AuditEvent)
class AuditEventAdmin(
    ExactSearchMixin, StoreScopedMixin, BigTableMixin, admin.ModelAdmin
):
    """Read-only: nothing in the app can edit or delete the audit trail.

    Listed newest first by id (time-ordered: the "at" column sorts by it); searched
    by a coupon code (any case), a customer identifier or an id, through the
    coupon, customer, series and object indexes.
    """

    list_display = [
        "when",
        "action",
        "object_type",
        "object_id",
        "actor_type",
        "actor_label",
        "channel",
        "store",
    ]
    list_filter = [
        ("store", StoreListFilter),
        values_filter("action", "action", lambda: _same(ACTIONS)),
        values_filter("object_type", "object type", lambda: _same(OBJECT_TYPES)),
        values_filter("channel", "channel", _channels),
        values_filter("actor_type", "actor type", lambda: ActorType.choices),
    ]
    list_select_related = ["store"]
    # Declared for the search box; search_condition does the matching.
    search_fields = ["=object_id"]
    search_help_text = (
        "Exact coupon code (any case), customer email / mobile / external ID, or the "
        "ID of an object, coupon, customer or series."
    )
    sortable_by = ["when"]
    list_per_page = 100

    @admin.display(description="at", ordering="id")
    def when(self, event: AuditEvent):
        return event.at

    def search_condition(self, matches: admin_search.Matches) -> Q:
        number = matches.id_match("object_id")
        raw = [] if number is None else [matches.number]
        return admin_search.any_of(
            Q(coupon_id__in=[*matches.coupon_ids, *raw])
            if matches.coupon_ids or raw
            else None,
            Q(customer_id__in=[*matches.customer_ids, *raw])
            if matches.customer_ids or raw
            else None,
            matches.id_match("series_id"),
            number,
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditTimelineMixin:
    """A read-only "timeline" field: the object's last audit events, newest first."""

    audit_key = ""  # coupon_id | customer_id | series_id

    @admin.display(description="Audit trail")
    def timeline(self, obj) -> str:
        if obj is None or obj.pk is None:
            return "-"
        events = list(selectors.timeline(**{self.audit_key: obj.pk})[:TIMELINE_LENGTH])
        if not events:
            return "No events yet."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{} {}</td><td>{} {}</td><td>{}</td>"
            "<td><code>{}</code></td></tr>",
            (
                (
                    event.at.strftime("%Y-%m-%d %H:%M:%S"),
                    event.action,
                    event.object_type,
                    event.object_id,
                    event.actor_type,
                    event.actor_label,
                    event.channel,
                    event.changes,
                )
                for event in events
            ),
        )
        return format_html(
            "<table><thead><tr><th>when (UTC)</th><th>action</th><th>object</th>"
            "<th>actor</th><th>channel</th><th>changes</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            rows,
        )
