from celery import shared_task

from core.observability import log_context
from jobs import services


@shared_task(name="jobs.run_job", acks_late=True, ignore_result=True)
def run_job(job_id: int) -> None:
    # Everything the run logs says which job it is (its request_id: job-<id>).
    with log_context(f"job-{job_id}"):
        services.job_run(job_id=job_id)
