"""Rate limits and cache faults through real gunicorn processes (issue 16, items 6, 7).

gunicorn serves ``config.wsgi`` with the production settings (``config.settings.base``,
DEBUG off) on a SQLite file made for this module, with ``CACHE_URL`` pointing at the
real Redis (DB 5), at a closed port, or at a socket that never answers. Before the
fix: 4 workers on Redis let a burst past a key's limit of 10 (DRF's read-then-write
throttle); a dead Redis made every authenticated call an HTML 500; a silent one cost
5 s per call; and gunicorn started with a per-process cache without a word.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.concurrency import race
from tests.stores.cache_servers import (
    REDIS_URL,
    black_hole,
    closed_port,
    flush_redis_db5,
    needs_redis,
)

ROOT = Path(__file__).resolve().parents[2]

SETUP = """
import json
import django
django.setup()
from tests.factories import (
    ApiKeyFactory, CouponFactory, CustomerFactory, LegacyDefinitionFactory,
    SeriesFactory, StoreFactory,
)
store = StoreFactory()
keys = []
for rate in ("10/day", "10/day", "10/day", "1000/min"):
    key = ApiKeyFactory(store=store)
    key.rate_limit = rate
    key.save()
    keys.append({"token": key.token, "key_id": key.key_id, "secret": key.secret})
