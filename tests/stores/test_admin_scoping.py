"""Store-scoped staff: a staff user linked to stores sees and edits only their rows,
everywhere in the admin; the "Coupon managers" group holds the model permissions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from assignments.models import Assignment
from coupons.models import Coupon, Redemption
from customers.models import Customer
from jobs.models import Job
from series.models import Series
from stores.models import StoreMembership
from tests.factories import (
    AssignmentFactory,
    CouponFactory,
    CustomerFactory,
    LegacyDefinitionFactory,
    LegacyTemplateFactory,
    OutletFactory,
    RedemptionFactory,
    SeriesFactory,
    StoreFactory,
)

pytestmark = pytest.mark.django_db


def staff_client(*stores, username: str = "manager") -> tuple[Client, User]:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Coupon managers"))
    for store in stores:
        StoreMembership.objects.create(user=user, store=store)
    client = Client()
    client.force_login(user)
    return client, user


@pytest.fixture
def two_stores(db):
    mine, theirs = StoreFactory(code="mine"), StoreFactory(code="theirs")
    rows = {}
    for key, store in (("mine", mine), ("theirs", theirs)):
        customer = CustomerFactory(store=store, email=f"{key}@example.com")
        series = SeriesFactory(store=store, description=f"{key} series")
        coupon = CouponFactory(store=store, code=f"{key.upper()}-1", series=series)
        rows[key] = {
            "store": store,
            "customer": customer,
            "series": series,
            "coupon": coupon,
            "redemption": RedemptionFactory(coupon=coupon, customer=customer),
            "assignment": AssignmentFactory(
                store=store, coupon=coupon, customer=customer, series=series
            ),
            "outlet": OutletFactory(store=store),
            "definition": LegacyDefinitionFactory(store=store, label=f"{key}-def"),
            "template": LegacyTemplateFactory(store=store, label=f"{key}-tpl"),
        }
    return rows


CHANGELISTS = {
    "coupons_coupon": "coupon",
    "coupons_redemption": "redemption",
    "customers_customer": "customer",
    "series_series": "series",
    "assignments_assignment": "assignment",
    "stores_outlet": "outlet",
    "stores_store": "store",
    "legacy_coupondefinition": "definition",
    "legacy_coupontemplate": "template",
}


@pytest.mark.parametrize(("url_name", "key"), CHANGELISTS.items())
def test_staff_lists_only_their_stores_rows(two_stores, url_name, key):
    client, _ = staff_client(two_stores["mine"]["store"])

    response = client.get(reverse(f"admin:{url_name}_changelist"))

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [two_stores["mine"][key]]


@pytest.mark.parametrize(("url_name", "key"), CHANGELISTS.items())
def test_superuser_lists_every_store(admin_client, two_stores, url_name, key):
    response = admin_client.get(reverse(f"admin:{url_name}_changelist"))

    assert {row.pk for row in response.context["cl"].result_list} >= {
        two_stores["mine"][key].pk,
        two_stores["theirs"][key].pk,
    }


@pytest.mark.parametrize(("url_name", "key"), CHANGELISTS.items())
def test_staff_cannot_open_another_stores_row(two_stores, url_name, key):
    client, _ = staff_client(two_stores["mine"]["store"])
    theirs = two_stores["theirs"][key]

    response = client.get(reverse(f"admin:{url_name}_change", args=[theirs.pk]))
    own = client.get(
        reverse(f"admin:{url_name}_change", args=[two_stores["mine"][key].pk])
    )

    # The admin answers a row outside the queryset as "does not exist".
    assert response.status_code == 302
    assert response.url == reverse("admin:index")
    assert own.status_code == 200


def test_staff_search_does_not_reach_another_store(two_stores):
    client, _ = staff_client(two_stores["mine"]["store"])

    theirs = client.get(reverse("admin:coupons_coupon_changelist"), {"q": "THEIRS-1"})
    mine = client.get(reverse("admin:coupons_coupon_changelist"), {"q": "mine-1"})

    assert list(theirs.context["cl"].result_list) == []
    assert list(mine.context["cl"].result_list) == [two_stores["mine"]["coupon"]]


def test_store_filter_offers_only_their_stores(two_stores):
    third = StoreFactory(name="AAA third")
    client, _ = staff_client(two_stores["mine"]["store"], third)

    response = client.get(reverse("admin:coupons_coupon_changelist"))

    store_filter = next(
        spec for spec in response.context["cl"].filter_specs if spec.title == "store"
    )
    assert {pk for pk, _ in store_filter.lookup_choices} == {
        two_stores["mine"]["store"].pk,
        third.pk,
    }


def test_autocomplete_offers_only_their_stores_customers(two_stores):
    client, _ = staff_client(two_stores["mine"]["store"])
    params = {
        "app_label": "coupons",
        "model_name": "coupon",
        "field_name": "usable_by_customer",
    }

    theirs = client.get(
        reverse("admin:autocomplete"), {**params, "term": "theirs@example.com"}
    )
    mine = client.get(reverse("admin:autocomplete"), {**params, "term": ""})

    assert theirs.status_code == 200
    assert theirs.json()["results"] == []
    assert [row["id"] for row in mine.json()["results"]] == [
        str(two_stores["mine"]["customer"].pk)
    ]


def test_add_form_offers_only_their_stores(two_stores):
    client, _ = staff_client(two_stores["mine"]["store"])

    response = client.get(reverse("admin:coupons_coupon_add"))

    choices = response.context["adminform"].form.fields["store"].queryset
    assert list(choices) == [two_stores["mine"]["store"]]


def test_staff_cannot_create_a_coupon_in_another_store(two_stores):
    client, _ = staff_client(two_stores["mine"]["store"])
    from tests.coupons.test_admin import coupon_form_data

    response = client.post(
        reverse("admin:coupons_coupon_add"),
        coupon_form_data(code="SNEAKY", store=str(two_stores["theirs"]["store"].pk)),
    )

    assert response.status_code == 200
    assert "store" in response.context["adminform"].form.errors
    assert not Coupon.objects.filter(code="SNEAKY").exists()


def test_actions_never_touch_another_stores_rows(two_stores):
    client, _ = staff_client(two_stores["mine"]["store"])
    theirs = two_stores["theirs"]["series"]

    response = client.post(
        reverse("admin:series_series_changelist"),
        {"action": "disable", "_selected_action": [str(theirs.pk)]},
    )

    assert response.status_code == 302
    theirs.refresh_from_db()
    assert theirs.is_active is True


def test_rollback_action_never_touches_another_stores_redemption(two_stores):
    client, _ = staff_client(two_stores["mine"]["store"])
    theirs = two_stores["theirs"]["redemption"]

    client.post(
        reverse("admin:coupons_redemption_changelist"),
        {
            "action": "roll_back",
            "confirm": "yes",
            "_selected_action": [str(theirs.pk)],
        },
    )

    theirs.refresh_from_db()
    assert theirs.rolled_back_at is None


def test_export_only_has_their_stores_codes(two_stores):
    client, _ = staff_client(two_stores["mine"]["store"])
    both = [two_stores[key]["series"].pk for key in ("mine", "theirs")]

    response = client.post(
        reverse("admin:series_series_changelist"),
        {"action": "export_codes_csv", "_selected_action": [str(pk) for pk in both]},
    )

    body = b"".join(response.streaming_content).decode()
    assert "MINE-1" in body
    assert "THEIRS-1" not in body


def test_staff_without_stores_sees_nothing(two_stores):
    client, _ = staff_client()

    for url_name in CHANGELISTS:
        response = client.get(reverse(f"admin:{url_name}_changelist"))
        assert list(response.context["cl"].result_list) == [], url_name


def test_jobs_of_another_store_are_hidden(two_stores):
    client, _ = staff_client(two_stores["mine"]["store"])
    mine = Job.objects.create(kind="export_coupons", store=two_stores["mine"]["store"])
    Job.objects.create(kind="export_coupons", store=two_stores["theirs"]["store"])

    response = client.get(reverse("admin:jobs_job_changelist"))

    assert list(response.context["cl"].result_list) == [mine]


def test_memberships_are_managed_by_superusers_only(two_stores, admin_client):
    client, user = staff_client(two_stores["mine"]["store"])

    staff_view = client.get(reverse("admin:stores_storemembership_changelist"))
    super_view = admin_client.get(reverse("admin:stores_storemembership_changelist"))
    user_page = admin_client.get(reverse("admin:auth_user_change", args=[user.pk]))

    assert staff_view.status_code == 403
    assert super_view.status_code == 200
    assert [m.user for m in super_view.context["cl"].result_list] == [user]
    assert user_page.status_code == 200
    assert b"a staff user who is not a superuser sees only these" in user_page.content


def test_coupon_managers_group_has_the_campaign_permissions():
    group = Group.objects.get(name="Coupon managers")
    codenames = set(group.permissions.values_list("codename", flat=True))

    assert {
        "view_coupon",
        "add_coupon",
        "change_coupon",
        "delete_coupon",
        "view_redemption",
        "change_redemption",
        "view_customer",
        "change_customer",
        "view_series",
        "add_series",
        "change_series",
        "view_assignment",
        "view_coupondefinition",
        "change_coupontemplate",
        "view_job",
        "change_job",
        "view_store",
        "view_auditevent",
    } <= codenames
    # Managers never delete stores, series or redemptions, nor touch API keys.
    assert not codenames & {
        "delete_store",
        "delete_series",
        "delete_redemption",
        "view_apikey",
        "add_store",
    }


def test_scoped_lists_keep_their_query_counts(two_stores, django_assert_num_queries):
    client, _ = staff_client(two_stores["mine"]["store"])
    client.get(reverse("admin:index"))  # warm the session

    # session, user, user and group permissions, memberships, store filter,
    # capped count, page: the same with 2 rows or 2 million.
    with django_assert_num_queries(8):
        client.get(reverse("admin:coupons_coupon_changelist"))
    assert Customer.objects.count() == 2
    assert Series.objects.count() == 2
    assert Redemption.objects.count() == 2
    assert Assignment.objects.count() == 2
