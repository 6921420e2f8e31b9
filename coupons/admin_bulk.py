"""The coupons change list's bulk actions: on every coupon its filter (and search)
selects, not only a page's ticked rows.

The change list links to ``bulk/`` with its query string. That page reads the
filter as a ``coupons.bulk.CouponFilter`` (one store: staff's own, or the one the
store filter chose), lets staff choose the action, shows the dry run (the count of
coupons the filter selects and of those the action would change, exact up to
10,000, above that "more than 10,000" and an estimate: ``bulk.bulk_dry_run``), and on
confirmation starts the ``bulk_coupons`` job, which counts exactly and whose page
shows its progress. A series'
codes are the change list filtered by that series (``SeriesAdmin.bulk_codes``).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from core import flake, timefmt
from core.admin import allowed_store_ids
from core.errors import DomainError
from coupons import bulk
from coupons.exporter import FORMATS
from jobs import services as job_services
from stores.models import Store

# Change list parameters a bulk action carries: name -> (filter field, parse).
_YES_NO = {"1": True, "0": False}
FILTER_PARAMS = {
    "store__id__exact": ("store_id", flake.parse),
    "series__id__exact": ("series_id", flake.parse),
    "enabled__exact": ("enabled", _YES_NO.get),
    "origin__exact": ("origin", str),
    "discount_type__exact": ("discount_type", str),
    "pooled__exact": ("pooled", _YES_NO.get),
    # Django's "empty" filter: isempty=1 is "not archived".
    "archived_at__isempty": ("archived", {"1": False, "0": True}.get),
    "q": ("search", str),
}
# The change list's own parameters (sorting, page, its error flag): no filter.
LIST_PARAMS = frozenset({"o", "p", "e", "_facets"})
LABELS = {
    bulk.EXTEND: "Extend expiry",
    bulk.DISABLE: "Disable",
    bulk.ENABLE: "Enable",
    bulk.EXPORT: "Export",
}


class BulkActionForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, LABELS[a]) for a in bulk.ACTIONS])
    expires_at = forms.SplitDateTimeField(
        widget=AdminSplitDateTime,
        required=False,
        validators=[timefmt.validate_storable],
        help_text="Extend expiry: the new expiry (UTC). No coupon's expiry is "
        "shortened; coupons without an expiry keep none.",
    )
    format = forms.ChoiceField(
        choices=[(f, f) for f in FORMATS], initial="csv", required=False
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == bulk.EXTEND:
            expires = cleaned.get("expires_at")
            if "expires_at" in self.errors:
                pass  # out of range, or not a date-time
            elif expires is None:
                self.add_error("expires_at", "Give the new expiry.")
            elif expires <= timezone.now():
                self.add_error("expires_at", "The new expiry must be in the future.")
        return cleaned

    def bulk_action(self) -> bulk.BulkAction:
        data = self.cleaned_data
        return bulk.BulkAction(
            action=data["action"],
            expires_at=data["expires_at"] if data["action"] == bulk.EXTEND else None,
            format=data["format"] or "csv",
        )


class FilterError(Exception):
    """The change list's filter cannot be carried to a bulk action (a message)."""


def coupon_filter(request) -> bulk.CouponFilter:
    """The change list's filter of the request's query string, for one store the
    user may see; a store the user may not see is ``PermissionDenied``."""
    values = {}
    for name, raws in request.GET.lists():
        if name in LIST_PARAMS:
            continue
        if name not in FILTER_PARAMS:
            raise FilterError(f"The filter {name!r} cannot be used for a bulk action.")
        field, parse = FILTER_PARAMS[name]
        # One value each (the change list ORs repeated ones; QueryDict.items() would
        # keep the last); no NUL, which PostgreSQL text cannot hold (the change list
        # drops such a search with a message: a bulk action must not widen to all).
        raw = raws[0] if len(raws) == 1 else raws
        value = parse(raw) if isinstance(raw, str) and "\x00" not in raw else None
        if value is None:
            raise FilterError(f"Unknown value {raw!r} for {name!r}.")
        values[field] = value
    allowed = allowed_store_ids(request)
    if (
        allowed is None
        and "store_id" in values
        and not Store.objects.filter(pk=values["store_id"]).exists()
    ):
        raw = request.GET["store__id__exact"]
        raise FilterError(f"Unknown value {raw!r} for 'store__id__exact'.")
    if "store_id" not in values:
        if allowed is None or len(allowed) != 1:
            raise FilterError("Choose a store in the filter first.")
        values["store_id"] = next(iter(allowed))
    if allowed is not None and values["store_id"] not in allowed:
        raise PermissionDenied
    return bulk.CouponFilter(**values)


class BulkActionsMixin:
    """``bulk/`` of the coupons admin (module docstring)."""

    def get_urls(self):
        meta = self.opts
        return [
            path(
                "bulk/",
                self.admin_site.admin_view(self.bulk_view),
                name=f"{meta.app_label}_{meta.model_name}_bulk",
            ),
            *super().get_urls(),
        ]

    def _may(self, request, action: str) -> bool:
        if action == bulk.EXPORT:
            return self.has_view_permission(request)
        return self.has_change_permission(request)

    def bulk_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"
        )
        query = request.GET.urlencode()
        back = f"{changelist}?{query}" if query else changelist
        try:
            coupons = coupon_filter(request)
        except FilterError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(back)
        store = Store.objects.get(pk=coupons.store_id)
        form = BulkActionForm(request.POST if request.method == "POST" else None)
        context = {
            **self.admin_site.each_context(request),
            "title": "Bulk action on the filtered coupons",
            "opts": self.opts,
            "store": store,
            "coupons": coupons,
            "form": form,
            "changelist_url": back,
        }
        if form.is_bound and form.is_valid():
            action = form.bulk_action()
            if not self._may(request, action.action):
                raise PermissionDenied
            try:
                counts = bulk.bulk_dry_run(coupons, action)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                if request.POST.get("confirm") == "yes":
                    return self._start(request, store, coupons, action, counts)
                context.update(
                    counts=counts, action=action, label=LABELS[action.action]
                )
        return TemplateResponse(
            request, "admin/coupons/coupon/bulk_action.html", context
        )

    def _start(self, request, store, coupons, action, counts: bulk.DryRun):
        job = job_services.job_enqueue(
            kind="bulk_coupons",
            params={"filter": coupons.params(), **action.params()},
            store=store,
            user=request.user,
            # Above the cap the job's own exact count is its total.
            total=0 if counts.to_change_more else counts.to_change,
        )

        def shown(count: int, more: bool) -> str:
            return f"more than {counts.cap:,}" if more else f"{count:,}"

        self.message_user(
            request,
            f"{LABELS[action.action]}: "
            f"{shown(counts.to_change, counts.to_change_more)} of "
            f"{shown(counts.matched, counts.matched_more)} coupons, in the "
            "background.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:jobs_job_change", args=[job.pk]))
