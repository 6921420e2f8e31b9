"""Demo data for a fresh install: run twice, duplicates nothing."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from core.actors import SYSTEM
from coupons import services as coupon_services
from coupons.models import DiscountType, Duration
from customers import services as customer_services
from series.models import Series
from stores import services as store_services
from stores.models import Store

DEMO_CODE = "demo"


class Command(BaseCommand):
    help = (
        "Create a demo store with outlets, customers, coupons, a series and an API "
        "key, and print the key's token with a ready curl line."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url", default="http://127.0.0.1:8000", help="For the curl line"
        )

    def handle(self, *args, **opts):
        existing = Store.objects.filter(code=DEMO_CODE).first()
        if existing is not None:
            self.stdout.write(
                f"The demo store exists already (id {existing.id}); nothing created.\n"
                "For a fresh token: python manage.py create_api_key --store "
                f"{DEMO_CODE}"
            )
            return
        with transaction.atomic():
            store, token = self._create()
        base = opts["base_url"].rstrip("/")
        self.stdout.write(self.style.SUCCESS(f"Demo store created: id {store.id}"))
        self.stdout.write(f"API token (all scopes): {token}")
        self.stdout.write(
            f"curl -H 'Authorization: APIKey {token}' "
            f"{base}/v1/stores/{store.id}/customers"
        )

    def _create(self) -> tuple[Store, str]:
        store = store_services.store_create(
            name="Demo Shop",
            code=DEMO_CODE,
            timezone_name="Europe/Berlin",
            currency="EUR",
        )
        store_services.outlet_create(store=store, code="store_001", name="Main Store")
        store_services.outlet_create(
            store=store, code="store_002", name="Downtown Store"
        )
        people = [
            ("Tom", "Sawyer", "tom@example.com", "9988776655", "CRM-0001"),
            ("Becky", "Thatcher", "becky@example.com", "9988776656", "CRM-0002"),
            ("Huck", "Finn", "huck@example.com", "9988776657", None),
        ]
        for first, last, email, mobile, external_id in people:
            customer_services.customer_create(
                store=store,
                actor=SYSTEM,
                first_name=first,
                last_name=last,
                email=email,
                mobile=mobile,
                external_id=external_id,
            )
        now = timezone.now()
        coupons = [
            {
                "code": "WELCOME10",
                "discount_type": DiscountType.PERCENT,
                "discount_amount": 100,
            },
            {
                "code": "FIVEOFF",
                "discount_type": DiscountType.AMOUNT,
                "discount_amount": 500,
                "minimum_order_value": 5000,
                "redeem_limit_store_enabled": True,
                "redeem_limit_store_amount": 100,
                "redeem_limit_customer_enabled": True,
                "redeem_limit_customer_amount": 1,
            },
            {
                "code": "SUMMER25",
                "discount_type": DiscountType.PERCENT,
                "discount_amount": 250,
                "usable_at": now,
                "expires_at": now + timedelta(days=90),
                "note": "Summer campaign",
            },
        ]
        for values in coupons:
            coupon_services.coupon_create(
                store=store,
                actor=SYSTEM,
                duration=Duration.ONCE,
                **values,
            )
        Series.objects.create(
            store=store,
            description="Spin the wheel",
            discount_value=10,
            discount_type="PERC",
            max_create=1000,
            max_vouchers_per_user=3,
            valid_till=now + timedelta(days=180),
            random_code_length=8,
            custom_properties={"standard_description": "10% off on next purchase"},
        )
        issued = store_services.api_key_create(
            store=store, scopes=list(store_services.ALL_SCOPES), name="demo"
        )
        return store, issued.token
