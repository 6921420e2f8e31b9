"""Capillary v2 series ``validTillDate`` without an offset, in a store whose zone
changes clocks (attack report 2, item 5): the create answers what every later GET
shows, and the stored instant is the one documented (README, Capillary v2)."""

from __future__ import annotations

from datetime import UTC

import pytest

from series.models import Series
from tests.factories import ApiKeyFactory, StoreFactory
from tests.series.conftest import SERIES_URL, capillary_client
from tests.series.test_api_capillary_series import body, error

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("small_pool")]


@pytest.fixture
def new_york():
    store = StoreFactory(timezone="America/New_York")
    return capillary_client(ApiKeyFactory(store=store))


@pytest.mark.parametrize(
    ("given", "shown", "stored"),
    [
        # 02:00-03:00 does not exist that night: moved forward by the gap.
        (
            "2027-03-14T02:30:00",
            "2027-03-14T03:30:00-04:00",
            "2027-03-14T07:30:00+00:00",
        ),
        (
            "2027-03-14T02:00:00",
            "2027-03-14T03:00:00-04:00",
            "2027-03-14T07:00:00+00:00",
        ),
        (
            "2027-03-14T02:59:59",
            "2027-03-14T03:59:59-04:00",
            "2027-03-14T07:59:59+00:00",
        ),
        (
            "2027-03-14T03:00:00",
            "2027-03-14T03:00:00-04:00",
            "2027-03-14T07:00:00+00:00",
        ),
        (
            "2027-03-14T01:59:59",
            "2027-03-14T01:59:59-05:00",
            "2027-03-14T06:59:59+00:00",
        ),
        # 01:00-02:00 happens twice that night: the first one (EDT, fold=0).
        (
            "2027-11-07T01:30:00",
            "2027-11-07T01:30:00-04:00",
            "2027-11-07T05:30:00+00:00",
        ),
        # With an offset the instant is as given, either 01:30.
        (
            "2027-11-07T01:30:00-05:00",
            "2027-11-07T01:30:00-05:00",
            "2027-11-07T06:30:00+00:00",
        ),
        (
            "2027-11-07T01:30:00-04:00",
            "2027-11-07T01:30:00-04:00",
            "2027-11-07T05:30:00+00:00",
        ),
        # A bare date: the end of that day, on either side of a change.
        ("2027-03-14", "2027-03-14T23:59:59-04:00", "2027-03-15T03:59:59+00:00"),
        ("2027-11-07", "2027-11-07T23:59:59-05:00", "2027-11-08T04:59:59+00:00"),
    ],
)
def test_the_create_answers_what_get_shows(new_york, given, shown, stored):
    created = new_york.post(SERIES_URL, body(validTillDate=given), format="json")
    entity = created.json()["entity"]
    listed = new_york.get(SERIES_URL, {"ids": entity["id"]})

    assert created.status_code == 200
    assert entity["validTillDate"] == shown
    assert listed.status_code == 200
    assert listed.json()["entity"] == [entity]
    assert Series.objects.get().valid_till.astimezone(UTC).isoformat() == stored


def test_a_wall_time_west_of_utc_past_the_last_day_is_out_of_range(new_york):
    response = new_york.post(
        SERIES_URL, body(validTillDate="9999-12-31T23:00:00"), format="json"
    )

    assert response.status_code == 400
    assert response.json() == error(
        "Invalid request: validTillDate: The date-time is out of range (0001-01-02 "
        "to 9999-12-30 UTC)."
    )
    assert not Series.objects.exists()
