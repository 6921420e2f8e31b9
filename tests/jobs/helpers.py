"""What the job tests with worker processes share."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection

from jobs.models import Job, Status


def database_url() -> str:
    """The test database as a ``DATABASE_URL``, for a worker process of its own."""
    db = settings.DATABASES["default"]
    return (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
        f"{connection.settings_dict['NAME']}"
    )


def wait_until_done(job: Job, timeout: float = 20.0, every: float = 0.05) -> Job:
    """The job once it succeeded or failed; an AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in (Status.SUCCEEDED, Status.FAILED):
            return job
        time.sleep(every)
    raise AssertionError(f"job still {job.status} after {timeout} s")
