"""Time formats of the dialects. Everything is stored in UTC."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime

# The instants a coupon, series, hold or rule may hold: each renders in every time
# zone (UTC-12 .. UTC+14) without leaving years 1..9999, which Python's datetime
# cannot hold (9999-12-31T23:59:59Z in Europe/Berlin is year 10000).
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)
OUT_OF_RANGE = "The date-time is out of range (0001-01-02 to 9999-12-30 UTC)."


# RFC 3339's date-time (its "T" and "Z" in either case, RFC 3339 section 5.6), seconds
# optional, an offset of hours alone, or a bare date (midnight), in ASCII digits: the
# other ISO 8601 forms ``datetime.fromisoformat`` also reads (week and ordinal dates,
# the basic format, other scripts' digits) are no date-time a vendor's client sends.
_INSTANT = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?)?",
    re.ASCII,
)


def parse_day(text: str) -> date | None:
    """The day ``text`` writes as ``YYYY-MM-DD`` in ASCII digits, else None."""
    if len(text) != 10 or not _INSTANT.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:  # 2027-02-30
        return None


def parse_instant(text: str) -> datetime | None:
    """The date-time ``text`` writes (naive when it names no offset); None when it
    is not one (``_INSTANT``) or names no real day or time."""
    if not _INSTANT.fullmatch(text):
        return None
    try:
        return parse_datetime(text.upper())
    except ValueError:  # 2027-02-30, 25:00
        return None


def storable(value: datetime) -> bool:
    """Whether ``value`` (aware) lies within ``EARLIEST``..``LATEST``."""
    try:
        return EARLIEST <= value.astimezone(UTC) <= LATEST
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00
        return False


def validate_storable(value: datetime | None) -> None:
    """The validator of every date-time a form or command takes."""
    if value is not None and not storable(value):
        raise ValidationError(OUT_OF_RANGE, code="out_of_range")


def in_zone(value: datetime, zone: str | tzinfo) -> datetime:
    """``value`` in ``zone``; in UTC when the zone's clock would leave year 9999
    (a row stored before ``LATEST`` was enforced): shown, never a 500."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    try:
        return value.astimezone(zone)
    except OverflowError:
        return value.astimezone(UTC)


def iso_millis_z(value: datetime | None) -> str | None:
    """PayNow/Capillary ISO form: ``2025-10-08T15:51:07.322Z``."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    # Not strftime: its %Y does not pad years before 1000 on every platform.
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T"
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}."
        f"{value.microsecond // 1000:03d}Z"
    )


def local_seconds(value: datetime | None, tz: str | tzinfo) -> str | None:
    """Capillary ``valid_till`` form: ``2019-12-31 23:59:59`` in the store's zone."""
    if value is None:
        return None
    value = in_zone(value, tz)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )
