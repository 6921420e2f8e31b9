"""How a request names a customer: the value services take, not a row or a query."""

from __future__ import annotations

from dataclasses import dataclass

from core import compact


@dataclass(frozen=True)
class CustomerRef:
    """A customer named by its id, its compact id (Capillary), or an identifier.

    Several given narrow the match (all must hold). A service resolves the reference
    itself, inside its transaction and with the lock its rules need, so it never
    trusts a row read before the transaction began.
    """

    id: int | None = None
    compact_id: int | None = None
    email: str | None = None
    mobile: str | None = None
    external_id: str | None = None

    @classmethod
    def by_id(cls, customer_id: int) -> CustomerRef:
        return cls(id=customer_id)

    @classmethod
    def named(
        cls,
        *,
        id: int | None = None,
        email: str | None = None,
        mobile: str | None = None,
        external_id: str | None = None,
    ) -> CustomerRef:
        """A customer as a client names it: ``id`` is the compact id it was shown
        (Capillary) or, shown before compact ids existed, the flake id (a compact id
        is never as large as a flake id); the identifiers as given."""
        small = id is not None and compact.is_compact(id)
        return cls(
            id=None if small else id,
            compact_id=id if small else None,
            email=email,
            mobile=mobile,
            external_id=external_id,
        )

    @property
    def given(self) -> bool:
        """Whether anything names a customer at all."""
        return any(value is not None for value in vars(self).values())

    def lookups(self) -> dict[str, object]:
        """The given parts, as keyword arguments of ``customer_find``/``_query``."""
        names = {"id": "customer_id"}
        return {
            names.get(key, key): value
            for key, value in vars(self).items()
            if value is not None
        }
