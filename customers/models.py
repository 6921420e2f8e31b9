from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from core.fields import FlakeIdField


class CustomerQuerySet(models.QuerySet):
    def for_store(self, store_id: int) -> CustomerQuerySet:
        return self.filter(store_id=store_id)

    def by_identifier(
        self,
        *,
        email: str | None = None,
        mobile: str | None = None,
        external_id: str | None = None,
        customer_id: int | None = None,
    ) -> CustomerQuerySet:
        """Customers matching every identifier given (email case-insensitively)."""
        qs = self
        if customer_id is not None:
            qs = qs.filter(id=customer_id)
        if email is not None:
            qs = qs.annotate(email_folded=Lower("email")).filter(
                email_folded=email.lower()
            )
        if mobile is not None:
            qs = qs.filter(mobile=mobile)
        if external_id is not None:
            qs = qs.filter(external_id=external_id)
        return qs


class Customer(models.Model):
    """A shop's customer. Each identifier is unique within its store when present."""

    id = FlakeIdField()
    store = models.ForeignKey(
        "stores.Store", on_delete=models.CASCADE, related_name="customers"
    )
    first_name = models.CharField(max_length=150, blank=True, default="")
    last_name = models.CharField(max_length=150, blank=True, default="")
    email = models.EmailField(max_length=254, null=True, blank=True)
    mobile = models.CharField(max_length=32, null=True, blank=True)
    external_id = models.CharField(max_length=128, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                F("store"),
                Lower("email"),
                condition=Q(email__isnull=False),
                name="customer_email_unique_per_store_ci",
                violation_error_message="A customer with this email already exists.",
            ),
            models.UniqueConstraint(
                fields=["store", "mobile"],
                condition=Q(mobile__isnull=False),
                name="customer_mobile_unique_per_store",
                violation_error_message="A customer with this mobile already exists.",
            ),
            models.UniqueConstraint(
                fields=["store", "external_id"],
                condition=Q(external_id__isnull=False),
                name="customer_external_id_unique_per_store",
                violation_error_message=(
                    "A customer with this external ID already exists."
                ),
            ),
        ]
        indexes = [models.Index(fields=["store", "id"], name="customer_store_id_idx")]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email or self.mobile or self.external_id or str(self.id)
