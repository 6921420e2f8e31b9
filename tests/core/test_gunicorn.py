"""The production server as configured (``config/gunicorn.py``), run for real.

A gunicorn on a free loopback port, serving a migrated SQLite file with one store
and key: no credential reaches its logs, and clients that send half a request do not
take ``/healthz`` down.
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
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
NO_SUCH = "00000000-0000-4000-8000-000000000000"

_MAKE_KEY = """
import json
from stores import services
store = services.store_create(name="Log test", code="log-test")
issued = services.api_key_create(
    store=store,
    scopes=["coupons:read", "coupons:write", "price_rules", "series", "legacy"],
)
print(json.dumps({"store": str(store.pk), "key_id": issued.api_key.key_id,
                  "secret": issued.secret, "token": issued.token}))
"""


@dataclass
class Key:
    store: str
    key_id: str
    secret: str
    token: str


@dataclass
class Server:
    port: int
    log: Path
    proc: subprocess.Popen

    def request(self, method: str, path: str, body=None, headers=None, timeout=5.0):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, payload, {**(headers or {})})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def stop(self) -> str:
        """Stop gunicorn (its log is then complete) and return the log."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.log.read_text()


def _env(database: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "DEBUG", "CACHE_URL", "WEB_THREADS"}
        and not key.startswith(("GUNICORN", "WEB_CONCURRENCY"))
    }
    env.update(
        DATABASE_URL=f"sqlite:///{database}",
        SECRET_KEY="gunicorn-test-" + "k" * 50,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> tuple[Path, Key]:
    path = tmp_path_factory.mktemp("gunicorn") / "db.sqlite3"
    env = {**_env(path), "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    manage = [sys.executable, "manage.py"]
    subprocess.run(
        [*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300
    )
    made = subprocess.run(
        [*manage, "shell", "-c", _MAKE_KEY],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return path, Key(**json.loads(made.stdout.strip().splitlines()[-1]))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(database: Path, tmp_path: Path, *args: str, **env: str) -> Server:
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(GUNICORN), "-c", "config/gunicorn.py", *args, "config.wsgi"],
            cwd=ROOT,
            env={**_env(database), "BIND": f"127.0.0.1:{port}", **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(port, log, proc)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if server.request("GET", "/healthz", timeout=2)[0] == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise AssertionError("gunicorn did not answer /healthz:\n" + log.read_text())


@pytest.fixture
def serve(database, tmp_path) -> Iterator:
    started: list[Server] = []

    def start(*args: str, **env: str) -> Server:
        server = _start(database[0], tmp_path, *args, **env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _every_credential_form(server: Server, key: Key) -> None:
    """One request in each auth form of every dialect, and the hostile one."""
    digest = hashlib.md5(key.secret.encode(), usedforsecurity=False).hexdigest()
    issue = {"seriesId": 1, "count": 1, "customer": {"mobile": "1"}}
    calls = [
        # Basic base64(<token>), no colon: what gunicorn used to print as the user.
        ("POST", "/v2/coupon/issue/multiple", issue, f"Basic {_b64(key.token)}"),
        ("POST", "/v2/coupon/issue/multiple", issue, f"Basic {_b64(key.secret)}"),
        (
            "POST",
            "/v2/coupon/issue/multiple",
            issue,
            f"Basic {_b64(key.key_id + ':' + digest)}",
        ),
        ("GET", f"/v1/stores/{key.store}/coupons", None, f"APIKey {key.token}"),
        ("GET", f"/v1/stores/{key.store}/coupons", None, key.token),
        ("GET", f"/v0/d/coupon_definitions/{NO_SUCH}", None, f"Bearer {key.token}"),
    ]
    statuses = []
    for method, path, body, authorization in calls:
        headers = {"Authorization": authorization, "Content-Type": "application/json"}
        statuses.append(server.request(method, path, body, headers)[0])
    statuses.append(
        server.request(
            "POST",
            "/openapi/2022-01/coupons/receive",
            {"customer_id": "1", "coupon_ids": []},
            {"Access-Token": key.token, "Content-Type": "application/json"},
        )[0]
    )
    statuses.append(
        server.request(
            "POST",
            "/v3/oauth/token/generate",
            {"key": key.key_id, "secret": key.secret},
            {"Content-Type": "application/json"},
        )[0]
    )
    # The real key was used: the requests got past authentication where they could.
    assert statuses[3:6] == [200, 200, 404], statuses
    assert statuses[0] == 401, statuses


def _assert_no_credential(log: str, key: Key) -> None:
    digest = hashlib.md5(key.secret.encode(), usedforsecurity=False).hexdigest()
    for secret in (key.secret, digest, _b64(key.token), _b64(key.secret)):
        assert secret not in log
    # The key id is not secret, but not even it is logged as the user.
    assert f" {key.key_id} [" not in log


def _malformed_header_lines(server: Server, key: Key) -> list[bytes]:
    """Raw requests whose credential header gunicorn refuses (400) and reports."""
    answers = []
    for line in (
        f"Authorization APIKey {key.token}",  # no colon
        f"Access-Token\t{key.token}",
        f"{key.token}",
        f"Authorization: APIKey {key.token}\r\n {key.secret}",  # obsolete folding
    ):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(
                b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + line.encode()
                + b"\r\n\r\n"
            )
            answers.append(sock.recv(64))
    return answers


def test_access_log_never_prints_a_credential(serve, database):
    key = database[1]
    server = serve(WEB_CONCURRENCY="1")

    _every_credential_form(server, key)
    refused = _malformed_header_lines(server, key)
    log = server.stop()

    assert all(answer.startswith(b"HTTP/1.1 400 ") for answer in refused), refused
    assert log.count("Invalid HTTP Header: a line without a colon (not logged)") == 3

    assert '"POST /v2/coupon/issue/multiple HTTP/1.1" 401' in log
    assert f'"GET /v1/stores/{key.store}/coupons HTTP/1.1" 200' in log
    access = [line for line in log.splitlines() if '" 401 ' in line]
    assert access
    assert all(line.startswith("127.0.0.1 - - [") for line in access), access
    _assert_no_credential(log, key)


def test_no_access_log_format_can_print_a_credential(serve, database):
    # An operator's own format, naming the user and every credential header as a
    # request header and as a WSGI variable: each prints as "-".
    key = database[1]
    hostile = (
        '%(u)s "%(r)s" %(s)s [%({authorization}i)s] [%({http_authorization}e)s] '
        "[%({access-token}i)s] [%({http_access_token}e)s] [%({cookie}i)s] "
        "[%({x-cap-api-oauth-token}i)s] [%({http_x_cap_api_oauth_token}e)s]"
    )
    server = serve("--access-logformat", hostile, WEB_CONCURRENCY="1")

    _every_credential_form(server, key)
    status, _ = server.request(
        "GET",
        f"/v0/d/coupon_definitions/{NO_SUCH}",
        headers={"X-CAP-API-OAUTH-TOKEN": key.token},
    )
    log = server.stop()

    assert status == 401
    assert f'- "GET /v1/stores/{key.store}/coupons HTTP/1.1" 200 [-] [-]' in log
    assert "[-] [-] [-] [-] [-] [-] [-]" in log
    _assert_no_credential(log, key)


def _half_open(port: int, index: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    if index % 2:
        # The headers, then half the body the request announced.
        sock.sendall(
            b"POST /v3/oauth/token/generate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            b'{"key": "'
        )
    else:
        # Half the headers.
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    return sock


@pytest.mark.parametrize("clients", [4, 8])
def test_half_open_connections_do_not_take_healthz_down(serve, clients):
    server = serve()  # the configuration's own workers and threads
    sockets = [_half_open(server.port, index) for index in range(clients)]
    try:
        time.sleep(1)  # every half request has reached a worker and waits there
        for _ in range(5):
            # Held workers would answer only after gunicorn's 30 s worker timeout;
            # 10 s tells the two apart on a busy 2-core CI machine too.
            status, body = server.request("GET", "/healthz", timeout=10)
            assert status == 200
            assert json.loads(body)["database"] == "up"
        # The half-open clients are still held, not dropped: they were the load.
        for sock in sockets:
            sock.setblocking(False)
            with pytest.raises(BlockingIOError):
                sock.recv(1)
    finally:
        for sock in sockets:
            sock.close()