customer = CustomerFactory(store=store, email="ada@example.com")
print(json.dumps({
    "store": store.id,
    "keys": keys,
    "customer": customer.id,
    "coupon": CouponFactory(store=store).id,
    "series": SeriesFactory(store=store).id,
    "definition": str(LegacyDefinitionFactory(store=store).uuid),
}))
"""


def _env(database: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CACHE_", "DEBUG", "PYTEST"))
        and key != "DATABASE_URL"
    }
    env.update(
        DATABASE_URL=f"sqlite:///{database}",
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        DJANGO_SETTINGS_MODULE="config.settings.base",
        **extra,
    )
    return env


@pytest.fixture(scope="module")
def world() -> Iterator[dict]:
    """A migrated SQLite file with a store, its keys and one row per dialect."""
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "db.sqlite3"
        env = _env(database)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        made = subprocess.run(
            [sys.executable, "-c", SETUP],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        yield {**json.loads(made.stdout.strip().splitlines()[-1]), "db": database}


class Server:
    def __init__(self, port: int, process: subprocess.Popen, log: Path) -> None:
        self.port, self.process, self.log = port, process, log

    def request(
        self, method: str, path: str, body: dict | None = None, **headers: str
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            conn.request(
                method,
                path,
                body=payload,
                headers={"Content-Type": "application/json", **headers},
            )
            response = conn.getresponse()
            return (
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
            )
        finally:
            conn.close()


@contextmanager
def gunicorn(world: dict, workers: int, **env: str) -> Iterator[Server]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = Path(world["db"]).with_name(f"gunicorn-{port}.log")
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                str(workers),
                "-b",
                f"127.0.0.1:{port}",
                "--timeout",
                "60",
                "config.wsgi",
            ],
            cwd=ROOT,
            env=_env(world["db"], **env),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = Server(port, process, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                status, _, _ = server.request("GET", "/healthz")
                if status in (200, 503):
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not come up"
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _basic(key: dict) -> str:
    digest = hashlib.md5(key["secret"].encode(), usedforsecurity=False).hexdigest()
    return "Basic " + base64.b64encode(f"{key['key_id']}:{digest}".encode()).decode()


def test_four_workers_let_at_most_the_limit_through(world):
    needs_redis()
    flush_redis_db5()
    try:
        with gunicorn(world, 4, CACHE_URL=REDIS_URL) as server:
            path = f"/v1/stores/{world['store']}/coupons"
            # Three keys limited to 10/day (a window no burst straddles), each hit
            # by 30 requests at once (three bursts), from threads spread over the 4
            # workers.
            for key in world["keys"][:3]:
                auth = {"Authorization": f"APIKey {key['token']}"}
                results = race(
                    30, lambda _i, auth=auth: server.request("GET", path, **auth)
                )
                statuses = sorted(status for status, _, _ in results)
                assert statuses == [200] * 10 + [429] * 20
                remaining = sorted(
                    int(h["ratelimit-remaining"]) for s, h, _ in results if s == 200
                )
                assert remaining == list(range(10))
                for status, headers, body in results:
                    if status == 429:
                        assert int(headers["retry-after"]) >= 1
                        assert headers["ratelimit-limit"] == "10"
                        parsed = json.loads(body)
                        assert (parsed["status"], parsed["code"]) == (
                            429,
                            "too-many-requests",
                        )
    finally:
        flush_redis_db5()


def _every_dialect(server: Server, world: dict) -> dict[str, tuple[int, dict]]:
    key = world["keys"][3]
    store = world["store"]
    calls = {
        "paynow": (
            "GET",
            f"/v1/stores/{store}/coupons",
            None,
            "APIKey " + key["token"],
        ),
        "native": (
            "GET",
            f"/v1/stores/{store}/customers",
            None,
            "APIKey " + key["token"],
        ),
        "capillary_v2": (
            "GET",
            f"/v2/coupon/series?ids={world['series']}",
            None,
            _basic(key),
        ),
        "capillary_v11": (
            "GET",
            "/v1.1/customer/coupons?email=ada@example.com",
            None,
            _basic(key),
        ),
        "newstore": (
            "GET",
            f"/v0/d/coupon_definitions/{world['definition']}",
            None,
            "Bearer " + key["token"],
        ),
    }
    results = {}
    for name, (method, path, body, authorization) in calls.items():
        status, _, raw = server.request(method, path, body, Authorization=authorization)
        results[name] = (status, json.loads(raw))
    status, _, raw = server.request(
        "POST",
        "/openapi/2022-01/coupons/receive",
        {"customer_id": str(world["customer"]), "coupon_ids": [str(world["coupon"])]},
        **{"Access-Token": key["token"]},
    )
    results["shoplazza"] = (status, json.loads(raw))
    status, _, raw = server.request(
        "POST",
        "/v3/oauth/token/generate",
        {"key": key["key_id"], "secret": key["secret"]},
    )
    results["capillary_oauth"] = (status, json.loads(raw))
    return results


def _assert_served(results: dict) -> None:
    assert {name: status for name, (status, _) in results.items()} == dict.fromkeys(
        results, 200
    ), results
    assert results["capillary_oauth"][1]["data"]["ttlSeconds"] == 300
    assert results["capillary_v11"][1]["response"]["status"]["success"] == "true"
    assert results["native"][1][0]["email"] == "ada@example.com"


def test_a_dead_redis_leaves_every_dialect_serving_under_gunicorn(world):
    with closed_port() as url, gunicorn(world, 2, CACHE_URL=url) as server:
        for _round in range(2):
            _assert_served(_every_dialect(server, world))
        status, _, raw = server.request("GET", "/healthz")
        assert (status, json.loads(raw)) == (
            200,
            {"status": "degraded", "database": "up", "cache": "down"},
        )
    log = server.log.read_text()
    assert "cache unavailable (ConnectionError" in log
    assert "Internal Server Error" not in log


def test_a_silent_redis_costs_each_call_a_short_wait_under_gunicorn(world):
    with (
        black_hole() as url,
        gunicorn(world, 2, CACHE_URL=url, CACHE_RETRY_SECONDS="0") as server,
    ):
        started = time.monotonic()
        results = _every_dialect(server, world)
        elapsed = time.monotonic() - started
        _assert_served(results)
    # 7 calls, each trying the silent cache (no pause between tries here): at most
    # the 0.25 s timeout each, where redis-py's default waited 5 s per call.
    assert elapsed < 15
    assert "cache unavailable (TimeoutError" in server.log.read_text()


def test_gunicorn_warns_at_start_when_the_cache_is_per_process(world):
    with gunicorn(world, 1) as server:
        status, _, raw = server.request("GET", "/healthz")
        assert (status, json.loads(raw)["cache"]) == (200, "local")
    assert "core.W001" in server.log.read_text()
