"""Property: walking keyset pages visits every row exactly once, also while rows are
inserted between pages (the new rows are later ids, so an ascending walk picks them up
at its end and never repeats or skips a row)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.models import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _walk(paynow, url, *, limit, asc, inserts_per_page, store):
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = f"{url}?limit={limit}&asc={'true' if asc else 'false'}"
        if cursor:
            query += f"&{'after' if asc else 'before'}={cursor}"
        response = paynow.get(query)
        assert response.status_code == 200
        page = [item["id"] for item in response.json()]
        assert len(page) <= limit
        if not page:
            return seen
        seen.extend(page)
        cursor = page[-1]
        pages += 1
        if inserts_per_page and pages < 50:
            CustomerFactory.create_batch(inserts_per_page, store=store)


@SETTINGS
@given(
    rows=st.integers(min_value=0, max_value=30),
    limit=st.integers(min_value=1, max_value=12),
    asc=st.booleans(),
)
def test_walking_pages_visits_each_row_once(paynow, store, rows, limit, asc):
    Customer.objects.filter(store=store).delete()
    created = [str(c.id) for c in CustomerFactory.create_batch(rows, store=store)]
    seen = _walk(
        paynow,
        f"/v1/stores/{store.id}/customers",
        limit=limit,
        asc=asc,
        inserts_per_page=0,
        store=store,
    )
    assert seen == (created if asc else created[::-1])


@SETTINGS
@given(
    rows=st.integers(min_value=1, max_value=20),
    limit=st.integers(min_value=1, max_value=8),
    inserts=st.integers(min_value=1, max_value=3),
)
def test_ascending_walk_while_rows_are_inserted(paynow, store, rows, limit, inserts):
    Customer.objects.filter(store=store).delete()
    CustomerFactory.create_batch(rows, store=store)
    seen = _walk(
        paynow,
        f"/v1/stores/{store.id}/customers",
        limit=limit,
        asc=True,
        inserts_per_page=inserts,
        store=store,
    )
    assert len(seen) == len(set(seen))
    everything = list(
        Customer.objects.filter(store=store).order_by("id").values_list("id", flat=True)
    )
    assert seen == [str(i) for i in everything]


@SETTINGS
@given(
    rows=st.integers(min_value=1, max_value=20),
    limit=st.integers(min_value=1, max_value=8),
    inserts=st.integers(min_value=1, max_value=3),
)
def test_descending_walk_ignores_newer_rows(paynow, store, rows, limit, inserts):
    Customer.objects.filter(store=store).delete()
    original = [str(c.id) for c in CustomerFactory.create_batch(rows, store=store)]
    seen = _walk(
        paynow,
        f"/v1/stores/{store.id}/customers",
        limit=limit,
        asc=False,
        inserts_per_page=inserts,
        store=store,
    )
    # Newest first, paging with before=: rows inserted meanwhile are newer than
    # every cursor, so the walk sees exactly the rows that existed when it began.
    assert seen == original[::-1]
