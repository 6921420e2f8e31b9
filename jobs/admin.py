from django.contrib import admin, messages

from core.errors import DomainError
from jobs import services
from jobs.models import Job, Status


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
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
    list_filter = ["status", "kind"]
    list_select_related = ["store", "created_by"]
    search_fields = ["=id", "kind"]
    readonly_fields = [f.name for f in Job._meta.fields] + ["progress"]
    actions = ["retry"]

    @admin.display(description="progress")
    def progress(self, job: Job) -> str:
        if job.progress_total:
            return f"{job.progress_done}/{job.progress_total} ({job.percent}%)"
        return str(job.progress_done) if job.progress_done else "-"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Retry the selected failed jobs", permissions=["change"])
    def retry(self, request, queryset):
        retried = 0
        for job in queryset.filter(status=Status.FAILED):
            try:
                services.job_retry(job=job)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.WARNING)
            else:
                retried += 1
        self.message_user(request, f"{retried} job(s) queued again.", messages.SUCCESS)
