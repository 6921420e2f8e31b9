from datetime import UTC

from django.contrib import admin, messages
from django.db.models import Q
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timeuntil

from core import flake
from core.admin import BigTableMixin, StoreListFilter, StoreScopedMixin, values_filter
from core.errors import DomainError
from jobs import services
from jobs.models import Job, Status
from jobs.registry import HANDLERS


def _kinds() -> list[tuple[str, str]]:
    return [(kind, kind) for kind in sorted(HANDLERS)]


@admin.register(Job)
class JobAdmin(StoreScopedMixin, BigTableMixin, admin.ModelAdmin):
    """Jobs of the user's stores; a running job's page refreshes itself until it
    ends (templates/admin/jobs/job/change_form.html) and shows its rows done, its
    rate and when it should end; a queued or running job can be cancelled (the
    "cancel" action, or the button on its page).

    Listed newest first; each filter has an index leading with its column and the
    id (``job_status_idx``, ``job_kind_idx``, ``job_store_id_idx``).
    """

    list_display = [
        "id",
        "kind",
        "store",
        "status",
        "progress",
        "attempts",
        "created_by",
        "created_at",
        "finished_at",
    ]
    list_filter = [
        "status",
        values_filter("kind", "kind", _kinds),
        ("store", StoreListFilter),
    ]
    indexed_filters = ["status", "kind"]
    list_select_related = ["store", "created_by"]
    # Declared for the search box; get_search_results matches the id exactly.
    search_fields = ["=id"]
    search_help_text = "Job ID."
    readonly_fields = [f.name for f in Job._meta.fields] + ["progress", "outcome"]
    fields = [
        "id",
        "kind",
        "store",
        "status",
        "progress",
        "outcome",
        "params",
        "result",
        "error",
        "attempts",
        "created_by",
        "created_at",
        "started_at",
        "heartbeat_at",
        "cancel_requested_at",
        "finished_at",
    ]
    actions = ["retry", "cancel"]

    @admin.display(description="progress")
    def progress(self, job: Job) -> str:
        if job.progress_total:
            shown = format_html(
                '<progress max="100" value="{}"></progress> '
                '<span class="job-progress">{}/{} ({}%)</span>',
                job.percent,
                f"{job.progress_done:,}",
                f"{job.progress_total:,}",
                job.percent,
            )
        elif job.progress_done:
            shown = format_html(
                '<span class="job-progress">{}</span>', f"{job.progress_done:,}"
            )
        else:
            shown = "-"
        if job.status != Status.RUNNING or job.rate is None:
            return shown
        end = job.estimated_end
        return format_html(
            '{} <span class="job-rate">{} rows/s</span>{}',
            shown,
            f"{job.rate:,.0f}" if job.rate >= 10 else f"{job.rate:.1f}",
            format_html(
                ', <span class="job-eta">ends about {} UTC (in {})</span>',
                end.astimezone(UTC).strftime("%H:%M:%S"),
                timeuntil(end, timezone.now()) if end > timezone.now() else "0 minutes",
            )
            if end
            else "",
        )

    @admin.display(description="outcome")
    def outcome(self, job: Job) -> str:
        if job.status == Status.SUCCEEDED:
            message = (job.result or {}).get("message") if job.result else None
            return format_html(
                '<span class="job-outcome">Done. {}</span>', message or ""
            )
        if job.status == Status.FAILED:
            return format_html('<span class="job-outcome">Failed: {}</span>', job.error)
        if job.status == Status.CANCELLED:
            message = (job.result or {}).get("message") or "Cancelled."
            return format_html('<span class="job-outcome">{}</span>', message)
        if services.is_abandoned(job, at=timezone.now()):
            return format_html(
                '<span class="job-outcome">Abandoned: no progress since {}; its '
                "worker stopped. Retry it to resume.</span>",
                job.heartbeat_at or job.started_at,
            )
        if job.cancel_requested_at is not None:
            return format_html(
                '<span class="job-outcome">{}</span>',
                "Cancelling: the job stops after its current batch... "
                "(this page refreshes itself)",
            )
        return format_html(
            '<span class="job-outcome">{}... (this page refreshes itself)</span>',
            job.get_status_display(),
        )

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        job_id = flake.parse(search_term.strip())
        return queryset.filter(pk=job_id) if job_id else queryset.none(), False

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        # Every field is read-only: nothing to write. Saving the page's copy would
        # write its status and progress back over what the worker wrote since.
        return

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(
        description="Retry the selected failed (or abandoned) jobs",
        permissions=["change"],
    )
    def retry(self, request, queryset):
        retried = 0
        retryable = Q(status=Status.FAILED) | services.abandoned(timezone.now())
        for job in queryset.filter(retryable):
            try:
                services.job_retry(job=job)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.WARNING)
            else:
                retried += 1
        self.message_user(request, f"{retried} job(s) queued again.", messages.SUCCESS)

    @admin.action(
        description="Cancel the selected queued or running jobs",
        permissions=["change"],
    )
    def cancel(self, request, queryset):
        cancelled = asked = 0
        for job in queryset.filter(status__in=[Status.QUEUED, Status.RUNNING]):
            try:
                job = services.job_cancel(job=job)
            except DomainError as exc:
                self.message_user(request, f"{job}: {exc.message}", messages.WARNING)
            else:
                if job.status == Status.CANCELLED:
                    cancelled += 1
                else:
                    asked += 1
        self.message_user(
            request,
            f"{cancelled} job(s) cancelled; {asked} running job(s) asked to stop "
            "after their current batch.",
            messages.SUCCESS,
        )
