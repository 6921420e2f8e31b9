from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.fields import FlakeIdField

# The events of the request paths (a code issued, received, redeemed): most of the
# trail, one or more per request.
HOT_ACTIONS = ("issue", "receive", "redeem")
# What the API's events are written with (the dialects' channels, their API keys, the
# objects of those paths): the admin's filters find every other value through a
# partial index that leaves these rows out (issue 22).
API_CHANNELS = ("paynow", "shoplazza", "capillary", "newstore", "capillary_v11")
API_ACTOR_TYPES = ("api_key",)
HOT_OBJECT_TYPES = ("assignment", "redemption", "hold")


class AppendOnlyError(Exception):
    """The audit trail is never edited or deleted through the app."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit events cannot be changed.")

    def delete(self):
        raise AppendOnlyError("Audit events cannot be deleted.")

    def for_coupon(self, coupon_id: int) -> AuditEventQuerySet:
        return self.filter(coupon_id=coupon_id)

    def for_customer(self, customer_id: int) -> AuditEventQuerySet:
        return self.filter(customer_id=customer_id)

    def for_series(self, series_id: int) -> AuditEventQuerySet:
        return self.filter(series_id=series_id)


class AuditEvent(models.Model):
    """One change to the ledger: who (actor), through what (channel), what changed.

    Append-only: the model refuses updates and deletes, and on PostgreSQL a trigger
    refuses them in the database too. The object references are plain ids (not foreign
    keys) so the history outlives what it describes.
    """

    id = FlakeIdField()
    # No index of its own: audit_store_idx (store, id) leads with it.
    store = models.ForeignKey(
        "stores.Store", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    at = models.DateTimeField(default=timezone.now, editable=False)
    actor_type = models.CharField(max_length=16)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=150, blank=True, default="")
    channel = models.CharField(max_length=16, blank=True, default="")
    action = models.CharField(max_length=16)
    object_type = models.CharField(max_length=32)
    object_id = models.BigIntegerField()
    coupon_id = models.BigIntegerField(null=True, blank=True)
    customer_id = models.BigIntegerField(null=True, blank=True)
    series_id = models.BigIntegerField(null=True, blank=True)
    changes = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["store", "id"], name="audit_store_idx"),
            models.Index(fields=["coupon_id", "id"], name="audit_coupon_idx"),
            models.Index(fields=["customer_id", "id"], name="audit_customer_idx"),
            models.Index(fields=["series_id", "id"], name="audit_series_idx"),
            # Staff search the trail of any object by its id (audit.admin).
            models.Index(fields=["object_id", "id"], name="audit_object_idx"),
            # The admin's action filter, for the rare actions (staff edits, expiry,
            # rollbacks): the events of the issue/receive/redeem paths, most of the
            # trail and written on every such request, are left out of it, so those
            # paths write no more index (issue 22, bench/README.md).
            models.Index(
                fields=["store", "action", "id"],
                condition=~Q(action__in=HOT_ACTIONS),
                name="audit_rare_action_idx",
            ),
            # The channel, actor type and object type filters' rare values (staff,
            # commands, jobs; coupons, customers, series, API keys), the same way:
            # the request paths' values are dense and found by walking the store.
            models.Index(
                fields=["store", "channel", "id"],
                condition=~Q(channel__in=API_CHANNELS),
                name="audit_rare_channel_idx",
            ),
            models.Index(
                fields=["store", "actor_type", "id"],
                condition=~Q(actor_type__in=API_ACTOR_TYPES),
                name="audit_rare_actor_idx",
            ),
            models.Index(
                fields=["store", "object_type", "id"],
                condition=~Q(object_type__in=HOT_OBJECT_TYPES),
                name="audit_rare_object_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} {self.object_id} by {self.actor_type}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events cannot be deleted.")
