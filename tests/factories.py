"""factory-boy factories for every model."""

from __future__ import annotations

import uuid

import factory
from django.utils import timezone

from assignments.models import Assignment, Channel
from coupons.models import Coupon, Redemption
from customers.models import Customer
from legacy.models import Kind, LegacyDefinition
from series.models import Series
from stores import services as store_services
from stores.models import ApiKey, Outlet, Store
from stores.scopes import ALL_SCOPES


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    name = factory.Sequence(lambda n: f"Store {n}")
    code = factory.Sequence(lambda n: f"store-{n}")
    timezone = "UTC"
    currency = "USD"


class OutletFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Outlet

    store = factory.SubFactory(StoreFactory)
    code = factory.Sequence(lambda n: f"outlet_{n:03d}")
    name = factory.Sequence(lambda n: f"Outlet {n}")


class ApiKeyFactory(factory.django.DjangoModelFactory):
    """Builds through the service so the hashes are real; ``.token``/``.secret`` set."""

    class Meta:
        model = ApiKey

    store = factory.SubFactory(StoreFactory)
    scopes = factory.LazyFunction(lambda: list(ALL_SCOPES))
    outlet = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        issued = store_services.api_key_create(
            store=kwargs["store"],
            scopes=kwargs.get("scopes") or list(ALL_SCOPES),
            outlet_code=kwargs["outlet"].code if kwargs.get("outlet") else None,
            name=kwargs.get("name", ""),
        )
        api_key = issued.api_key
        api_key.secret = issued.secret
        api_key.token = issued.token
        return api_key


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    store = factory.SubFactory(StoreFactory)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    mobile = factory.Sequence(lambda n: f"9100{n:07d}")
    external_id = factory.Sequence(lambda n: f"ext-{n}")


class SeriesFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Series

    store = factory.SubFactory(StoreFactory)
    description = factory.Sequence(lambda n: f"Series {n}")
    discount_value = 100
    random_code_length = 8


class CouponFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Coupon

    store = factory.SubFactory(StoreFactory)
    code = factory.Sequence(lambda n: f"CODE-{n:05d}")
    discount_type = "amount"
    discount_amount = 500
    created_at = factory.LazyFunction(timezone.now)


class RedemptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Redemption

    coupon = factory.SubFactory(CouponFactory)
    store = factory.SelfAttribute("coupon.store")
    customer = factory.SubFactory(
        CustomerFactory, store=factory.SelfAttribute("..store")
    )
    order_value = 10_000
    discount_amount = 500


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assignment

    coupon = factory.SubFactory(CouponFactory)
    store = factory.SelfAttribute("coupon.store")
    customer = factory.SubFactory(
        CustomerFactory, store=factory.SelfAttribute("..store")
    )
    channel = Channel.PAYNOW


class LegacyDefinitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LegacyDefinition

    store = factory.SubFactory(StoreFactory)
    kind = Kind.DEFINITION
    label = factory.Sequence(lambda n: f"definition-{n}")
    pattern = "coupondef-[A-Z]{3}[0-9]{3}"
    discount_rule_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    max_redemptions = 10


class LegacyTemplateFactory(LegacyDefinitionFactory):
    kind = Kind.TEMPLATE
    label = factory.Sequence(lambda n: f"template-{n}")
    discount_rule_id = ""
