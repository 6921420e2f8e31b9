"""The admin's big change lists read through indexes, on PostgreSQL (issue 22).

Every query of each big change list (unfiltered, filtered by store and by each other
filter, searched by code, email and id, sorted by each sortable column), for a
superuser and for staff of two stores, is captured and explained:

- no sequential scan of a big table. The plans are taken with ``enable_seqscan``
  off: the planner then still picks a sequential scan only when no index can serve
  the query at all, so the test finds a missing index without needing millions of
  rows (the tables here hold thousands, enough for the statistics);
- no sort of a big table's rows that an index condition did not find first (an
  ORDER BY no index serves);
- no COUNT of a big table but the capped one (``core.paginator``: at most 10,001 rows).

The coupon search is also explained as the planner sees it unprompted: an index
scan of the folded code.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from assignments.models import Assignment, Channel
from audit.models import AuditEvent
from coupons.models import Coupon, Hold, HoldState, Redemption, RedemptionLine
from customers.models import Customer
from jobs.models import Job, Status
from stores.models import StoreMembership
from tests.factories import StoreFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

BIG_TABLES = (
    "coupons_coupon",
    "customers_customer",
    "assignments_assignment",
    "coupons_redemption",
    "audit_auditevent",
    "jobs_job",
    "coupons_hold",
    "coupons_redemptionline",
)
COUPONS, CUSTOMERS, HOLDINGS, JOBS = 20_000, 3_000, 6_000, 1_000
VIEWED = (
    "coupon",
    "redemption",
    "assignment",
    "customer",
    "auditevent",
    "job",
    "hold",
    "redemptionline",
)


def _ids(n: int, base: int) -> list[int]:
    return [base + k for k in range(n)]


@pytest.fixture
def data():
    """Two stores, a big one and a small one; thousands of rows per table."""
    big, small = StoreFactory(code="big"), StoreFactory(code="small")
    now = timezone.now()
    stores = [big] * 19 + [small]
    customers = Customer.objects.bulk_create(
        Customer(
            id=k,
            store=stores[n % 20],
            first_name="C",
            email=f"c{n}@example.com",
            mobile=f"9{n:09d}",
            external_id=f"ext-{n}",
        )
        for n, k in enumerate(_ids(CUSTOMERS, 10**15))
    )
    coupons = Coupon.objects.bulk_create(
        Coupon(
            id=k,
            store=stores[n % 20],
            code=f"Code{n:06d}",
            enabled=n % 50 != 0,
            pooled=n % 3 == 0,
            archived_at=now if n % 97 == 0 else None,
        )
        for n, k in enumerate(_ids(COUPONS, 2 * 10**15))
    )
    issued = [c for c in coupons if not c.pooled][:HOLDINGS]
    holders = [customers[n % CUSTOMERS] for n in range(len(issued))]
    Assignment.objects.bulk_create(
        Assignment(
            id=k,
            store_id=c.store_id,
            coupon=c,
            customer=holders[n] if holders[n].store_id == c.store_id else None,
            channel=Channel.PAYNOW if n % 2 else Channel.CAPILLARY,
            transaction_number=f"T{n}",
        )
        for n, (k, c) in enumerate(
            zip(_ids(len(issued), 3 * 10**15), issued, strict=True)
        )
        if holders[n].store_id == c.store_id
    )
    redemptions = Redemption.objects.bulk_create(
        Redemption(
            id=k,
            store_id=c.store_id,
            coupon=c,
            customer=holders[n],
            transaction_number=f"R{n}",
            order_value=1000,
            discount_amount=100,
            rolled_back_at=now if n % 40 == 0 else None,
        )
        for n, (k, c) in enumerate(
            zip(_ids(len(issued), 4 * 10**15), issued, strict=True)
        )
        if holders[n].store_id == c.store_id
    )
    RedemptionLine.objects.bulk_create(
        RedemptionLine(
            id=7 * 10**15 + n,
            store_id=r.store_id,
            redemption=r,
            line_id=f"L{line}",
            quantity=1,
            unit_price=500,
            discount=50,
        )
        for n, (r, line) in enumerate((r, line) for r in redemptions for line in (1, 2))
    )
    # Holds: most ended (expired, released), a few active (2%), some redeemed (2%).
    states = [HoldState.EXPIRED] * 2 + [HoldState.RELEASED]
    Hold.objects.bulk_create(
        Hold(
            id=8 * 10**15 + n,
            store_id=r.store_id,
            coupon_id=r.coupon_id,
            customer_id=r.customer_id,
            expires_at=now + timedelta(minutes=15 if n % 50 == 25 else -15),
            state=(
                HoldState.REDEEMED
                if n % 50 == 0
                else HoldState.ACTIVE
                if n % 50 == 25
                else states[n % 3]
            ),
            redemption=r if n % 50 == 0 else None,
        )
        for n, r in enumerate(redemptions)
    )
    # The API's events (dense) and a few of staff and commands (rare values).
    AuditEvent.objects.bulk_create(
        AuditEvent(
            id=k,
            store_id=c.store_id,
            actor_type="api_key" if n % 100 else "user",
            action="create" if n % 2 else "redeem",
            channel="capillary" if n % 100 else "admin",
            object_type="coupon" if n % 2 else "redemption",
            object_id=c.id,
            coupon_id=c.id,
        )
        for n, (k, c) in enumerate(zip(_ids(COUPONS, 5 * 10**15), coupons, strict=True))
    )
    Job.objects.bulk_create(
        Job(
            id=k,
            store=stores[n % 20],
            kind="generate_codes",
            status=Status.SUCCEEDED if n % 9 else Status.FAILED,
            created_at=now - timedelta(minutes=n),
        )
        for n, k in enumerate(_ids(JOBS, 6 * 10**15))
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(BIG_TABLES))
    superuser = User.objects.create_superuser("root", password="x")
    staff = User.objects.create_user("two-stores", is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=[f"view_{m}" for m in VIEWED])
    )
    for store in (big, small):
        StoreMembership.objects.create(user=staff, store=store)
    return {
        "big": big,
        "small": small,
        "coupon": coupons[1],
        "customer": customers[7],
        "users": {"superuser": superuser, "staff of two stores": staff},
    }


def _explain(sql: str) -> str:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


_SCAN = re.compile(
    r"(Seq Scan|Index Only Scan|Index Scan|Bitmap Heap Scan)\S* on (\w+)"
)


def _problems(sql: str) -> list[str]:
    """What is wrong with one query's plan (nothing when it is fine)."""
    if not sql.startswith("SELECT") or not any(t in sql for t in BIG_TABLES):
        return []
    plan = _explain(sql)
    found = []
    lines = plan.splitlines()
    for n, line in enumerate(lines):
        scan = _SCAN.search(line)
        if scan and scan.group(2) in BIG_TABLES and scan.group(1) == "Seq Scan":
            found.append(f"sequential scan of {scan.group(2)}")
        if line.strip().startswith("->  Sort") or line.strip().startswith("Sort "):
            depth = len(line) - len(line.lstrip())
            below = []
            for deeper in lines[n + 1 :]:
                if len(deeper) - len(deeper.lstrip()) <= depth:
                    break
                below.append(deeper)
            text = "\n".join(below)
            reads_big = any(
                (m := _SCAN.search(b)) and m.group(2) in BIG_TABLES for b in below
            )
            if reads_big and "Index Cond" not in text and "Recheck Cond" not in text:
                found.append("a sort of rows no index condition found")
    if "COUNT(" in sql.upper() and "LIMIT" not in sql.upper():
        found.append("an uncapped COUNT")
    return [f"{problem}:\n{sql}\n{plan}" for problem in found]


