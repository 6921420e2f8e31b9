from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.compact import CompactIdField, CompactQuerySetMixin
from core.fields import FlakeIdField, FoldedField, folded_exclusions, folded_writes
from customers.identifiers import fold_email, fold_email_or_none


class CustomerQuerySet(CompactQuerySetMixin, models.QuerySet):
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
        """Customers matching every identifier given (the email as ``fold_email``
        folds it, through its unique index)."""
        qs = self
        if customer_id is not None:
            qs = qs.filter(id=customer_id)
        if email is not None:
            qs = qs.filter(email_folded=fold_email(email))
        if mobile is not None:
            qs = qs.filter(mobile=mobile)
        if external_id is not None:
            qs = qs.filter(external_id=external_id)
        return qs

    def update(self, **kwargs):
        # The folded email is written whenever the email is: Python folds a value;
        # an expression (bulk_update's CASE) comes with its folded twin.
        if "email" in kwargs and "email_folded" not in kwargs:
            kwargs["email_folded"] = fold_email_or_none(kwargs["email"])
        return super().update(**kwargs)

    def bulk_update(self, objs, fields, batch_size=None):
        fields = folded_writes(self.model, fields)
        return super().bulk_update(objs, fields, batch_size=batch_size)


class Customer(models.Model):
    """A shop's customer. Each identifier is unique within its store when present."""

    id = FlakeIdField()
    # The id the Capillary dialect shows (core.compact): JSON-number and int32 safe.
    compact_id = CompactIdField()
    store = models.ForeignKey(
        "stores.Store", on_delete=models.CASCADE, related_name="customers"
    )
    first_name = models.CharField(max_length=150, blank=True, default="")
    last_name = models.CharField(max_length=150, blank=True, default="")
    email = models.EmailField(max_length=254, null=True, blank=True)
    # The email as every lookup compares it (customers.identifiers.fold_email), kept
    # by Django. Longer than the email: folding may lengthen it (NFC, İ -> i + U+0307).
    email_folded = FoldedField(
        max_length=1000, null=True, source="email", fold=fold_email
    )
    mobile = models.CharField(max_length=32, null=True, blank=True)
    external_id = models.CharField(max_length=128, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        # Each identifier leads its unique index, so a lookup without a store (a
        # superuser's admin search) reads it too; the rows it holds are the same.
        constraints = [
            models.UniqueConstraint(
                fields=["email_folded", "store"],
                condition=Q(email_folded__isnull=False),
                name="customer_email_unique_per_store_ci",
                violation_error_message="A customer with this email already exists.",
            ),
            models.UniqueConstraint(
                fields=["mobile", "store"],
                condition=Q(mobile__isnull=False),
                name="customer_mobile_unique_per_store",
                violation_error_message="A customer with this mobile already exists.",
            ),
            models.UniqueConstraint(
                fields=["external_id", "store"],
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

    def save(self, *args, **kwargs):
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = folded_writes(Customer, kwargs["update_fields"])
        super().save(*args, **kwargs)

    def validate_constraints(self, exclude=None):
        super().validate_constraints(exclude=folded_exclusions(Customer, exclude))
