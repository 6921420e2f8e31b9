"""The longest documented request line reaches the app under the production server
(``config/gunicorn.py``): v1.1 isredeemable with 50 codes in its query. gunicorn's
default ``limit_request_line`` (4,094) answered it with an HTML 414."""

from __future__ import annotations

import base64
import hashlib
import json
import socket

from tests.core.test_gunicorn import database, serve  # noqa: F401  (fixtures)

MOBILE = "9988776655"


def _basic(key) -> str:
    digest = hashlib.md5(key.secret.encode(), usedforsecurity=False).hexdigest()
    return "Basic " + base64.b64encode(f"{key.key_id}:{digest}".encode()).decode()


def _raw_get(server, target: str, authorization: str) -> tuple[bytes, bytes]:
    """The status line and the body of a GET of ``target``, sent as is."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: {authorization}\r\nConnection: close\r\n\r\n".encode()
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.split(b"\r\n", 1)[0], body


def _customer_not_found(codes: list[str]) -> dict:
    failure = {
        "success": "false",
        "status": "false",
        "code": 701,
        "message": "Customer could not be found. Check the mobile, email, or "
        "external ID passed.",
    }
    item = {
        "mobile": MOBILE,
        "is_redeemable": "false",
        "redemptions_left": None,
        "no_of_redemptions_by_user": 0,
        "coupon_value": None,
        "customer": {
            "mobile": MOBILE,
            "email": None,
            "external_id": None,
            "id": None,
        },
        "item_status": failure,
    }
    return {
        "response": {
            "status": {
                "success": "false",
                "code": 400,
                "message": "All requests have failed due to errors",
            },
            "coupons": {"redeemable": [{**item, "code": code} for code in codes]},
        }
    }


def test_isredeemable_with_fifty_long_codes_reaches_the_app(serve, database):  # noqa: F811
    key = database[1]
    server = serve(WEB_CONCURRENCY="1")
    # 50 codes of 99 characters, commas percent-encoded: a query of 5,154 characters
    # (the code parameter's own cap is 5,000 characters of codes and commas).
    codes = [f"C{n:03d}" + "X" * 95 for n in range(50)]
    target = f"/v1.1/coupon/isredeemable?mobile={MOBILE}&code=" + "%2C".join(codes)
    assert len(f"GET {target} HTTP/1.1") > 5_000

    status, body = _raw_get(server, target, _basic(key))

    assert status == b"HTTP/1.1 400 Bad Request", body
    assert json.loads(body) == _customer_not_found(codes)


def test_request_line_limit_is_gunicorns_maximum(serve, database):  # noqa: F811
    key = database[1]
    server = serve(WEB_CONCURRENCY="1")
    prefix = f"/v1.1/coupon/isredeemable?mobile={MOBILE}&code=A,"
    fixed = len("GET  HTTP/1.1")
    longest = prefix + "B" * (8190 - fixed - len(prefix))
    assert len(f"GET {longest} HTTP/1.1") == 8190

    status, body = _raw_get(server, longest, _basic(key))
    # The app answers it (its code parameter is too long: the v1.1 envelope).
    assert status == b"HTTP/1.1 400 Bad Request", body
    assert json.loads(body)["response"]["status"]["code"] == 400

    status, body = _raw_get(server, longest + "B", _basic(key))
    assert status == b"HTTP/1.1 414 URI Too Long", body
