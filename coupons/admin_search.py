"""What staff paste into a change list's search box, found through indexes.

Staff paste a code a customer read out, an email, a mobile, an external ID, a
transaction number or an ID. Each is compared exactly, in the form it is stored in
(DESIGN.md, identifiers): a code as ``fold_code`` makes it, through the folded-code
index of every coupon (``coupon_code_folded_idx``: any store, archived or not), and
a code of a check-character series typed loosely (``bf-9kx2 abcd-y``) also as the
dialects read it (``coupons.typed_codes.read`` with the shapes of the stores
searched: case, spaces and dashes ignored, ``O``->``0``, ``I``/``L``->``1``); an
email as ``fold_email`` makes it, a mobile and an external ID as typed, through the
customers' unique indexes, which lead with the identifier (so a search without a
store is a lookup too); an ID as a flake ID or the compact ID the Capillary dialect
shows.

The term is first resolved (``resolve``) to the ids of the coupons and customers it
names: one small query each, through those indexes. Each change list then keeps its
rows that point at these ids (``coupon_id``, ``customer_id``, ...), again through
its indexes, so PostgreSQL combines index scans (a BitmapOr) and sorts the few rows
found. Neither a substring search (``icontains``) nor an OR of subqueries is used:
PostgreSQL serves either only by reading every row of the table.

It lives in coupons, not core: it reads the coupons, customers and assignments tables.
``ExactSearchMixin`` is the change lists' side of it.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Collection
from dataclasses import dataclass

from django.db.models import Q

from assignments.models import Assignment
from core import compact, flake
from core.admin import allowed_store_ids
from coupons import typed_codes
from coupons.codes import fold_code
from coupons.models import Coupon
from customers.identifiers import fold_email
from customers.models import Customer
from stores.models import Store

# Ids taken from one lookup: the change lists number their pages up to 10,000 rows
# (core.paginator.COUNT_CAP), and a search is for a handful.
MATCH_CAP = 10_000


@dataclass(frozen=True)
class Matches:
    term: str
    # The term as an id (a flake id, or a compact id), for rows matched by their own.
    number: int | None
    # Coupons whose code (any letter case), id, compact id or legacy UUID it is.
    coupon_ids: tuple[int, ...]
    # Customers whose email (any case), mobile, external ID, id or compact id it is.
    customer_ids: tuple[int, ...]

    def id_match(self, field: str = "pk") -> Q | None:
        """The term as the row's own id (a flake id; a compact id has no row id)."""
        if self.number is None or compact.is_compact(self.number):
            return None
        return Q(**{field: self.number})


def _number(term: str) -> int | None:
    return flake.parse(term)


def typed_code(term: str, *, store_ids: Collection[int] | None = None) -> str | None:
    """The code ``term`` names when it is a check-character code typed loosely, read
    as every dialect reads it (``typed_codes.read``) with the check-character shapes
    of the stores searched; None when it is not one, or reads the same folded (the
    folded lookup finds it then). The stores are read only for a term that could be
    one (alphabet symbols once normalised, and not already folded)."""
    folded, normalised = fold_code(term), typed_codes.normalise(term)
    if normalised == folded or not typed_codes.is_symbols(normalised):
        return None
    stores = Store.objects.exclude(typed_code_shapes=[]).order_by()
    if store_ids is not None:
        stores = stores.filter(pk__in=store_ids)
    shapes = {
        typed_codes.Shape.parse(shape)
        for shapes in stores.values_list("typed_code_shapes", flat=True)
        for shape in shapes
    }
    reading = typed_codes.read(term, sorted(shapes, key=typed_codes.Shape.stored))
    if not reading.checked or reading.code is None or reading.code == folded:
        return None
    return reading.code


def coupon_ids(term: str, *, store_ids: Collection[int] | None = None) -> list[int]:
    """Coupons whose folded code (or the code a loosely typed check-character code
    names: ``typed_code``), id (flake or compact) or legacy UUID is ``term``."""
    match = Q(code_folded=fold_code(term))
    if (typed := typed_code(term, store_ids=store_ids)) is not None:
        match = Q(code_folded__in=[fold_code(term), typed])
    if (number := _number(term)) is not None:
        match |= compact.lookup(number)
    with contextlib.suppress(ValueError):
        match |= Q(legacy_uuid=uuid.UUID(term))
    found = Coupon.objects.filter(match)
    if store_ids is not None:
        found = found.filter(store_id__in=store_ids)
    return list(found.order_by().values_list("pk", flat=True)[:MATCH_CAP])


def customer_ids(term: str, *, store_ids: Collection[int] | None = None) -> list[int]:
    """Customers whose folded email, mobile, external ID or id (flake or compact) is
    ``term``."""
    match = Q(email_folded=fold_email(term)) | Q(mobile=term) | Q(external_id=term)
    if (number := _number(term)) is not None:
        match |= compact.lookup(number)
    found = Customer.objects.filter(match)
    if store_ids is not None:
        found = found.filter(store_id__in=store_ids)
    return list(found.order_by().values_list("pk", flat=True)[:MATCH_CAP])


def resolve(term: str, *, store_ids: Collection[int] | None = None) -> Matches | None:
    """What ``term`` names (None for a blank term); ``store_ids`` narrows the
    lookups to the stores the user may see (None: every store)."""
    term = term.strip()
    if not term:
        return None
    return Matches(
        term=term,
        number=_number(term),
        coupon_ids=tuple(coupon_ids(term, store_ids=store_ids)),
        customer_ids=tuple(customer_ids(term, store_ids=store_ids)),
    )


def coupons_held(customer_ids: Collection[int]) -> list[int]:
    """The coupons these customers hold (newest assignments first) or that are
    restricted to them, at most ``MATCH_CAP`` of each."""
    if not customer_ids:
        return []
    held = (
        Assignment.objects.filter(customer_id__in=customer_ids)
        .order_by("-id")
        .values_list("coupon_id", flat=True)[:MATCH_CAP]
    )
    restricted = (
        Coupon.objects.filter(usable_by_customer_id__in=customer_ids)
        .order_by("-id")
        .values_list("pk", flat=True)[:MATCH_CAP]
    )
    return [*held, *restricted]


def any_of(*conditions: Q | None) -> Q:
    """The OR of the conditions given; one that matches nothing when none is."""
    given = [condition for condition in conditions if condition is not None]
    if not given:
        return Q(pk__in=[])
    combined = given[0]
    for condition in given[1:]:
        combined |= condition
    return combined


class ExactSearchMixin:
    """A change list search that stays index lookups on a big table: the term is
    resolved to the coupons and customers it names (``resolve``), and
    ``search_condition`` keeps the rows pointing at them."""

    def search_condition(self, matches: Matches) -> Q:
        raise NotImplementedError

    def get_search_results(self, request, queryset, search_term):
        # An autocomplete's term with NUL names nothing (PostgreSQL text cannot hold
        # it), as core.admin.NulFreeFiltersMixin has it; this mixin comes first.
        if "\x00" in search_term:
            return queryset.none(), False
        matches = resolve(search_term, store_ids=allowed_store_ids(request))
        if matches is None:
            return queryset, False
        return queryset.filter(self.search_condition(matches)), False
