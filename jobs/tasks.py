from celery import shared_task
from django.conf import settings

from core.observability import log_context
from jobs import services


@shared_task(
    bind=True, name="jobs.run_job", acks_late=True, ignore_result=True, max_retries=None
)
def run_job(self, job_id: int) -> None:
    """Run the job; when another run holds its lease, come back when that lease
    ends (``services.job_deliver``) instead of acknowledging a task that did nothing:
    the holder may be a dead worker whose task Redis gave back early. The retry is a
    new message with a countdown, sent before this one is acknowledged. A live holder
    renews its lease, so its job costs one such look (an UPDATE matching nothing and
    a SELECT) per lease period until it ends, however many retries that takes
    (max_retries=None)."""
    # Everything the run logs says which job it is (its request_id: job-<id>).
    with log_context(f"job-{job_id}"):
        wait = services.job_deliver(job_id=job_id)
    if wait is not None:
        raise self.retry(countdown=_countdown(wait))


def _countdown(wait: float) -> float:
    """``wait``, kept inside the broker's visibility timeout: a worker holds a
    message with a countdown unacknowledged until it runs, and Redis would give a
    message held longer than the timeout to a second worker as well."""
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    visibility = options.get("visibility_timeout")
    if visibility is None:
        return wait
    return max(1.0, min(wait, visibility - services.RETRY_MARGIN))
