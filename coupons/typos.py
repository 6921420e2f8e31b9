"""The code a lookup reads for a code as typed, and the refusal of a mistyped one.

Every path that looks a coupon up by a code a person typed (a redemption, a
validation, Capillary's isredeemable, NewStore's find by code) calls
``checked_code`` (or ``coupons.typed_codes.read_in`` for several codes) before it
queries anything: a check-character code (``coupons.typed_codes``) is looked up
normalised, and one whose check character is wrong is refused as ``typo`` without
a query.
"""

from __future__ import annotations

from collections.abc import Sequence

from audit import services as audit
from core.actors import Actor
from core.errors import DomainError, FieldIssue
from coupons import errors, typed_codes
from coupons.redeem.decide import Problem
from stores.models import Store

TYPO_MESSAGE = "The code's check character does not match: it was mistyped."
# The reason a validation gives (PayNow validate, Capillary isredeemable).
TYPO_PROBLEM = Problem(errors.TYPO, TYPO_MESSAGE)


def typo_error() -> DomainError:
    return DomainError(
        errors.TYPO,
        TYPO_MESSAGE,
        fields=[FieldIssue("code", errors.TYPO, TYPO_MESSAGE)],
    )


def record_typo(*, store: Store, code: str, actor: Actor) -> None:
    """The refusal in the audit trail (action ``typo``, the code as typed): an
    INSERT, no read."""
    audit.record(
        action=errors.TYPO,
        object_type="code",
        object_id=0,
        store_id=store.pk,
        changes={"code": code},
        actor=actor,
    )


def checked_code(*, store: Store, code: str, actor: Actor | None = None) -> str:
    """The code to look up for ``code`` as typed (``typed_codes.read_in``); a
    mistyped check-character code is ``typo``, refused before any query.

    With ``actor`` (an attempt to redeem) the refusal is recorded in the audit trail
    first. Call it outside the redemption's transaction, which the refusal would
    roll back, audit event and all.
    """
    reading = typed_codes.read_in(store, code)
    if reading.code is not None:
        return reading.code
    if actor is not None:
        record_typo(store=store, code=code, actor=actor)
    raise typo_error()


def looked_up(store: Store, codes: Sequence[str]) -> tuple[list[str | None], list[str]]:
    """For several codes at once (a cart): each code as looked up (None for a typo),
    and the codes to query. A typo is queried as typed, which finds nothing: no
    code that would read as a typo can exist (``typed_codes.reserved_by``)."""
    keys = [typed_codes.read_in(store, code).code for code in codes]
    return keys, [key or code for key, code in zip(keys, codes, strict=True)]
