from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.timezone import now

from core import money
from core.fields import FlakeIdField


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"Unknown time zone {value!r}.") from exc


def currency_validator(value: str) -> None:
    """An ISO 4217 code that the money module's currency data knows (core.money)."""
    if not money.is_currency(value):
        raise ValidationError("Use a three-letter ISO 4217 code.", code="invalid")


class Store(models.Model):
    """The tenant: every other row belongs to exactly one store."""

    id = FlakeIdField()
    name = models.CharField(max_length=200)
    code = models.SlugField(max_length=64, unique=True)
    is_active = models.BooleanField(default=True)
    timezone = models.CharField(
        max_length=64, default="UTC", validators=[validate_timezone]
    )
    currency = models.CharField(
        max_length=3, default="USD", validators=[currency_validator]
    )
    code_guess_limit = models.PositiveIntegerField(
        default=0,
        help_text=(
            "Failed code lookups one API key may make for one customer within "
            "the guessing window before both are locked out for a while "
            "(stores.guessing); 0 = the default (CODE_GUESS_LIMIT)."
        ),
    )
    created_at = models.DateTimeField(default=now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    # The shapes ([prefix, length, suffix]) of the store's check-character series
    # (coupons.typed_codes), kept by series_create: read with the API key, so a
    # mistyped code is refused without a query.
    typed_code_shapes = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Outlet(models.Model):
    """A point of sale inside a store (Capillary's till "store"); not a tenant."""

    id = FlakeIdField()
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="outlets")
    code = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["store", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "code"],
                name="outlet_code_unique_per_store",
                violation_error_message="This outlet code is taken in this store.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class ApiKeyQuerySet(models.QuerySet):
    def usable(self) -> ApiKeyQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """A store's credential. The secret is shown once; only hashes are kept.

    ``secret_hash`` is sha256(secret) for the token forms; ``secret_md5_hash`` is
    sha256(md5(secret)), because Capillary's Basic form sends md5(secret) and we must
    check it without keeping md5(secret) itself.
    """

    id = FlakeIdField()
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="api_keys")
    outlet = models.ForeignKey(
        Outlet,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="api_keys",
        help_text="A key bound to an outlet is that outlet's till.",
    )
    name = models.CharField(max_length=200, blank=True)
    key_id = models.CharField(max_length=64, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    secret_md5_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list)
    rate_limit = models.CharField(
        max_length=32,
        blank=True,
        default="",
        help_text="Requests allowed, e.g. 600/min or 20/s; empty = the default.",
        validators=[
            RegexValidator(
                r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$",
                "Use N/s, N/min, N/hour or N/day.",
            )
        ],
    )
    created_at = models.DateTimeField(default=now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return self.key_id

    # DRF treats request.user as authenticated when this is true.
    is_authenticated = True

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])


class IdempotencyStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"


class IdempotencyKey(models.Model):
    """The first response to a write sent with an ``Idempotency-Key`` header.

    A retry with the same key and body gets this response back and writes nothing;
    the same key with another body is refused. Keys are per store and expire.
    The row is inserted in the transaction of the write it guards and committed with
    it, response stored (``stores.idempotency``): a committed row is ``done``; one
    left ``in_progress`` (committed before the work by an earlier release) is stale.
    """

    id = FlakeIdField()
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status = models.CharField(
        max_length=16,
        choices=IdempotencyStatus.choices,
        default=IdempotencyStatus.IN_PROGRESS,
    )
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    response_content_type = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "key"], name="idempotency_key_unique_per_store"
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"


class StoreMembership(models.Model):
    """A staff user's access to a store in the admin.

    A staff user who is not a superuser sees and edits only the rows of the stores
    they are a member of (every admin page, autocomplete, action and export).
    """

    id = FlakeIdField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="store_memberships",
    )
    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, related_name="staff_memberships"
    )
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["store", "user"]
        verbose_name = "staff store membership"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "store"],
                name="store_membership_unique",
                violation_error_message="This user is already a member of this store.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.store_id}"


class FailedLookupCount(models.Model):
    """How many code lookups failed in one hour, per store, API key and reason
    (``unknown_code``, ``typo``): the durable record the admin dashboard reads.

    Written by ``stores.guessing`` with one upsert per request that failed a lookup
    (``failures = failures + k``); a lookup that finds its code writes nothing.
    """

    id = FlakeIdField()
    # No index of its own: the unique constraint leads with it.
    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField(help_text="The hour's start (UTC).")
    reason = models.CharField(max_length=16)
    failures = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # The upsert's conflict target; the dashboard reads (store, hour).
            models.UniqueConstraint(
                fields=["store", "hour", "api_key", "reason"],
                name="failed_lookup_count_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.failures} {self.reason} @ {self.hour:%Y-%m-%d %H}:00"
