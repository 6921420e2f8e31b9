"""When a hold is live (counts as a use): active and not past its end. The rule is
``coupons.models.live_hold``; the hot paths' SQL fragment
(``coupons.redeem.store.live_hold_sql``) and the predicate over a hold already read
(``coupons.redeem.decide.hold_live``) give the same answers, on every edge; the
active holds past their end (``HoldQuerySet.past_end``, what ``expire_holds`` marks)
are exactly the active ones that are not live."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from coupons.models import Hold, HoldState
from coupons.redeem import decide
from coupons.redeem.store import live_hold_sql
from tests.factories import CouponFactory, RedemptionFactory, StoreFactory

pytestmark = pytest.mark.django_db

AT = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
LATER = AT + timedelta(minutes=5)
EARLIER = AT - timedelta(seconds=1)
JUST_AFTER = AT + timedelta(microseconds=1)

# (name, state, expires_at, live at AT)
TABLE = [
    ("active, ends later", HoldState.ACTIVE, LATER, True),
    ("active, ends a microsecond later", HoldState.ACTIVE, JUST_AFTER, True),
    ("active, ends at that moment", HoldState.ACTIVE, AT, False),
    ("active, ended (not tidied)", HoldState.ACTIVE, EARLIER, False),
    ("expired (tidied)", HoldState.EXPIRED, EARLIER, False),
    ("released, would end later", HoldState.RELEASED, LATER, False),
    ("redeemed, would end later", HoldState.REDEEMED, LATER, False),
]


@pytest.fixture
def holds() -> dict[str, Hold]:
    store = StoreFactory()
    coupon = CouponFactory(store=store)
    made = {}
    for name, state, expires_at, _live in TABLE:
        redemption = (
            RedemptionFactory(coupon=coupon) if state == HoldState.REDEEMED else None
        )
        made[name] = Hold.objects.create(
            store=store,
            coupon=coupon,
            state=state,
            expires_at=expires_at,
            redemption=redemption,
        )
    return made


def test_the_orm_sql_and_plain_value_forms_of_live_agree(holds):
    expected = {holds[name].id for name, _s, _e, live in TABLE if live}
    everyone = {hold.id for hold in holds.values()}

    assert set(Hold.objects.live(at=AT).values_list("id", flat=True)) == expected
    not_live = set(Hold.objects.not_live(at=AT).values_list("id", flat=True))
    assert not_live == everyone - expected
    # What the tidy-up marks: the active holds that are not live, to the microsecond.
    active = {hold.id for hold in holds.values() if hold.state == HoldState.ACTIVE}
    past_end = set(Hold.objects.past_end(at=AT).values_list("id", flat=True))
    assert past_end == active - expected
    assert len(past_end) == 2

    live, params = live_hold_sql(AT)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT h.id FROM coupons_hold h WHERE {live}", params)
        assert {row[0] for row in cursor.fetchall()} == expected

    for hold in Hold.objects.all():
        assert decide.hold_live(
            state=hold.state, expires_at=hold.expires_at, at=AT
        ) is (hold.id in expected)
