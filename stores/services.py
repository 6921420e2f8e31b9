"""Writes of the stores app: stores, outlets and API keys."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import (
    IntegrityError,
    OperationalError,
    connection,
    models,
    transaction,
)
from django.utils import timezone

from core import rows
from core.errors import DomainError, FieldIssue
from stores import errors
from stores.models import ApiKey, Outlet, Store, currency_validator, validate_timezone
from stores.scopes import ALL_SCOPES

KEY_ID_PREFIX = "chk_"
SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]{1,64}$")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def md5_hex(secret: str) -> str:
    # Capillary's Basic form sends md5(secret); md5 is the vendor's choice, not ours.
    return hashlib.md5(secret.encode(), usedforsecurity=False).hexdigest()


def _check_settings(*, timezone_name: str | None, currency: str | None) -> None:
    try:
        if timezone_name is not None:
            validate_timezone(timezone_name)
        if currency is not None:
            currency_validator(currency)
    except ValidationError as exc:
        raise DomainError(errors.INVALID_STORE_SETTING, exc.messages[0]) from exc


@transaction.atomic
def store_create(
    *,
    name: str,
    code: str,
    timezone_name: str = "UTC",
    currency: str = "USD",
    is_active: bool = True,
    code_guess_limit: int = 0,
) -> Store:
    _check_settings(timezone_name=timezone_name, currency=currency)
    _check_store_code(code)
    if not name.strip() or not code.strip():
        raise DomainError(
            errors.INVALID_STORE_SETTING, "A store needs a name and a code."
        )
    try:
        with transaction.atomic():
            return Store.objects.create(
                name=name,
                code=code,
                timezone=timezone_name,
                currency=currency,
                is_active=is_active,
                code_guess_limit=code_guess_limit,
            )
    except IntegrityError as exc:
        raise _store_code_taken(code) from exc


def _check_store_code(code: str) -> None:
    if not SLUG_RE.match(code):
        raise DomainError(
            errors.INVALID_STORE_SETTING,
            "A store code is a slug: letters, digits, '-' and '_'.",
            fields=[FieldIssue("code", "invalid", "Letters, digits, '-' and '_'.")],
        )


def _store_code_taken(code: str) -> DomainError:
    return DomainError(
        errors.STORE_CODE_TAKEN,
        f"A store with code {code!r} already exists.",
        fields=[FieldIssue("code", "unique", "This store code is taken.")],
    )


def _outlet_code_taken(code: str) -> DomainError:
    return DomainError(
        errors.OUTLET_CODE_TAKEN,
        f"This store already has an outlet {code!r}.",
        fields=[FieldIssue("code", "unique", "This outlet code is taken.")],
    )


def _write_given(
    locked: models.Model,
    given: dict[str, object],
    *,
    stamp: Sequence[str] = (),
    taken: DomainError | None = None,
) -> list[str]:
    """Set on the locked row the values given (None: unchanged) that differ from it,
    and UPDATE only those columns (and ``stamp``); returns their names. A unique
    constraint that refuses the write (two writers raced for a code) is ``taken``.
    """
    changed = [
        field
        for field, value in given.items()
        if value is not None and getattr(locked, field) != value
    ]
    for field in changed:
        setattr(locked, field, given[field])
    if not changed:
        return changed
    try:
        with transaction.atomic():
            rows.save_fields(locked, [*changed, *stamp])
    except IntegrityError:
        if taken is None:
            raise
        raise taken from None
    return changed


@transaction.atomic
def store_update(
    *,
    store: Store,
    is_active: bool | None = None,
    timezone_name: str | None = None,
    currency: str | None = None,
    name: str | None = None,
    code: str | None = None,
    code_guess_limit: int | None = None,
) -> Store:
    """Change the settings given (None: unchanged); only those columns are written.

    The row is locked and read again, so two changes of different settings both
    persist (a save of the caller's copy wrote back every setting as it was read),
    and a store deleted meanwhile is ``store_not_found`` (never saved again).
    """
    _check_settings(timezone_name=timezone_name, currency=currency)
    if name is not None and not name.strip():
        raise DomainError(errors.INVALID_STORE_SETTING, "A store needs a name.")
    if code is not None:
        _check_store_code(code)
    if currency is not None:
        _hold_amount_writes(store, currency)
    locked = rows.lock(
        Store.objects.all(),
        pk=store.pk,
        missing=DomainError(errors.STORE_NOT_FOUND, "Store not found."),
    )
    if currency is not None and currency != locked.currency:
        _check_currency_unused(locked, currency)
    given = {
        "is_active": is_active,
        "timezone": timezone_name,
        "currency": currency,
        "name": name,
        "code": code,
        "code_guess_limit": code_guess_limit,
    }
    _write_given(
        locked,
        given,
        stamp=["updated_at"],
        taken=_store_code_taken(code or ""),
    )
    return locked


# What keeps amounts in the store currency's minor units (README, "Money"); a
# redemption, its lines and a hold always name one of the store's coupons.
_AMOUNT_ROWS = (
    ("coupons", "coupons"),
    ("series", "series"),
    ("redemptions", "redemptions"),
    ("legacy_definitions", "NewStore definitions or templates"),
)


# How long a currency change waits for the writes in flight on the amount tables.
CURRENCY_LOCK_TIMEOUT_MS = 3000


def _hold_amount_writes(store: Store, currency: str) -> None:
    """Before a new currency is checked (PostgreSQL): the amount tables locked IN
    SHARE MODE until the transaction ends, so every write in flight on them has
    committed (and is counted) and none starts until the change commits.

    The store row lock alone does not do it: foreign keys are DEFERRABLE INITIALLY
    DEFERRED, so a coupon insert holds nothing on the store row until its commit,
    and the creates do not lock the store row. Taken before the store row (an
    insert's commit-time check waits for that row: the other order deadlocks), only
    when the currency changes (a rare operator action), and for at most
    ``CURRENCY_LOCK_TIMEOUT_MS``: it stops every store's writes to those tables
    while it waits, so a long write in flight makes it give up, not stall them.
    """
    if connection.vendor != "postgresql":
        return  # SQLite: one writer at a time
    if not Store.objects.filter(pk=store.pk).exclude(currency=currency).exists():
        return
    tables = ", ".join(
        connection.ops.quote_name(
            Store._meta.get_field(related).related_model._meta.db_table
        )
        for related, _ in _AMOUNT_ROWS
    )
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('lock_timeout', %s, true)",
                [f"{CURRENCY_LOCK_TIMEOUT_MS}ms"],
            )
            cursor.execute(f"LOCK TABLE {tables} IN SHARE MODE")
            cursor.execute("SET LOCAL lock_timeout TO DEFAULT")
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != "55P03":  # lock_not_available
            raise
        raise DomainError(
            errors.CURRENCY_IN_USE,
            "The currency was not changed: coupons, series or redemptions are being "
            "written now. Try again in a moment.",
        ) from exc


def _check_currency_unused(locked: Store, currency: str) -> None:
    """Refuse a new currency for a store whose rows already hold amounts: they are
    stored in the old currency's minor units (KWD 1.125 is 1125, which JPY reads as
    ¥1,125). Counted with the store row locked FOR UPDATE and, on PostgreSQL, the
    amount tables held by ``_hold_amount_writes``: a row written meanwhile either
    committed first and is counted, or waits for this change."""
    found = [
        label for related, label in _AMOUNT_ROWS if getattr(locked, related).exists()
    ]
    if found:
        raise DomainError(
            errors.CURRENCY_IN_USE,
            f"The currency cannot change from {locked.currency} to {currency}: the "
            f"store has {', '.join(found)}, whose amounts are stored in "
            f"{locked.currency}'s minor units. Use a new store for another currency.",
            fields=[
                FieldIssue(
                    "currency",
                    "in_use",
                    f"The store has {', '.join(found)} with amounts in "
                    f"{locked.currency}; its currency cannot change.",
                )
            ],
        )


@transaction.atomic
def outlet_create(
    *, store: Store, code: str, name: str, is_active: bool = True
) -> Outlet:
    if not code.strip() or not name.strip():
        raise DomainError(
            errors.INVALID_STORE_SETTING, "An outlet needs a code and a name."
        )
    try:
        with transaction.atomic():
            return Outlet.objects.create(
                store=store, code=code, name=name, is_active=is_active
            )
    except IntegrityError as exc:
        raise _outlet_code_taken(code) from exc


@transaction.atomic
def outlet_update(
    *,
    outlet: Outlet,
    code: str | None = None,
    name: str | None = None,
    is_active: bool | None = None,
) -> Outlet:
    """Change what is given (None: unchanged) on the outlet as it is now (locked);
    only those columns are written. An outlet deleted meanwhile is
    ``outlet_not_found``; a code another outlet of the store has is
    ``outlet_code_taken``."""
    if (code is not None and not code.strip()) or (
        name is not None and not name.strip()
    ):
        raise DomainError(
            errors.INVALID_STORE_SETTING, "An outlet needs a code and a name."
        )
    locked = rows.lock(
        Outlet.objects.all(),
        pk=outlet.pk,
        missing=DomainError(errors.OUTLET_NOT_FOUND, "Outlet not found."),
    )
    _write_given(
        locked,
        {"code": code, "name": name, "is_active": is_active},
        taken=_outlet_code_taken(code or ""),
    )
    return locked


@dataclass(frozen=True)
class IssuedKey:
    """A new key with its secret: the only moment the secret exists in clear."""

    api_key: ApiKey
    secret: str

    @property
    def token(self) -> str:
        return f"{self.api_key.key_id}.{self.secret}"


def parse_scopes(raw: str | list[str]) -> list[str]:
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    scopes = [item.strip() for item in items if item.strip()]
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown:
        raise DomainError(
            errors.INVALID_SCOPE,
            f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(ALL_SCOPES)}.",
        )
    if not scopes:
        raise DomainError(errors.INVALID_SCOPE, "Give at least one scope.")
    return list(dict.fromkeys(scopes))


@transaction.atomic
def api_key_create(
    *,
    store: Store,
    scopes: list[str],
    outlet_code: str | None = None,
    name: str = "",
) -> IssuedKey:
    scopes = parse_scopes(scopes)
    outlet = None
    if outlet_code:
        outlet = Outlet.objects.filter(store=store, code=outlet_code).first()
        if outlet is None:
            raise DomainError(
                errors.OUTLET_NOT_FOUND,
                f"Store {store.code} has no outlet {outlet_code!r}.",
            )
    secret = secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        store=store,
        outlet=outlet,
        name=name,
        key_id=KEY_ID_PREFIX + secrets.token_hex(10),
        secret_hash=hash_secret(secret),
        secret_md5_hash=hash_secret(md5_hex(secret)),
        scopes=scopes,
    )
    return IssuedKey(api_key=api_key, secret=secret)


@transaction.atomic
def api_key_update(
    *, api_key: ApiKey, name: str | None = None, rate_limit: str | None = None
) -> ApiKey:
    """Rename a key or set its rate limit ("" = the default); None: unchanged.

    The key is locked and read again, so a revoke meanwhile stays (a save of the
    caller's copy would write ``revoked_at`` back as it was read), and a key deleted
    meanwhile is ``api_key_not_found``.
    """
    if rate_limit:
        try:
            ApiKey._meta.get_field("rate_limit").run_validators(rate_limit)
        except ValidationError as exc:
            message = exc.messages[0]
            raise DomainError(
                errors.INVALID_STORE_SETTING,
                message,
                fields=[FieldIssue("rate_limit", "invalid", message)],
            ) from exc
    locked = rows.lock(
        ApiKey.objects.all(),
        pk=api_key.pk,
        missing=DomainError(errors.API_KEY_NOT_FOUND, "API key not found."),
    )
    _write_given(locked, {"name": name, "rate_limit": rate_limit})
    return locked


@transaction.atomic
def api_key_revoke(*, key_id: str) -> ApiKey:
    api_key = ApiKey.objects.select_for_update().filter(key_id=key_id).first()
    if api_key is None:
        raise DomainError(errors.API_KEY_NOT_FOUND, f"No API key {key_id!r}.")
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key
