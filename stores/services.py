"""Writes of the stores app: stores, outlets and API keys."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import rows
from core.errors import DomainError
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
    *, name: str, code: str, timezone_name: str = "UTC", currency: str = "USD"
) -> Store:
    _check_settings(timezone_name=timezone_name, currency=currency)
    if not SLUG_RE.match(code):
        raise DomainError(
            errors.INVALID_STORE_SETTING,
            "A store code is a slug: letters, digits, '-' and '_'.",
        )
    if not name.strip() or not code.strip():
        raise DomainError(
            errors.INVALID_STORE_SETTING, "A store needs a name and a code."
        )
    try:
        with transaction.atomic():
            return Store.objects.create(
                name=name, code=code, timezone=timezone_name, currency=currency
            )
    except IntegrityError as exc:
        raise DomainError(
            errors.STORE_CODE_TAKEN, f"A store with code {code!r} already exists."
        ) from exc


@transaction.atomic
def store_update(
    *,
    store: Store,
    is_active: bool | None = None,
    timezone_name: str | None = None,
    currency: str | None = None,
    name: str | None = None,
) -> Store:
    """Change the settings given (None: unchanged); only those columns are written.

    The row is locked and read again, so two changes of different settings both
    persist (a save of the caller's copy wrote back every setting as it was read).
    """
    _check_settings(timezone_name=timezone_name, currency=currency)
    if name is not None and not name.strip():
        raise DomainError(errors.INVALID_STORE_SETTING, "A store needs a name.")
    locked = rows.lock(
        Store.objects.all(),
        pk=store.pk,
        missing=DomainError(errors.STORE_NOT_FOUND, "Store not found."),
    )
    given = {
        "is_active": is_active,
        "timezone": timezone_name,
        "currency": currency,
        "name": name,
    }
    changed = [
        field
        for field, value in given.items()
        if value is not None and getattr(locked, field) != value
    ]
    for field in changed:
        setattr(locked, field, given[field])
    if changed:
        rows.save_fields(locked, [*changed, "updated_at"])
    return locked


@transaction.atomic
def outlet_create(*, store: Store, code: str, name: str) -> Outlet:
    if not code.strip() or not name.strip():
        raise DomainError(
            errors.INVALID_STORE_SETTING, "An outlet needs a code and a name."
        )
    try:
        with transaction.atomic():
            return Outlet.objects.create(store=store, code=code, name=name)
    except IntegrityError as exc:
        raise DomainError(
            errors.OUTLET_CODE_TAKEN, f"This store already has an outlet {code!r}."
        ) from exc


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
def api_key_revoke(*, key_id: str) -> ApiKey:
    api_key = ApiKey.objects.select_for_update().filter(key_id=key_id).first()
    if api_key is None:
        raise DomainError(errors.API_KEY_NOT_FOUND, f"No API key {key_id!r}.")
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key
