"""Staff saving a series' change page that others changed or deleted meanwhile
(PostgreSQL, real concurrent writers).

The admin saves through ``series_update``: only the fields staff edited (compared
with the page they saw), on the row as it is now. An expiry extended by another
staff member since the page was opened stays, and a series deleted while the save
runs is a clear message, never a 500.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from series import services
from series.models import Series
from tests.admin_forms import change_url, save_after, save_while_deleted
from tests.factories import SeriesFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_an_expiry_extended_while_the_page_was_open_is_kept(admin_client):
    series = SeriesFactory(
        description="Spring", valid_till=timezone.now() + timedelta(days=10)
    )
    later = (timezone.now() + timedelta(days=30)).replace(microsecond=0)

    save_after(
        admin_client,
        change_url(Series, series.pk),
        lambda: services.series_extend_expiry(series=series, valid_till=later),
        description="Summer",
    )

    stored = Series.objects.get(pk=series.pk)
    assert (stored.description, stored.valid_till) == ("Summer", later)


def test_a_series_deleted_while_the_save_runs_is_a_message(admin_client):
    series = SeriesFactory(description="Spring")

    save_while_deleted(admin_client, Series, series.pk, description="Summer")
