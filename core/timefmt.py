"""Time formats of the dialects. Everything is stored in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError

# The instants a coupon, series, hold or rule may hold: each renders in every time
# zone (UTC-12 .. UTC+14) without leaving years 1..9999, which Python's datetime
# cannot hold (9999-12-31T23:59:59Z in Europe/Berlin is year 10000).
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)
OUT_OF_RANGE = "The date-time is out of range (0001-01-02 to 9999-12-30 UTC)."


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
