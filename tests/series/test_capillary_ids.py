"""Capillary ids a JavaScript or Java client reads right (issue 17 item 1).

JavaScript reads a JSON number as a double (exact up to 2^53-1); clients generated from
Capillary's OpenAPI read ``integer`` as int32. Every body of the dialect is parsed here
as such clients parse it: by Node itself (``node -e``), and walked for every integer
and every id (DESIGN.md, IDs; ``core.compact``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from core import compact
from coupons.models import Coupon, Redemption
from customers.importer import import_customers
from customers.models import Customer
from series.models import Series
from stores.scopes import PRICE_RULES
from tests.concurrency import post_at_once
from tests.factories import ApiKeyFactory, CouponFactory, CustomerFactory
from tests.series.conftest import ISSUE_URL, SERIES_URL, capillary_client, make_series

pytestmark = pytest.mark.django_db

MAX_SAFE = 2**53 - 1
MAX_INT32 = 2**31 - 1
NODE = shutil.which("node") or shutil.which("nodejs")
needs_node = pytest.mark.skipif(
    NODE is None, reason="Node (Debian's nodejs) is not installed"
)
V11_COUPONS = "/v1.1/customer/coupons"
REDEEM = "/v1.1/coupon/redeem"
CHECK = "/v1.1/coupon/isredeemable"
TOKEN = "/v3/oauth/token/generate"
RECEIVE = "/openapi/2022-01/coupons/receive"


def node_read(raw: bytes, expression: str) -> list[list[Any]]:
    """``expression`` (JavaScript over the parsed body ``b``, a list of numbers)
    evaluated by Node after its own ``JSON.parse`` of the raw response: each number
    as Node prints it, and whether it is a safe integer."""
    script = (
        "const b = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        f"const ids = {expression};"
        "process.stdout.write(JSON.stringify("
        "ids.map((v) => [String(v), Number.isSafeInteger(v)])));"
    )
    done = subprocess.run(
        [NODE, "-e", script], input=raw, capture_output=True, check=True, timeout=60
    )
    return json.loads(done.stdout)


def issue(api: APIClient, series_id: int, customer: dict, count: int):
    return api.post(
        ISSUE_URL,
        {"seriesId": series_id, "count": count, "customer": customer},
        format="json",
    )


# --- Node parses the real bodies ------------------------------------------------------


@needs_node
def test_node_reads_the_issued_coupon_ids_distinct_and_exact(capillary, customer):
    series = make_series(customer.store)

    response = issue(capillary, series.compact_id, {"mobile": customer.mobile}, 3)

    assert response.status_code == 200
    read = node_read(
        response.content,
        "[...b.coupons.map((c) => c.couponId), b.couponConfig.id, b.customer.id, "
        "b.customer.profiles[0].userId]",
    )
    issued = Coupon.objects.filter(series=series, pooled=False).order_by("id")
    expected = [
        *(str(c.compact_id) for c in issued),
        str(series.compact_id),
        str(customer.compact_id),
        str(customer.compact_id),
    ]
    assert read == [[value, True] for value in expected]
    assert len({value for value, _ in read[:3]}) == 3
    assert all(int(value) <= MAX_INT32 for value, _ in read)


@needs_node
def test_node_reads_series_and_v11_ids_exact(capillary, customer, store):
    first, second = make_series(store), make_series(store)
    issue(capillary, first.compact_id, {"id": customer.compact_id}, 1)

    series = capillary.get(f"{SERIES_URL}?ids={second.compact_id},{first.compact_id}")
    listed = capillary.get(V11_COUPONS, {"id": str(customer.compact_id)})

    assert node_read(series.content, "b.entity.map((s) => s.id)") == [
        [str(second.compact_id), True],
        [str(first.compact_id), True],
    ]
    coupon = listed.json()["response"]["customers"]["customer"][0]["coupons"]
    assert coupon["coupon"][0]["series_id"] == str(first.compact_id)
    assert node_read(
        listed.content,
        "[Number(b.response.customers.customer[0].id),"
        " Number(b.response.customers.customer[0].coupons.coupon[0].id)]",
    ) == [
        [str(customer.compact_id), True],
        [str(Coupon.objects.get(series=first, pooled=False).compact_id), True],
    ]


# --- ids given back -------------------------------------------------------------------


def test_ids_a_client_got_are_taken_back_everywhere(capillary, store, customer):
    created = capillary.post(
        SERIES_URL,
        {
            "description": "Back",
            "discountType": "ABS",
            "discountValue": 5,
            "validTillDate": "2099-12-31",
        },
        format="json",
    ).json()["entity"]
    series = Series.objects.get(compact_id=created["id"])

    issued = issue(capillary, created["id"], {"mobile": customer.mobile}, 1).json()
    customer_id = issued["customer"]["id"]
    again = issue(capillary, created["id"], {"id": customer_id}, 1)
    got = capillary.get(f"{SERIES_URL}?ids={created['id']}").json()["entity"]
    listed = capillary.get(
        V11_COUPONS, {"id": str(customer_id), "series_id": str(created["id"])}
    ).json()["response"]
    code = issued["coupons"][0]["code"]
    redeemed = capillary.post(
        REDEEM,
        {"root": {"coupon": [{"code": code, "customer": {"id": customer_id}}]}},
        format="json",
    ).json()["response"]["coupons"]["coupon"][0]
    checked = capillary.get(
        CHECK, {"id": str(customer_id), "code": code, "details": "true"}
    ).json()["response"]["coupons"]["redeemable"][0]

    assert issued["couponConfig"]["id"] == created["id"] == series.compact_id
    assert customer_id == customer.compact_id
    assert again.status_code == 200
    assert again.json()["customer"]["id"] == customer.compact_id
    assert [item["id"] for item in got] == [series.compact_id]
    assert listed["pagination"]["total"] == 2
    redemption = Redemption.objects.get()
    assert redeemed["redemption_id"] == str(redemption.compact_id)
    assert redeemed["customer"]["id"] == str(customer.compact_id)
    assert checked["customer"]["id"] == str(customer.compact_id)
    assert checked["coupon_details"]["series_id"] == str(series.compact_id)


def test_the_flake_ids_shown_before_are_still_taken(capillary, store, customer):
    series = make_series(store)

    response = issue(capillary, series.id, {"id": customer.id}, 1)
    got = capillary.get(f"{SERIES_URL}?ids={series.id}")
    listed = capillary.get(V11_COUPONS, {"id": str(customer.id)})

    assert response.status_code == 200
    assert response.json()["customer"]["id"] == customer.compact_id
    assert [s["id"] for s in got.json()["entity"]] == [series.compact_id]
    assert listed.json()["response"]["pagination"]["total"] == 1


def test_another_stores_compact_ids_are_not_found(capillary, store, customer):
    theirs = make_series(CustomerFactory().store)
    stranger = CustomerFactory()

    series_response = issue(capillary, theirs.compact_id, {"id": customer.id}, 1)
    customer_response = issue(
        capillary, make_series(store).compact_id, {"id": stranger.compact_id}, 1
    )

    assert series_response.status_code == 400
    assert series_response.json()["errors"][0]["code"] == 707
    assert customer_response.status_code == 400
    assert customer_response.json()["errors"][0]["code"] == 701


# --- every integer of every body ------------------------------------------------------


def _walk(value: Any, key: str = "") -> list[tuple[str, Any]]:
    """Every (key, scalar) of a body."""
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in _walk(v, k)]
    if isinstance(value, list):
        return [pair for item in value for pair in _walk(item, key)]
    return [(key, value)]


def _is_id(key: str) -> bool:
    return key == "id" or key.endswith(("Id", "_id"))


def test_every_integer_of_the_capillary_bodies_is_safe_and_every_id_int32(
    client, store, customer, till
):
    capillary = capillary_client(till)
    CouponFactory(store=store, code="PLAIN")
    shoplazza = APIClient()
    shoplazza.credentials(
        HTTP_ACCESS_TOKEN=ApiKeyFactory(store=store, scopes=[PRICE_RULES]).token
    )
    bodies = []

    def keep(response) -> dict:
        bodies.append(response.json())
        return response.json()

    created = keep(
        capillary.post(
            SERIES_URL,
            {
                "description": "Walk",
                "discountType": "PERC",
                "discountValue": 10,
                "validTillDate": "2099-12-31",
                "maxCreate": 1000,
            },
            format="json",
        )
    )["entity"]
    keep(capillary.get(f"{SERIES_URL}?ids={created['id']},42"))
    issued = keep(issue(capillary, created["id"], {"mobile": customer.mobile}, 3))
    keep(issue(capillary, created["id"] + 10**6, {"mobile": customer.mobile}, 1))
    shoplazza.post(
        RECEIVE,
        {
            "customer_id": str(customer.id),
            "coupon_ids": [str(Coupon.objects.get(code="PLAIN").id)],
        },
        format="json",
    )
    code = issued["coupons"][0]["code"]
    keep(
        capillary.post(
            REDEEM,
            {
                "root": {
                    "coupon": [
                        {
                            "code": code,
                            "customer": {"mobile": customer.mobile},
                            "transaction": {"number": "T1", "amount": "100"},
                        },
                        {"code": "NOPE", "customer": {"mobile": customer.mobile}},
                    ]
                }
            },
            format="json",
        )
    )
    keep(capillary.get(V11_COUPONS, {"mobile": customer.mobile}))
    keep(capillary.get(V11_COUPONS, {"mobile": "0000"}))
    keep(
        capillary.get(
            CHECK,
            {"mobile": customer.mobile, "code": f"{code},PLAIN", "details": "true"},
        )
    )
    keep(client.post(TOKEN, {"key": till.key_id, "secret": till.secret}, "json"))

    assert issued["successCount"] == 3
    pairs = [pair for body in bodies for pair in _walk(body)]
    integers = [(k, v) for k, v in pairs if type(v) is int]
    ids = [
        (k, int(v))
        for k, v in pairs
        if _is_id(k) and (type(v) is int or (isinstance(v, str) and v.isdigit()))
    ]
    assert integers
    assert ids
    assert [(k, v) for k, v in integers if abs(v) > MAX_SAFE] == []
    assert [(k, v) for k, v in ids if v > MAX_INT32] == []
    assert {k for k, _ in ids} >= {"id", "couponId", "userId", "series_id"}


# --- every write path numbers its rows ------------------------------------------------


def _distinct_and_set(values: list) -> None:
    assert None not in values
    assert all(0 < value <= MAX_INT32 for value in values)
    assert len(set(values)) == len(values)


def test_generated_pools_imports_and_factories_get_compact_ids(store):
    series = make_series(store)  # its pool: COPY on PostgreSQL, bulk_create on SQLite
    result = import_customers(
        store=store,
        rows=[(n, {"email": f"imported{n}@example.com"}) for n in range(2, 40)],
    )
    made = CustomerFactory.create_batch(3, store=store)

    assert result.created == 38
    pool = list(Coupon.objects.filter(series=series).values_list("compact_id"))
    assert len(pool) > 10
    _distinct_and_set([value for (value,) in pool])
    _distinct_and_set(list(Customer.objects.values_list("compact_id", flat=True)))
    assert [c.compact_id for c in made] == sorted(c.compact_id for c in made)
    assert compact.allocate(Customer, 2)[0] > max(c.compact_id for c in made)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_never_share_a_compact_id(store, till):
    assert connection.vendor == "postgresql"
    body = {
        "description": "Race",
        "discountType": "ABS",
        "discountValue": 1,
        "validTillDate": "2099-12-31",
        "genericCode": "",
    }
    for trial in range(3):
        results = post_at_once(
            lambda: capillary_client(till),
            SERIES_URL,
            [{**body, "description": f"Race {trial}.{n}"} for n in range(8)],
        )
        assert [status for status, _ in results] == [200] * 8
        ids = [answer["entity"]["id"] for _, answer in results]
        _distinct_and_set(ids)
    _distinct_and_set(list(Series.objects.values_list("compact_id", flat=True)))
    _distinct_and_set(list(Coupon.objects.values_list("compact_id", flat=True)))