def _pages(admin_name: str, data) -> list[dict]:
    from django.contrib import admin

    big, small = data["big"], data["small"]
    coupon, customer = data["coupon"], data["customer"]
    model_admin = next(
        a
        for m, a in admin.site._registry.items()
        if f"{m._meta.app_label}_{m._meta.model_name}" == admin_name
    )
    pages = [
        {},
        {"store__id__exact": big.pk},
        {"store__id__exact": small.pk},
        {"q": coupon.code.lower()},
        {"q": coupon.code, "store__id__exact": big.pk},
        {"q": customer.email.upper()},
        {"q": str(coupon.pk)},
        {"q": "T12"},
        {"q": "no such thing"},
    ]
    # Every choice of every filter offered without a store and with one.
    for params in ({}, {"store__id__exact": big.pk}):
        request = _request(data["users"]["superuser"], params)
        changelist = model_admin.get_changelist_instance(request)
        for spec in changelist.filter_specs:
            for choice in spec.choices(changelist):
                query = choice["query_string"].lstrip("?")
                if query:
                    pages.append(dict(p.split("=", 1) for p in query.split("&")))
    # Every sortable column, both ways.
    request = _request(data["users"]["superuser"], {})
    for n, name in enumerate(model_admin.get_list_display(request)):
        if name in model_admin.get_sortable_by(request):
            pages += [{"o": str(n)}, {"o": f"-{n}"}]
    return pages


