"""Request bodies sent with ``Transfer-Encoding: chunked`` (no ``Content-Length``),
through the production server (``config/gunicorn.py`` serving ``config.wsgi``).

gunicorn de-chunks them; ``config.wsgi.read_chunked_body`` reads them (at most one
byte past the body limit) before Django, which read them as empty: a chunked create
made a blank customer, a chunked PATCH answered 200 and changed nothing. Now they are
read as a body with a ``Content-Length`` is, and one over the limit is the dialect's
413, as a large ``Content-Length`` is.
"""

from __future__ import annotations

import http.client
import json
import socket

from tests.core.test_gunicorn import database, serve  # noqa: F401  (fixtures)

LIMIT = 1024 * 1024  # DATA_UPLOAD_MAX_MEMORY_SIZE
TOO_LARGE = f"The request body is larger than {LIMIT} bytes."


def _chunked(server, method, path, body: bytes, headers, chunk=7):
    """Send ``body`` over a socket in chunks of ``chunk`` bytes
    (``Transfer-Encoding: chunked``, no ``Content-Length``) and read the answer.

    The server may answer and close before the whole body is sent (it stops reading
    at the limit): the rest is then not sent."""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    for name, value in {**headers, "Transfer-Encoding": "chunked"}.items():
        head += f"{name}: {value}\r\n"
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        sock.sendall(head.encode() + b"\r\n")
        for start in range(0, len(body), chunk):
            piece = body[start : start + chunk]
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            except (BrokenPipeError, ConnectionResetError):
                break
        else:
            sock.sendall(b"0\r\n\r\n")
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, json.loads(response.read())
    finally:
        sock.close()


def _headers(authorization: str, request_id: str) -> dict[str, str]:
    return {
        "Authorization": authorization,
        "Content-Type": "application/json",
        "X-Request-ID": request_id,
    }


def test_chunked_bodies_are_read_and_acted_on(serve, database):  # noqa: F811
    key = database[1]
    server = serve(WEB_CONCURRENCY="1")
    headers = _headers(f"APIKey {key.token}", "chunked-create")
    customers = f"/v1/stores/{key.store}/customers"

    body = json.dumps({"first_name": "Chunky", "email": "chunky@example.com"})
    status, created = _chunked(server, "POST", customers, body.encode(), headers)
    assert status == 200, created
    assert (created["first_name"], created["email"]) == ("Chunky", "chunky@example.com")

    item = f"{customers}/{created['id']}"
    status, patched = _chunked(
        server, "PATCH", item, b'{"last_name": "Streamed"}', headers, chunk=3
    )
    assert status == 200, patched
    assert patched["last_name"] == "Streamed"

    status, raw = server.request("GET", item, headers=headers)
    stored = json.loads(raw)
    assert status == 200
    assert (stored["first_name"], stored["last_name"], stored["email"]) == (
        "Chunky",
        "Streamed",
        "chunky@example.com",
    )


def test_a_chunked_body_over_the_limit_is_the_dialects_413(serve, database):  # noqa: F811
    key = database[1]
    server = serve(WEB_CONCURRENCY="1")
    customers = f"/v1/stores/{key.store}/customers"
    # A JSON string of the limit and one byte more, then 10 MB: neither is read past
    # the limit, and neither writes a customer.
    for size in (LIMIT + 1, 10 * LIMIT):
        body = json.dumps({"first_name": "x" * size}).encode()
        status, answer = _chunked(
            server,
            "POST",
            customers,
            body,
            _headers(f"APIKey {key.token}", "chunked-413"),
            chunk=64 * 1024,
        )
        assert (status, answer) == (
            413,
            {
                "status": 413,
                "code": "payload-too-large",
                "message": TOO_LARGE,
                "trace_id": "chunked-413",
                "errors": None,
            },
        )

    status, answer = _chunked(
        server,
        "POST",
        "/v0/d/coupon_definitions",
        b'{"label": "' + b"x" * LIMIT + b'"}',
        _headers(f"Bearer {key.token}", "chunked-413"),
        chunk=64 * 1024,
    )
    assert (status, answer) == (
        413,
        {"error_code": "payload_too_large", "message": TOO_LARGE},
    )

    status, raw = server.request(
        "GET", customers, headers=_headers(f"APIKey {key.token}", "list")
    )
    assert status == 200
    assert all(len(c["first_name"]) < LIMIT for c in json.loads(raw)), raw
