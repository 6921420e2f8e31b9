"""``/metrics`` under the production server (issue 21 item 6): gunicorn with two
workers in prometheus-client's multiprocess mode. Each worker counts in its own
file of ``PROMETHEUS_MULTIPROC_DIR`` and a scrape, whichever worker answers it,
sums them (requests to unmatched paths: only this test makes them); a previous
run's files are removed when gunicorn starts."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from prometheus_client.parser import text_string_to_metric_families

from tests.core.test_gunicorn import database, serve  # noqa: F401  (fixtures)

REQUESTS = 40


def _unmatched_count(server) -> float:
    """Requests to paths no route matches: only this test's (the server's start
    polls /healthz, and a poll that timed out may still be counted later)."""
    status, body = server.request("GET", "/metrics")
    assert status == 200, body
    return sum(
        sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
        if sample.name == "couponhub_http_requests_total"
        and sample.labels["route"] == "unmatched"
    )


def test_a_scrape_sums_every_gunicorn_worker(serve, tmp_path):  # noqa: F811
    folder = tmp_path / "prometheus"
    folder.mkdir()
    (folder / "counter_999999.db").write_bytes(b"a previous run's counts")

    server = serve(
        # One thread each: concurrent requests have to spread over both workers.
        WEB_CONCURRENCY="2",
        WEB_THREADS="1",
        PROMETHEUS_MULTIPROC_DIR=str(folder),
        METRICS_ALLOWED_NETWORKS="127.0.0.0/8",
    )
    before = _unmatched_count(server)
    # gunicorn answers as soon as its first worker is up; the second may still be
    # starting (a fresh machine compiles every module), so bursts are sent until
    # both have served some.
    sent, workers = 0, set()
    deadline = time.monotonic() + 60
    while len(workers) < 2 and time.monotonic() < deadline:
        with ThreadPoolExecutor(8) as clients:
            statuses = list(
                clients.map(
                    lambda n: server.request("GET", f"/no/such/page/{n}")[0],
                    range(REQUESTS),
                )
            )
        assert statuses == [404] * REQUESTS
        sent += REQUESTS
        workers = _workers_counted(folder)
    after = _unmatched_count(server)

    assert after - before == sent
    assert not (folder / "counter_999999.db").exists()
    assert len(workers) == 2, sorted(folder.iterdir())


def _workers_counted(folder) -> set[str]:
    return {path.stem.rsplit("_", 1)[1] for path in folder.glob("counter_*.db")}
