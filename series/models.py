from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from core.compact import CompactIdField, CompactQuerySetMixin
from core.fields import FlakeIdField

UNLIMITED = -1


class SeriesDiscountType(models.TextChoices):
    ABS = "ABS", "Absolute amount"
    PERC = "PERC", "Percentage"


class DiscountOn(models.TextChoices):
    BILL = "BILL", "Bill"
    ITEM = "ITEM", "Item"


class ExpiryStrategy(models.TextChoices):
    SERIES_EXPIRY = "SERIES_EXPIRY", "Fixed date (the series' valid-till)"
    DAYS = "DAYS", "N days after issue"
    MONTHS_END = "MONTHS_END", "End of the month, N months after issue"


class CodeFormat(models.TextChoices):
    GENERIC = "generic", "One generic code for everyone"
    RANDOM = "random", "Random unique codes"
    UPLOADED = "uploaded", "Uploaded codes"


class SeriesQuerySet(CompactQuerySetMixin, models.QuerySet):
    def for_store(self, store_id: int) -> SeriesQuerySet:
        return self.filter(store_id=store_id)


class Series(models.Model):
    """A campaign that generates unique codes into a pool and issues them."""

    id = FlakeIdField()
    # The id the Capillary dialect shows (core.compact): JSON-number and int32 safe.
    compact_id = CompactIdField()
    store = models.ForeignKey(
        "stores.Store", on_delete=models.CASCADE, related_name="series"
    )
    description = models.CharField(max_length=250)
    discount_code = models.CharField(max_length=100, blank=True, default="")
    discount_type = models.CharField(
        max_length=8, choices=SeriesDiscountType.choices, default=SeriesDiscountType.ABS
    )
    discount_value = models.DecimalField(max_digits=16, decimal_places=4, default=0)
    discount_upto = models.DecimalField(max_digits=16, decimal_places=4, default=0)
    discount_on = models.CharField(
        max_length=8, choices=DiscountOn.choices, default=DiscountOn.BILL
    )

    code_format = models.CharField(
        max_length=16, choices=CodeFormat.choices, default=CodeFormat.RANDOM
    )
    generic_code = models.CharField(max_length=100, blank=True, default="")
    alpha_numeric = models.BooleanField(default=True)
    random_code_length = models.PositiveSmallIntegerField(default=8)
    code_prefix = models.CharField(max_length=32, blank=True, default="")
    code_suffix = models.CharField(max_length=32, blank=True, default="")
    # Codes people can type (coupons.typed_codes): the random part is Crockford's
    # base32 followed by a check character; prefix and suffix use the same symbols.
    check_character = models.BooleanField(
        default=False,
        help_text="Random part in Crockford's base32 (no I, L, O, U) followed by a "
        "check character: a mistyped code is refused as a typo without a lookup.",
    )

    max_create = models.BigIntegerField(default=UNLIMITED, help_text="-1 = unlimited")
    issued_count = models.BigIntegerField(default=0, editable=False)
    is_multiple_vouchers_per_user_allowed = models.BooleanField(default=True)
    max_vouchers_per_user = models.IntegerField(
        default=UNLIMITED, help_text="-1 = unlimited"
    )

    valid_till = models.DateTimeField(null=True, blank=True)
    expiry_strategy_type = models.CharField(
        max_length=16,
        choices=ExpiryStrategy.choices,
        default=ExpiryStrategy.SERIES_EXPIRY,
    )
    expiry_strategy_value = models.IntegerField(default=0)
    redemption_valid_after_days = models.IntegerField(default=0)
    min_bill_amount = models.DecimalField(max_digits=16, decimal_places=4, default=0)
    max_redemptions_per_coupon = models.IntegerField(
        default=1, help_text="-1 = unlimited"
    )
    custom_properties = models.JSONField(default=dict, blank=True)

    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SeriesQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "series"
        constraints = [
            models.CheckConstraint(
                condition=Q(max_create__gte=UNLIMITED),
                name="series_max_create_valid",
                violation_error_message="max_create is -1 (unlimited) or a count.",
            ),
            models.CheckConstraint(
                condition=Q(max_vouchers_per_user__gte=UNLIMITED),
                name="series_max_per_user_valid",
                violation_error_message="max_vouchers_per_user is -1 or a count.",
            ),
            models.CheckConstraint(
                condition=Q(issued_count__gte=0)
                & (Q(max_create=UNLIMITED) | Q(issued_count__lte=F("max_create"))),
                name="series_issued_within_cap",
                violation_error_message="A series never issues more than its cap.",
            ),
            models.CheckConstraint(
                condition=~Q(code_format=CodeFormat.GENERIC) | ~Q(generic_code=""),
                name="series_generic_has_code",
                violation_error_message="A generic series needs its code.",
            ),
            models.CheckConstraint(
                condition=Q(random_code_length__gte=1) & Q(random_code_length__lte=64),
                name="series_code_length_range",
                violation_error_message="random_code_length is 1 to 64.",
            ),
            models.CheckConstraint(
                condition=Q(discount_value__gte=0) & Q(discount_upto__gte=0),
                name="series_discount_non_negative",
                violation_error_message=(
                    "discount_value and discount_upto cannot be negative."
                ),
            ),
        ]
        indexes = [models.Index(fields=["store", "id"], name="series_store_id_idx")]

    def __str__(self) -> str:
        return f"{self.description} (#{self.id})"

    @property
    def is_generic(self) -> bool:
        return self.code_format == CodeFormat.GENERIC

    @property
    def remaining(self) -> int | None:
        return (
            None
            if self.max_create == UNLIMITED
            else self.max_create - self.issued_count
        )
