from __future__ import annotations

from django.db import models
from django.utils import timezone

from core.fields import FlakeIdField


class Channel(models.TextChoices):
    """The dialect (or staff surface) through which a coupon was assigned."""

    PAYNOW = "paynow", "PayNow / native"
    SHOPLAZZA = "shoplazza", "Shoplazza"
    CAPILLARY = "capillary", "Capillary"
    NEWSTORE = "newstore", "NewStore"
    ADMIN = "admin", "Admin"
    COMMAND = "command", "Management command"


class AssignmentQuerySet(models.QuerySet):
    def for_store(self, store_id: int) -> AssignmentQuerySet:
        return self.filter(store_id=store_id)


class Assignment(models.Model):
    """A customer holds a coupon (Shoplazza receive and Capillary issue make one)."""

    id = FlakeIdField()
    # No index of their own on store, coupon, customer and series: the composite
    # indexes of Meta lead with each (fewer indexes to write on every issue).
    store = models.ForeignKey(
        "stores.Store",
        on_delete=models.CASCADE,
        related_name="assignments",
        db_index=False,
    )
    coupon = models.ForeignKey(
        "coupons.Coupon",
        on_delete=models.PROTECT,
        related_name="assignments",
        db_index=False,
    )
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="assignments",
        db_index=False,
    )
    series = models.ForeignKey(
        "series.Series",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assignments",
        db_index=False,
    )
    outlet = models.ForeignKey(
        "stores.Outlet", on_delete=models.PROTECT, null=True, blank=True
    )
    api_key = models.ForeignKey(
        "stores.ApiKey", on_delete=models.SET_NULL, null=True, blank=True
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    valid_till = models.DateTimeField(null=True, blank=True)
    transaction_number = models.CharField(max_length=128, null=True, blank=True)
    purpose = models.CharField(max_length=250, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["store", "id"], name="assignment_store_id_idx"),
            models.Index(fields=["customer", "id"], name="assignment_customer_idx"),
            models.Index(
                fields=["series", "customer"], name="assignment_series_cust_idx"
            ),
            models.Index(
                fields=["coupon", "customer"], name="assignment_coupon_cust_idx"
            ),
            # Staff search an order's assignment by its number (admin_search).
            models.Index(
                fields=["transaction_number"],
                condition=models.Q(transaction_number__isnull=False),
                name="assignment_txn_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.coupon_id} -> {self.customer_id}"