def _request(user, params):
    from django.test import RequestFactory

    request = RequestFactory().get("/", params)
    request.user = user
    return request


@pytest.mark.parametrize(
    "admin_name",
    [
        "coupons_coupon",
        "assignments_assignment",
        "coupons_redemption",
        "audit_auditevent",
        "customers_customer",
        "jobs_job",
        "coupons_hold",
        "coupons_redemptionline",
    ],
)
def test_every_page_of_a_big_change_list_reads_through_indexes(data, admin_name):
    url = reverse(f"admin:{admin_name}_changelist")
    problems = []
    pages = _pages(admin_name, data)
    for label, user in data["users"].items():
        client = Client()
        client.force_login(user)
        for params in pages:
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url, params)
            assert response.status_code == 200, (label, params)
            for query in captured.captured_queries:
                problems += [f"{label} {params}: {p}" for p in _problems(query["sql"])]

    assert len(pages) >= 9
    assert problems == [], "\n\n".join(problems)


def test_the_coupon_search_is_an_index_scan_of_the_folded_code(data, admin_client):
    coupon = data["coupon"]

    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(
            reverse("admin:coupons_coupon_changelist"), {"q": coupon.code.lower()}
        )

    assert list(response.context["cl"].result_list) == [coupon]
    lookup = next(
        q["sql"] for q in captured.captured_queries if "code_folded" in q["sql"]
    )
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + lookup)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Scan using coupon_code_folded_idx" in plan, plan
    assert "Seq Scan" not in plan, plan


@pytest.mark.parametrize(
    ("admin_name", "params", "index"),
    [
        ("coupons_coupon", {"enabled__exact": "0"}, "coupon_disabled_idx"),
        ("coupons_coupon", {"origin__exact": "manual"}, "coupon_manual_idx"),
        ("audit_auditevent", {"action": "update"}, "audit_rare_action_idx"),
        ("audit_auditevent", {"channel": "admin"}, "audit_rare_channel_idx"),
        ("audit_auditevent", {"channel": "command"}, "audit_rare_channel_idx"),
        ("audit_auditevent", {"actor_type": "user"}, "audit_rare_actor_idx"),
        ("audit_auditevent", {"actor_type": "internal"}, "audit_rare_actor_idx"),
        ("audit_auditevent", {"object_type": "series"}, "audit_rare_object_idx"),
        ("audit_auditevent", {"object_type": "api_key"}, "audit_rare_object_idx"),
        # Active holds: the state's index, or the limit checks' of active holds only.
        (
            "coupons_hold",
            {"state__exact": "active"},
            "hold_store_state_idx|hold_live_idx",
        ),
        ("coupons_hold", {"state__exact": "redeemed"}, "hold_store_state_idx"),
    ],
)
def test_a_rare_filter_value_reads_its_own_index(
    data, admin_client, admin_name, params, index
):
    """A rare value is not looked for among every coupon or event of the store, row
    by row, until a page of them is found: its rows have an index (issue 22)."""
    params = {**params, "store__id__exact": data["big"].pk}
    # Most coupons are generated codes, as in a store with series.
    Coupon.objects.exclude(pk=data["coupon"].pk).update(origin="generated")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE coupons_coupon")

    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(reverse(f"admin:{admin_name}_changelist"), params)

    assert response.status_code == 200
    table = admin_name
    reads = [
        q["sql"] for q in captured.captured_queries if f'FROM "{table}"' in q["sql"]
    ]
    assert len(reads) == 2  # the capped count and the page
    for sql in reads:
        plan = _explain(sql)
        assert re.search(rf"(using|on) ({index})\b", plan), plan
