"""What the job tests with worker processes share."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection

from jobs.models import Job, Status
from tests.factories import CustomerFactory, StoreFactory

# The import locks the customers it updates: a test holding one of them keeps the
# worker mid-job (claimed, RUNNING, waiting) until it is killed.
HOLD_CUSTOMER = "SELECT 1 FROM customers_customer WHERE id = %s FOR UPDATE"


def import_of_two(tmp_path) -> tuple:
    """``(store, customer, job)``: a queued import of two rows, one updating
    ``customer`` (a@example.com, "Old" -> "A"), one creating b@example.com."""
    store = StoreFactory()
    customer = CustomerFactory(store=store, email="a@example.com", first_name="Old")
    path = tmp_path / "customers.csv"
    path.write_text("email,first_name\na@example.com,A\nb@example.com,B\n")
    job = Job.objects.create(
        kind="import_customers", params={"store_id": store.id, "path": str(path)}
    )
    return store, customer, job


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
