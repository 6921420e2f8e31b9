"""A gunicorn worker killed in the middle of a write sent with an Idempotency-Key:
nothing is written, and the key does not get stuck (DESIGN.md invariant 7).

The app runs in a real gunicorn process against the test database, which these tests
commit to. Another connection holds the coupon's row, so the redemption is
mid-flight (its transaction waiting on that lock) when the worker is killed.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from coupons.models import Coupon, Redemption
from stores.models import IdempotencyKey, IdempotencyStatus
from tests.concurrency import dsn
from tests.factories import ApiKeyFactory, CouponFactory, StoreFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 2  # the server's IDEMPOTENCY_WAIT_SECONDS


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """``gunicorn -w 1`` serving config.wsgi on the test database."""

    def __init__(self, port: int, process: subprocess.Popen) -> None:
        self.port, self.process = port, process

    def request(
        self, method: str, path: str, body: dict | None = None, **headers: str
    ) -> tuple[int, dict, dict]:
        """(status, headers, JSON body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            sent = {"Content-Type": "application/json", **headers}
            conn.request(method, path, body=payload, headers=sent)
            response = conn.getresponse()
            data = response.read()
            return (
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                json.loads(data) if data else {},
            )
        finally:
            conn.close()

    def workers(self) -> list[int]:
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [int(child) for child in children]

    def wait_ready(self, *, not_pid: int | None = None, timeout: float = 60) -> int:
        """The pid of the (new) worker, once it answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "gunicorn exited"
            workers = [pid for pid in self.workers() if pid != not_pid]
            if workers:
                try:
                    status, _, _ = self.request("GET", "/healthz")
                except OSError:
                    status = None
                if status == 200:
                    return workers[0]
            time.sleep(0.1)
        raise AssertionError("the gunicorn worker did not come up")


@contextmanager
def gunicorn() -> Iterator[Server]:
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{connection.settings_dict['NAME']}"
        ),
        "DB_CONN_MAX_AGE": "0",
        "IDEMPOTENCY_WAIT_SECONDS": str(WAIT_SECONDS),
        "CACHE_URL": "",
    }
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
            "config.wsgi",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = Server(port, process)
    try:
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def holding_row(coupon_id: int) -> Iterator[psycopg.Connection]:
    """Lock the coupon's row from another connection until the block ends."""
    with psycopg.connect(**dsn()) as holder:
        holder.execute(
            "SELECT id FROM coupons_coupon WHERE id = %s FOR UPDATE", [coupon_id]
        )
        try:
            yield holder
        finally:
            holder.rollback()


def _backends_waiting_on_a_lock() -> list[int]:
    with psycopg.connect(**dsn(), autocommit=True) as probe:
        rows = probe.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchall()
    return [pid for (pid,) in rows]


def _until(predicate, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting until {what}")


def _backend_alive(pid: int) -> bool:
    with psycopg.connect(**dsn(), autocommit=True) as probe:
        row = probe.execute(
            "SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]
        ).fetchone()
    return row is not None


class Sent(threading.Thread):
    """A request sent from its own thread; ``outcome`` is its answer or error."""

    def __init__(self, server: Server, *args, **kwargs) -> None:
        super().__init__(daemon=True)
        self.server, self.args, self.kwargs = server, args, kwargs
        self.outcome = None

    def run(self) -> None:
        try:
            self.outcome = self.server.request(*self.args, **self.kwargs)
        except (OSError, http.client.HTTPException) as exc:
            self.outcome = exc


@pytest.fixture
def shop():
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    coupon = CouponFactory(
        store=store,
        code="KILLED",
        redeem_limit_store_enabled=True,
        redeem_limit_store_amount=5,
    )
    return store, key, coupon


def _redeem(store, key, idempotency_key: str):
    return (
        "POST",
        f"/v1/stores/{store.id}/redemptions",
        {"code": "KILLED"},
    ), {"Authorization": f"APIKey {key.token}", "Idempotency-Key": idempotency_key}


def _kill_mid_flight(server: Server, store, key) -> int:
    """Send the redemption with key K while its row is held, kill -9 the worker
    serving it; the killed request's database backend pid."""
    args, headers = _redeem(store, key, "K")
    worker = server.wait_ready()
    first = Sent(server, *args, **headers)
    first.start()
    (backend,) = _until(
        _backends_waiting_on_a_lock, timeout=30, what="the redemption waits"
    )
    os.kill(worker, signal.SIGKILL)
    first.join(timeout=30)
    assert isinstance(first.outcome, OSError | http.client.HTTPException)
    server.wait_ready(not_pid=worker)
    return backend


def test_a_retry_after_the_worker_was_killed_runs_once_and_then_replays(shop):
    store, key, coupon = shop
    args, headers = _redeem(store, key, "K")
    with gunicorn() as server:
        with holding_row(coupon.id):
            _kill_mid_flight(server, store, key)
        assert not Redemption.objects.exists()

        status, response_headers, body = server.request(*args, **headers)
        assert status == 200, body
        assert "idempotent-replayed" not in response_headers
        assert body["code"] == "KILLED"
        assert Redemption.objects.filter(coupon=coupon).count() == 1
        assert Coupon.objects.get(pk=coupon.pk).redeemed_count == 1

        again_status, again_headers, again = server.request(*args, **headers)
        assert (again_status, again) == (200, body)
        assert again_headers["idempotent-replayed"] == "true"
    assert Redemption.objects.filter(coupon=coupon).count() == 1
    record = IdempotencyKey.objects.get(store=store, key="K")
    assert (record.status, record.response_status) == (IdempotencyStatus.DONE, 200)


def test_the_key_is_free_as_soon_as_the_killed_request_is_gone(shop):
    """PostgreSQL notices the dead client while the row is still held, ends its
    transaction and frees K: the retry queues for the row like any request."""
    store, key, coupon = shop
    args, headers = _redeem(store, key, "K")
    with gunicorn() as server:
        with holding_row(coupon.id):
            backend = _kill_mid_flight(server, store, key)
            _until(
                lambda: not _backend_alive(backend),
                timeout=10,
                what="the killed request's transaction ends",
            )
            retry = Sent(server, *args, **headers)
            retry.start()
            # Past the key: the retry waits on the coupon's row, not on K.
            _until(_backends_waiting_on_a_lock, timeout=30, what="the retry waits")
            time.sleep(WAIT_SECONDS + 1)
            assert retry.is_alive()
        retry.join(timeout=30)
        status, _, body = retry.outcome
        assert status == 200, body
    assert Redemption.objects.filter(coupon=coupon).count() == 1
    assert Coupon.objects.get(pk=coupon.pk).redeemed_count == 1


@pytest.mark.parametrize(
    ("table", "trigger"),
    [
        # the COMMIT fails: a deferred check of the redemption
        ("coupons_redemption", "AFTER INSERT {on} DEFERRABLE INITIALLY DEFERRED"),
        # storing the response on the key's row fails
        ("stores_idempotencykey", "BEFORE UPDATE {on}"),
    ],
)
def test_a_guarded_write_that_cannot_be_kept_answers_503_and_keeps_nothing(
    shop, table, trigger
):
    """The guarded transaction fails at its end (a trigger raising a serialization
    failure): the dialect's 503, nothing kept, no transaction left open, and the
    retry runs."""
    from rest_framework.test import APIClient

    store, key, coupon = shop
    constraint = "CONSTRAINT " if "DEFERRED" in trigger else ""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused' USING ERRCODE = '40001'; END $$"
        )
        cursor.execute(
            f"CREATE {constraint}TRIGGER refuse "
            + trigger.format(on=f"ON {table}")
            + " FOR EACH ROW EXECUTE FUNCTION refuse()"
        )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"APIKey {key.token}")

    def redeem():
        return api.post(
            f"/v1/stores/{store.id}/redemptions",
            {"code": "KILLED"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="K",
        )

    try:
        response = redeem()
        assert response.status_code == 503
        body = response.json()
        assert (body["status"], body["code"]) == (503, "service-unavailable")
        assert not connection.in_atomic_block
        assert not Redemption.objects.exists()
        assert not IdempotencyKey.objects.exists()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER refuse ON {table}")
            cursor.execute("DROP FUNCTION refuse()")
    retry = redeem()
    assert retry.status_code == 200
    assert "Idempotent-Replayed" not in retry
    assert Redemption.objects.filter(coupon=coupon).count() == 1
