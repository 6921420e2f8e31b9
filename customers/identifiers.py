"""The one form each customer identifier is compared in (DESIGN.md, identifiers).

An email is stored as it was given (the APIs show it so) and beside it, in
``Customer.email_folded``, as ``fold_email(email)``: the form every lookup compares
and the store's unique index holds. Python folds it, once, on write; the database
never applies its own case rules (PostgreSQL's ``LOWER`` follows the collation: under
``C.UTF-8`` it makes ``İ`` an ``i``, where Python makes it ``i`` + U+0307, so the two
disagreed about which addresses were the same).

Mobiles and external IDs are compared exactly as stored: they have no letter case.
A mobile is written only in the one form a lookup can name it by, digits with an
optional leading ``+`` (``is_mobile``): a separator is refused, not dropped, by the
native API, the CSV import and the admin's form alike.
"""

from __future__ import annotations

import re
import unicodedata

# 3 to 31 ASCII digits (the column holds 32 characters). No spaces, brackets, dashes
# or dots: kept as given, "+1 (555) 123" would never be found by "+1555123".
MOBILE_RE = re.compile(r"\+?[0-9]{3,31}\Z")
MOBILE_MESSAGE = "Must be a phone number: digits, optionally a leading +."


def is_mobile(value: str) -> bool:
    """Whether ``value`` is a mobile as stored and compared (``MOBILE_RE``)."""
    return MOBILE_RE.match(value) is not None


def fold_email(email: str) -> str:
    """``email`` in Unicode NFC, lower-cased by Python's full case mapping.

    Case-insensitive, and nothing more: ``ß`` is not ``ss`` and the dotless i
    (U+0131) is not ``i``
    (both are letters of their own in addresses and domain names), ``ﬁ`` is not
    ``fi``. NFC first and last: the same address typed composed (``é``) or
    decomposed (``e`` + U+0301) is one address, and the result folds to itself.
    """
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", email).lower())


def fold_email_or_none(email: str | None) -> str | None:
    return None if email is None else fold_email(email)
