from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from audit import selectors
from audit.models import AuditEvent
from core.admin import StoreListFilter, StoreScopedMixin
from core.paginator import CappedCountPaginator

TIMELINE_LENGTH = 50


@admin.register(AuditEvent)
class AuditEventAdmin(StoreScopedMixin, admin.ModelAdmin):
    """Read-only: nothing in the app can edit or delete the audit trail."""

    list_display = [
        "at",
        "action",
        "object_type",
        "object_id",
        "actor_type",
        "actor_label",
        "channel",
        "store",
    ]
    list_filter = [
        "action",
        "object_type",
        "channel",
        "actor_type",
        ("store", StoreListFilter),
    ]
    list_select_related = ["store"]
    search_fields = ["=object_id", "=coupon_id", "=customer_id", "=series_id"]
    search_help_text = "Exact object, coupon, customer or series ID."
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    sortable_by = ["at"]
    list_per_page = 100

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
