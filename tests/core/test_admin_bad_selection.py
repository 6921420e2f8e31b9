"""An admin action posted with a selected id that is not one (``_selected_action=
abc``) is Django's "nothing selected" message and a redirect back, never a 500."""

from __future__ import annotations

import pytest
from django.urls import reverse

from coupons.models import Hold, Redemption
from tests.factories import RedemptionFactory

pytestmark = pytest.mark.django_db

NOTHING_SELECTED = (
    "Items must be selected in order to perform actions on them. No items have "
    "been changed."
)


@pytest.mark.parametrize(
    ("changelist", "action"),
    [
        ("admin:coupons_redemption_changelist", "roll_back"),
        ("admin:coupons_hold_changelist", "release"),
        ("admin:coupons_coupon_changelist", "retire_pool_codes"),
    ],
)
@pytest.mark.parametrize("selected", [["abc"], ["1", "abc"], [str(2**63)]])
def test_a_selected_id_that_is_not_one_changes_nothing(
    admin_client, changelist, action, selected
):
    redemption = RedemptionFactory()
    url = reverse(changelist)

    response = admin_client.post(
        url, {"action": action, "_selected_action": selected, "index": 0}
    )

    assert response.status_code == 302
    assert response.url == url
    assert [str(m) for m in response.wsgi_request._messages] == [NOTHING_SELECTED]
    redemption.refresh_from_db()
    assert redemption.rolled_back_at is None
    assert not Hold.objects.exists()
    assert Redemption.objects.count() == 1
