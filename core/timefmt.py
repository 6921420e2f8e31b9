"""Time formats of the dialects. Everything is stored in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo


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
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    value = value.astimezone(zone)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )
