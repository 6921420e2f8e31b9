"""What staff paste into a change list's search box, found through indexes.

Staff paste a code a customer read out, an email, a mobile, an external ID, a
transaction number or an ID. Each is compared exactly, in the form it is stored in
(DESIGN.md, identifiers): a code as ``fold_code`` makes it, through the folded-code
index of every coupon (``coupon_code_folded_idx``: any store, archived or not); an
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
from coupons.codes import fold_code
from coupons.models import Coupon
from customers.identifiers import fold_email
from customers.models import Customer

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


def coupon_ids(term: str, *, store_ids: Collection[int] | None = None) -> list[int]:
    """Coupons whose folded code, id (flake or compact) or legacy UUID is ``term``."""
    match = Q(code_folded=fold_code(term))
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
        matches = resolve(search_term, store_ids=allowed_store_ids(request))
        if matches is None:
            return queryset, False
        return queryset.filter(self.search_condition(matches)), False
