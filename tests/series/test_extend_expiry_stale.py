"""series_extend_expiry locks the series as it is now: one deleted meanwhile is a
domain error the admin reports, not a DoesNotExist (a 500 page)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import DomainError
from series import services
from series.models import Series
from tests.factories import SeriesFactory

pytestmark = pytest.mark.django_db


def test_extending_a_series_deleted_meanwhile_is_series_not_found():
    stale = SeriesFactory(valid_till=timezone.now() + timedelta(days=1))
    Series.objects.filter(pk=stale.pk).delete()

    with pytest.raises(DomainError) as raised:
        services.series_extend_expiry(
            series=stale, valid_till=timezone.now() + timedelta(days=9)
        )

    assert (raised.value.reason, raised.value.message) == (
        "series_not_found",
        "This series no longer exists.",
    )
    assert not Series.objects.filter(pk=stale.pk).exists()
