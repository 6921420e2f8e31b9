from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.fields import FlakeIdField


class Kind(models.TextChoices):
    DEFINITION = "definition", "Coupon definition"
    TEMPLATE = "template", "Coupon template"


class LegacyDefinitionQuerySet(models.QuerySet):
    def for_store(self, store_id: int) -> LegacyDefinitionQuerySet:
        return self.filter(store_id=store_id)

    def definitions(self) -> LegacyDefinitionQuerySet:
        return self.filter(kind=Kind.DEFINITION)

    def templates(self) -> LegacyDefinitionQuerySet:
        return self.filter(kind=Kind.TEMPLATE)


class LegacyDefinition(models.Model):
    """A NewStore coupon definition or template.

    Definitions and templates live in one table because their labels share one
    namespace per store (``template_label`` resolves either); the unique constraint
    then holds that rule in the database.
    """

    id = FlakeIdField()
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    store = models.ForeignKey(
        "stores.Store", on_delete=models.CASCADE, related_name="legacy_definitions"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    label = models.CharField(max_length=200)
    pattern = models.CharField(max_length=500)
    validation_rules = models.JSONField(default=list, blank=True)
    discount_rule_id = models.CharField(max_length=200, blank=True, default="")
    channel_types = models.JSONField(default=list, blank=True)
    max_redemptions = models.BigIntegerField(null=True, blank=True)
    # Major units; up to 4 decimals (the most any currency has, CLF), the store
    # currency's own rule is checked by the service (core.money).
    amount = models.DecimalField(max_digits=16, decimal_places=4, null=True, blank=True)
    amount_currency = models.CharField(max_length=3, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LegacyDefinitionQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "label"],
                name="legacy_label_unique_per_store",
                violation_error_message="This label is already used in this store.",
            ),
            models.CheckConstraint(
                condition=Q(max_redemptions__isnull=True) | Q(max_redemptions__gte=1),
                name="legacy_max_redemptions_positive",
                violation_error_message="max_redemptions must be at least 1.",
            ),
            models.CheckConstraint(
                condition=~Q(label="") & ~Q(pattern=""),
                name="legacy_label_pattern_not_blank",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.get_kind_display()})"


class CouponDefinitionManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(kind=Kind.DEFINITION)


class CouponTemplateManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(kind=Kind.TEMPLATE)


class CouponDefinition(LegacyDefinition):
    """Definitions only (for the admin)."""

    objects = CouponDefinitionManager()

    class Meta:
        proxy = True
        verbose_name = "coupon definition"

    def save(self, *args, **kwargs):
        self.kind = Kind.DEFINITION
        super().save(*args, **kwargs)


class CouponTemplate(LegacyDefinition):
    """Templates only (for the admin)."""

    objects = CouponTemplateManager()

    class Meta:
        proxy = True
        verbose_name = "coupon template"

    def save(self, *args, **kwargs):
        self.kind = Kind.TEMPLATE
        super().save(*args, **kwargs)
