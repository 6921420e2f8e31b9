"""Admin of the series app."""

from __future__ import annotations

from collections.abc import Iterator

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.widgets import AdminSplitDateTime
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from audit.admin import AuditTimelineMixin
from core import compact, csvsafe, flake, timefmt
from core.admin import StoreListFilter, refuse_above_caps, scope_to_stores
from core.errors import DomainError
from core.keyset import values_in_chunks
from coupons.models import Coupon
from coupons.services import Actor
from jobs import services as job_services
from jobs.models import Job
from series import bulk_issue
from series import pool as series_pool
from series import selectors as series_selectors
from series import services as series_services
from series.models import UNLIMITED, CodeFormat, Series
from stores.admin import StoreOwnedAdmin

MAX_GENERATE = 10_000_000
EXPORT_COLUMNS = (
    "series_id",
    "code",
    "pooled",
    "enabled",
    "redeemed_count",
    "usable_at",
    "expires_at",
    "created_at",
)
EXPORT_CHUNK = 5_000
JOBS_SHOWN = 5
# The series page counts its redemptions and its pool up to this many (a pool holds
# millions of codes; counting them all was most of the page).
COUNT_SHOWN = 10_000


class GenerateCodesForm(forms.Form):
    count = forms.IntegerField(
        min_value=1,
        max_value=MAX_GENERATE,
        help_text="How many codes to add to each selected series' pool.",
    )


class IssueToListForm(forms.Form):
    file = forms.FileField(
        label="Customer list (CSV)",
        help_text=(
            "A header row naming the identifier columns ("
            + ", ".join(bulk_issue.IDENTIFIERS)
            + "), then one customer a row. Each gets one code of the series; "
            "nobody is issued twice, even by a second run of the same file."
        ),
    )


class ExtendExpiryForm(forms.Form):
    valid_till = forms.SplitDateTimeField(
        widget=AdminSplitDateTime,
        validators=[timefmt.validate_storable],
        help_text="The new expiry (UTC); later than each series' current one.",
    )


class _Echo:
    """A file-like object whose write returns the line, for a streamed CSV."""

    def write(self, value: str) -> str:
        return value


def _csv_value(value) -> object:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return "" if value is None else value


