"""``/metrics`` under the production server (issue 21 item 6): gunicorn with two
workers in prometheus-client's multiprocess mode. Each worker counts in its own
file of ``PROMETHEUS_MULTIPROC_DIR`` and a scrape, whichever worker answers it,
sums them; a previous run's files are removed when gunicorn starts."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.core.test_gunicorn import database, serve  # noqa: F401  (fixtures)

REQUESTS = 20


def _healthz_count(server) -> float:
    status, body = server.request("GET", "/metrics")
    assert status == 200, body
    return sum(
        sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
        if sample.name == "couponhub_http_requests_total"
        and sample.labels["route"] == "healthz"
    )


def test_a_scrape_sums_every_gunicorn_worker(serve, tmp_path):  # noqa: F811
    folder = tmp_path / "prometheus"
    folder.mkdir()
    (folder / "counter_999999.db").write_bytes(b"a previous run's counts")

    server = serve(
        WEB_CONCURRENCY="2",
        WEB_THREADS="2",
        PROMETHEUS_MULTIPROC_DIR=str(folder),
        METRICS_ALLOWED_NETWORKS="127.0.0.0/8",
    )
    before = _healthz_count(server)
    for _ in range(REQUESTS):
        assert server.request("GET", "/healthz")[0] == 200
    after = _healthz_count(server)

    assert after - before == REQUESTS
    assert not (folder / "counter_999999.db").exists()
    workers = {path.stem.rsplit("_", 1)[1] for path in folder.glob("counter_*.db")}
    assert len(workers) == 2, sorted(folder.iterdir())
