"""series_update (the admin's edit of a series) works on the row as it is now."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from core.errors import DomainError
from series import services
from series.models import Series
from tests.factories import SeriesFactory

pytestmark = pytest.mark.django_db


def updates(series: Series) -> list[dict]:
    return list(
        AuditEvent.objects.filter(
            object_type="series", object_id=series.pk, action="update"
        )
        .order_by("id")
        .values_list("changes", flat=True)
    )


def test_an_edit_keeps_what_changed_since_the_copy_was_read():
    stale = SeriesFactory(description="Spring", max_create=100, discount_value=100)
    Series.objects.filter(pk=stale.pk).update(issued_count=7, discount_value=250)

    saved = services.series_update(
        series=stale, changes={"description": "Summer", "issued_count": 0}
    )

    stored = Series.objects.get(pk=stale.pk)
    assert (stored.description, stored.issued_count, stored.discount_value) == (
        "Summer",
        7,
        250,
    )
    assert (saved.description, saved.issued_count) == ("Summer", 7)
    assert updates(stale) == [{"description": ["Spring", "Summer"]}]


def test_the_cap_is_checked_against_the_issued_count_as_it_is_now():
    stale = SeriesFactory(max_create=100)
    Series.objects.filter(pk=stale.pk).update(issued_count=10)

    with pytest.raises(DomainError) as raised:
        services.series_update(series=stale, changes={"max_create": 9})

    assert raised.value.reason == "invalid_series"
    assert raised.value.message == "10 already issued: the cap cannot be lower."
    assert Series.objects.get(pk=stale.pk).max_create == 100
    assert updates(stale) == []


def test_an_edit_of_a_series_deleted_meanwhile_is_series_not_found():
    stale = SeriesFactory()
    Series.objects.filter(pk=stale.pk).delete()

    with pytest.raises(DomainError) as raised:
        services.series_update(series=stale, changes={"description": "x"})

    assert raised.value.reason == "series_not_found"
    assert not Series.objects.filter(pk=stale.pk).exists()


def test_an_edit_that_changes_nothing_writes_nothing():
    series = SeriesFactory(description="Spring")
    stamp = Series.objects.get(pk=series.pk).updated_at

    services.series_update(series=series, changes={"description": "Spring"})

    assert Series.objects.get(pk=series.pk).updated_at == stamp
    assert updates(series) == []
