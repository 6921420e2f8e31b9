"""bulk_coupons names its own options in its messages."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


def test_bulk_command_names_its_own_option_in_a_bad_date():
    StoreFactory(code="shop")

    with pytest.raises(CommandError) as refused:
        call_command(
            "bulk_coupons",
            "--store=shop",
            "--action=extend_expiry",
            "--expires-at=garbage",
            stdout=StringIO(),
            stderr=StringIO(),
        )

    assert str(refused.value) == (
        "--expires-at 'garbage': not a real date or date-time; use YYYY-MM-DD or "
        "YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM] (UTC without an offset)."
    )