def export_rows(coupons) -> Iterator[str]:
    """CSV lines of ``coupons`` in id order, read a chunk per query
    (``core.keyset``): a million codes never sit in memory at once, and nothing is
    held on the database connection while the client downloads."""
    writer = csvsafe.writer(_Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    for row in values_in_chunks(coupons, EXPORT_COLUMNS, size=EXPORT_CHUNK):
        yield writer.writerow([_csv_value(value) for value in row])


def _capped(count: int) -> str:
    """A count read up to ``COUNT_SHOWN + 1`` rows, as staff read it."""
    return f"more than {COUNT_SHOWN:,}" if count > COUNT_SHOWN else f"{count:,}"


# Written only by the issue service, under a lock or a conditional UPDATE.
COUNTERS = series_services.COUNTERS
# The counts a series shows Capillary clients as JSON numbers.
COUNTED = ("max_create", "max_vouchers_per_user", "max_redemptions_per_coupon")


class SeriesAdminForm(forms.ModelForm):
    # No Meta: the admin supplies the model and the fields of its fieldsets.

    def clean(self):
        cleaned = super().clean()
        # Capillary v2's caps of the same counts (int32: its OpenAPI's type,
        # DESIGN.md IDs).
        refuse_above_caps(self, dict.fromkeys(COUNTED, compact.INT32))
        store = cleaned.get("store")
        if self.instance._state.adding and store is not None and not self.errors:
            # A new series is made by series_create: check its rules here, so a
            # mistake is a message on the form rather than an error page.
            values = {
                name: cleaned[name]
                for name in series_services.SERIES_FIELDS
                if name in cleaned
            }
            candidate = Series(store=store, **values)
            candidate.code_format = (
                CodeFormat.GENERIC if candidate.generic_code else CodeFormat.RANDOM
            )
            try:
                series_services.check_series(
                    candidate, currency=store.currency, at=timezone.now()
                )
            except DomainError as exc:
                issues = exc.fields or []
                for issue in issues:
                    field = issue.path if issue.path in self.fields else None
                    self.add_error(field, issue.message)
                if not issues:
                    self.add_error(None, exc.message)
        # issued_count is not a form field, so the form skips the constraint that
        # holds it under max_create; check it here for a clear message.
        max_create = cleaned.get("max_create")
        issued = self.instance.issued_count
        if max_create is not None and max_create != UNLIMITED and max_create < issued:
            self.add_error(
                "max_create", f"{issued} already issued: the cap cannot be lower."
            )
        return cleaned


@admin.register(Series)
class SeriesAdmin(AuditTimelineMixin, StoreOwnedAdmin):
    audit_key = "series_id"
    form = SeriesAdminForm
    list_display = [
        "id",
        "description",
        "store",
        "code_format",
        "discount_type",
        "discount_value",
        "max_create",
        "issued_count",
        "valid_till",
        "is_active",
    ]
    list_filter = [
        ("store", StoreListFilter),
        "is_active",
        "code_format",
        "discount_type",
    ]
    list_select_related = ["store"]
    search_fields = ["description"]
    search_help_text = "Description (part of it) or series ID."
    autocomplete_fields = ["store"]
    fieldsets = [
        (None, {"fields": ["id", "store", "description", "is_active"]}),
        (
            "Discount",
            {
                "fields": [
                    "discount_code",
                    "discount_type",
                    "discount_value",
                    "discount_upto",
                    "discount_on",
                    "min_bill_amount",
                ]
            },
        ),
        (
            "Codes",
            {
                "fields": [
                    "code_format",
                    "generic_code",
                    "alpha_numeric",
                    "random_code_length",
                    "code_prefix",
                    "code_suffix",
                    "check_character",
                ]
            },
        ),
        (
            "Issue",
            {
                "fields": [
                    "max_create",
                    "issued_count",
                    "redeemed",
                    "pool_remaining",
                    "is_multiple_vouchers_per_user_allowed",
                    "max_vouchers_per_user",
                ]
            },
        ),
        (
            "Validity and redemption",
            {
                "fields": [
                    "valid_till",
                    "expiry_strategy_type",
                    "expiry_strategy_value",
                    "redemption_valid_after_days",
                    "max_redemptions_per_coupon",
                    "custom_properties",
                ]
            },
        ),
        ("Code generation", {"fields": ["generation_jobs"]}),
        ("History", {"fields": ["created_at", "updated_at"]}),
        ("Audit trail", {"fields": ["timeline"], "classes": ["collapse"]}),
    ]
    readonly_fields = [
        "id",
        *sorted(COUNTERS),
        "redeemed",
        "pool_remaining",
        "generation_jobs",
        "created_at",
        "updated_at",
        "timeline",
    ]
    list_per_page = 100
    actions = [
        "generate_codes",
        "issue_to_list",
        "export_codes_csv",
        "disable",
        "extend_expiry",
        "retire_pool",
        "bulk_codes",
    ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            # A new series: its code format comes from generic_code (the service).
            return [*self.readonly_fields, "code_format"]
        # The store's lookups read a check-character series' codes by their shape.
        return [*self.readonly_fields, "check_character"]

    @admin.display(description="redeemed")
    def redeemed(self, series: Series) -> str:
        """Uses of the series' codes (rolled-back uses excluded), counted up to
        ``COUNT_SHOWN``."""
        if series.pk is None:
            return "0"
        return _capped(
            series_selectors.series_redeemed(series.pk, at_most=COUNT_SHOWN + 1)
        )

    @admin.display(description="pool remaining")
    def pool_remaining(self, series: Series) -> str:
        """Codes generated, not issued yet and still issuable (retired ones, disabled
        or archived, are not counted), counted up to ``COUNT_SHOWN``."""
        if series.pk is None:
            return "0"
        return _capped(series_pool.pool_size(series, at_most=COUNT_SHOWN + 1))

    @admin.display(description="recent generation jobs")
    def generation_jobs(self, series: Series) -> str:
        if series.pk is None:
            return "-"
        jobs = list(
            Job.objects.filter(
                kind="generate_codes", params__series_id=str(series.pk)
            ).order_by("-id")[:JOBS_SHOWN]
        )
        if not jobs:
            return 'None yet: use the "Generate codes" action of the series list.'
        return format_html(
            "<table><thead><tr><th>job</th><th>status</th><th>progress</th>"
            "<th>result</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join(
                "",
                '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}/{} ({}%)</td>'
                "<td>{}</td></tr>",
                (
                    (
                        reverse("admin:jobs_job_change", args=[job.pk]),
                        job.pk,
                        job.get_status_display(),
                        job.progress_done,
                        job.progress_total,
                        job.percent,
                        (job.result or {}).get("message") or job.error or "-",
                    )
                    for job in jobs
                ),
            ),
        )

    def _action_form(self, request, queryset, *, action, form, title, intro):
        return TemplateResponse(
            request,
            "admin/series/series/action_form.html",
            {
                **self.admin_site.each_context(request),
                "title": title,
                "intro": intro,
                "opts": self.model._meta,
                "form": form,
                "action": action,
                "series_list": list(queryset),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description="Generate codes into the pool", permissions=["change"])
    def generate_codes(self, request, queryset):
        """Ask how many; then one background job per series (progress on the job
        page and on the series page)."""
        form = GenerateCodesForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self._action_form(
                request,
                queryset,
                action="generate_codes",
                form=form,
                title="Generate codes",
                intro="Codes are generated in the background, in batches.",
            )
        count = form.cleaned_data["count"]
        jobs = []
        for series in queryset.select_related("store"):
            try:
                series_pool.generation_room(series, count)
            except DomainError as exc:
                self.message_user(request, f"{series}: {exc.message}", messages.ERROR)
                continue
            jobs.append(
                job_services.job_enqueue(
                    kind="generate_codes",
                    params={"series_id": str(series.pk), "count": count},
                    store=series.store,
                    user=request.user,
                    total=count,
                )
            )
        if not jobs:
            return None
        self.message_user(
            request,
            f"Generating {count:,} codes for {len(jobs)} series in the background.",
            messages.SUCCESS,
        )
        if len(jobs) == 1:
            return HttpResponseRedirect(
                reverse("admin:jobs_job_change", args=[jobs[0].pk])
            )
        return HttpResponseRedirect(
            reverse("admin:jobs_job_changelist") + "?kind=generate_codes"
        )

    @admin.action(
        description="Issue a code to each customer of a CSV list",
        permissions=["change"],
    )
    def issue_to_list(self, request, queryset):
        """One series: staff upload the list, a background job issues to it
        (``series.bulk_issue``, in batches; progress, the rejected rows' report and
        a retry that issues nobody twice on the job's page)."""
        if len(queryset) != 1:
            self.message_user(
                request, "Select one series to issue to a list.", messages.ERROR
            )
            return None
        applied = "apply" in request.POST
        form = IssueToListForm(
            request.POST if applied else None, request.FILES if applied else None
        )
        if form.is_valid():
            try:
                path, total = bulk_issue.save_list(
                    form.cleaned_data["file"].chunks(),
                    folder=settings.EXPORT_DIR / "uploads",
                )
            except bulk_issue.IssueFileError as exc:
                form.add_error("file", str(exc))
        if not form.is_valid():
            return self._action_form(
                request,
                queryset,
                action="issue_to_list",
                form=form,
                title="Issue to a list",
                intro=(
                    "One code of the series to each customer listed, in the "
                    "background, a batch at a time; every cap holds."
                ),
            )
        [series] = queryset
        job = job_services.job_enqueue(
            kind="issue_to_customers",
            params={"series_id": str(series.pk), "path": str(path)},
            store=series.store,
            user=request.user,
            total=total,
        )
        self.message_user(
            request,
            f"Issuing to the {total:,} rows of the list in the background.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:jobs_job_change", args=[job.pk]))

    @admin.action(description="Export codes as CSV", permissions=["view"])
    def export_codes_csv(self, request, queryset):
        """Every code of the selected series, streamed as it is read."""
        series_ids = list(queryset.values_list("pk", flat=True))
        coupons = scope_to_stores(
            Coupon.objects.filter(series_id__in=series_ids), request
        )
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(
            export_rows(coupons), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="series-codes-{stamp}.csv"'
        )
        return response

    @admin.action(description="Disable (stop issuing)", permissions=["change"])
    def disable(self, request, queryset):
        actor = Actor.user(request.user)
        changed = sum(
            series_services.series_disable(series=series, actor=actor)
            for series in queryset
        )
        self.message_user(request, f"Disabled {changed} series.", messages.SUCCESS)

    @admin.action(
        description="Retire unissued codes (disable them; new ones are generated)",
        permissions=["change"],
    )
    def retire_pool(self, request, queryset):
        """Leaked or unwanted pool codes: disabled, so never issued; codes issued
        meanwhile are left alone. The series keeps issuing, from new codes."""
        actor = Actor.user(request.user)
        retired = sum(
            series_pool.series_pool_retire(series=series, actor=actor)
            for series in queryset
        )
        self.message_user(
            request, f"Retired {retired:,} unissued codes.", messages.SUCCESS
        )

    @admin.action(description="Extend expiry", permissions=["change"])
    def extend_expiry(self, request, queryset):
        form = ExtendExpiryForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self._action_form(
                request,
                queryset,
                action="extend_expiry",
                form=form,
                title="Extend expiry",
                intro=(
                    "Codes whose expiry is the series' expiry move with it; codes "
                    "with an earlier expiry of their own keep it."
                ),
            )
        valid_till = form.cleaned_data["valid_till"]
        actor = Actor.user(request.user)
        for series in queryset:
            try:
                _, moved = series_services.series_extend_expiry(
                    series=series, valid_till=valid_till, actor=actor
                )
            except DomainError as exc:
                self.message_user(request, f"{series}: {exc.message}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"{series}: expires {valid_till:%Y-%m-%d %H:%M} UTC; "
                    f"{moved} code(s) moved with it.",
                    messages.SUCCESS,
                )
        return None

    @admin.action(description="Bulk action on the codes (one series)")
    def bulk_codes(self, request, queryset):
        """The coupons list of the series' codes, where staff narrow the filter and
        start a bulk action on it (``coupons.admin_bulk``)."""
        chosen = list(queryset[:2])
        if len(chosen) != 1:
            self.message_user(request, "Choose one series.", messages.ERROR)
            return None
        series = chosen[0]
        return HttpResponseRedirect(
            reverse("admin:coupons_coupon_changelist")
            + f"?store__id__exact={series.store_id}&series__id__exact={series.pk}"
        )

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(
            request, queryset, search_term
        )
        # Capillary clients know a series by its number: match it as well.
        if (series_id := flake.parse(search_term.strip())) is not None:
            found |= queryset.filter(pk=series_id)
        return found, may_have_duplicates

    def save_model(self, request, obj, form, change):
        if not change:
            # Through the service, as the API creates: the same checks, the first
            # pool of codes (or the generic coupon), the audit trail.
            values = {
                name: form.cleaned_data[name]
                for name in series_services.SERIES_FIELDS
                if name in form.cleaned_data
            }
            saved = series_services.series_create(
                store=form.cleaned_data["store"],
                actor=Actor.user(request.user),
                **values,
            )
            obj.pk = saved.pk
            obj._state.adding = False
            return
        # Write only what staff changed, on the row as it is now: issued_count moves
        # under locks while the form is open, and the form checked the cap against
        # the count it read.
        saved = series_services.series_update(
            series=obj,
            changes={name: form.cleaned_data[name] for name in form.changed_data},
            actor=Actor.user(request.user),
        )
        obj.pk = saved.pk
