"""Benchmark: validating a 50-line cart, ours against the ideal endpoint (issue 19).

Ours: ``POST /v1/stores/{id}/coupons/validate`` with ``code`` and a 50-line ``order``
(auth, input validation of every line, the redeem service's read of the coupon, the
rules, the cart calculation, the answer). The ideal (``bench/ideal``,
``/bench/ideal/validate-cart``): one read of the coupon's discount fields by code,
the same calculation (``coupons.redeem.cart.split``), a bare DRF view without auth
or validation. Both in process through Django's test client (the whole stack but the
socket), one client, interleaved in ``--rounds`` rounds of ``--requests`` requests
each; the medians of wall and CPU time per request, and the ratio ideal / ours (1.0:
as fast as the ideal).

It makes one store of its own (code ``bench-cart``) in the database it is given:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/couponhub_bench \\
        .venv/bin/python bench/cart_validate.py [--requests 300] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
os.environ["BENCH_IDEAL"] = "1"  # mounts bench/ideal at /bench/ (config/urls.py)
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("API_KEY_RATE_LIMIT", "off")  # as bench/run.py

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from coupons.models import Coupon  # noqa: E402
from stores.models import Store  # noqa: E402
from stores.scopes import ALL_SCOPES  # noqa: E402
from stores.services import api_key_create, store_create  # noqa: E402

STORE_CODE = "bench-cart"
LINES = 50
RESULTS = Path(__file__).resolve().parent / "results"


def prepare() -> tuple[Store, str]:
    call_command("migrate", verbosity=0)
    store = Store.objects.filter(code=STORE_CODE).first() or store_create(
        name="Bench cart", code=STORE_CODE, currency="EUR"
    )
    Coupon.objects.filter(store=store).delete()
    Coupon.objects.create(
        store=store,
        code="CART50",
        discount_type="percent",
        discount_amount=125,
        discount_apply_before_sales=True,
        apply_to_tags=["7", "9"],
        apply_to_products=[str(n) for n in range(1, 40, 3)],
    )
    token = api_key_create(store=store, scopes=list(ALL_SCOPES), name="bench").token
    return store, token


def cart() -> dict:
    return {
        "currency": "EUR",
        "lines": [
            {
                "id": f"l{n}",
                "product_id": str(n + 1),
                "tag_ids": [str(7 + n % 5)],
                "quantity": 1 + n % 4,
                "unit_price": 999 + 37 * n,
                **({"sale_unit_price": 899 + 37 * n} if n % 3 == 0 else {}),
            }
            for n in range(LINES)
        ],
    }


def measure(send, requests: int) -> tuple[float, float]:
    """Wall and CPU seconds per request of ``requests`` requests."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(requests):
        send()
    return (
        (time.perf_counter() - wall) / requests,
        (time.process_time() - cpu) / requests,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    store, token = prepare()
    order = cart()
    client = Client()
    ours_url = f"/v1/stores/{store.id}/coupons/validate"
    ours_body = json.dumps({"code": "cart50", "order": order})
    ideal_body = json.dumps({"store_id": store.id, "code": "cart50", "order": order})

    def ours():
        response = client.post(
            ours_url,
            ours_body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"APIKey {token}",
        )
        assert response.status_code == 200, response.content
        return response

    def ideal():
        response = client.post(
            "/bench/ideal/validate-cart", ideal_body, content_type="application/json"
        )
        assert response.status_code == 200, response.content
        return response

    mine, bare = ours().json(), ideal().json()
    assert mine["discount"] == bare["discount"]
    assert mine["lines"] == bare["lines"]
    for send in (ours, ideal):  # warm up
        measure(send, 20)
    rounds = {"ours": [], "ideal": []}
    for _ in range(args.rounds):
        rounds["ours"].append(measure(ours, args.requests))
        rounds["ideal"].append(measure(ideal, args.requests))
    medians = {
        side: {
            "wall_ms": statistics.median(w for w, _c in runs) * 1000,
            "cpu_ms": statistics.median(c for _w, c in runs) * 1000,
        }
        for side, runs in rounds.items()
    }
    ratio = {
        key: medians["ideal"][key] / medians["ours"][key]
        for key in ("wall_ms", "cpu_ms")
    }
    report = {
        "lines": LINES,
        "discount": mine["discount"],
        "requests": args.requests,
        "rounds": args.rounds,
        "database": django.db.connection.vendor,
        "medians": medians,
        "ratio_ideal_over_ours": ratio,
    }
    print(json.dumps(report, indent=2))
    RESULTS.mkdir(exist_ok=True)
    name = f"{datetime.now().astimezone():%Y-%m-%d}-cart-validate.json"
    (RESULTS / name).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
