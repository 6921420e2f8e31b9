"""The admin index dashboard: per store, the last 30 days as server-drawn SVG charts,
the top series by redemptions, and the outstanding liability; and the last day hour by
hour (redemptions, failed code lookups) with the coupons whose redemptions jump.

Every figure is scoped to the user's stores (``core.admin.allowed_store_ids``) and read
by the selectors of the app that owns it; the day counts read only the last 30 days
through the ``(store, id)`` indexes (``core.daycounts``). The liability reads every
live coupon of the shown stores, so the whole dashboard is cached for a minute per set
of stores. Failed lookups per hour are ``stores.guessing``'s durable counts
(``FailedLookupCount``), never the cache's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from assignments.selectors import assignments_per_day
from core import cache as shared_cache
from core import money
from core.admin import allowed_store_ids
from core.daycounts import first_id_at, first_id_of
from coupons.selectors import (
    coupons_made_per_day,
    outstanding_liability,
    redemption_jumps,
    redemptions_per_day,
    redemptions_per_hour,
)
from series.selectors import series_most_redeemed
from stores.selectors import failed_lookups_per_hour, stores_by_name

register = template.Library()

DAYS = 30
MAX_STORES = 12
TOP_SERIES = 10
CACHE_SECONDS = 60
WIDTH, HEIGHT, PAD = 620, 170, 30
LINES = (
    ("issued", "Issued to customers", "#2b7bb9"),
    ("created", "Made by hand", "#999999"),
    ("redeemed", "Redeemed", "#d2691e"),
)
HOURS = 24
HOUR_LINES = (
    ("redeemed", "Redeemed", "#d2691e"),
    ("failed", "Failed code lookups", "#b22222"),
)
# A coupon is flagged when its last hour has at least JUMP_MINIMUM redemptions and
# more than JUMP_RATIO times its usual hour (its mean over the 23 hours before).
JUMP_RATIO = 5
JUMP_MINIMUM = 10
MAX_JUMPS = 20


def svg_chart(
    days: list[date] | list[datetime],
    lines: dict[str, list[int]],
    label: str,
    *,
    series: tuple[tuple[str, str, str], ...] = LINES,
    unit: str = "days",
) -> SafeString:
    """A line chart of the day (or hour) counts, drawn as inline SVG (no script, no
    CDN)."""
    top = max([1, *(n for values in lines.values() for n in values)])
    step = (WIDTH - 2 * PAD) / max(len(days) - 1, 1)

    def point(i: int, n: int) -> str:
        x = PAD + i * step
        y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * n / top
        return f"{x:.1f},{y:.1f}"

    polylines = format_html_join(
        "",
        '<polyline fill="none" stroke="{}" stroke-width="2" points="{}">'
        "<title>{}: {} in {} {}</title></polyline>",
        (
            (
                color,
                " ".join(point(i, n) for i, n in enumerate(lines[key])),
                name,
                sum(lines[key]),
                len(days),
                unit,
            )
            for key, name, color in series
        ),
    )
    legend = format_html_join(
        "",
        '<rect x="{}" y="4" width="10" height="10" fill="{}"></rect>'
        '<text x="{}" y="13" font-size="11">{} ({})</text>',
        (
            (PAD + i * 190, color, PAD + i * 190 + 14, name, sum(lines[key]))
            for i, (key, name, color) in enumerate(series)
        ),
    )
    return format_html(
        '<svg class="dashboard-chart" role="img" aria-label="{}" width="100%" '
        'style="max-width: {}px; aspect-ratio: {} / {}" viewBox="0 0 {} {}" '
        'xmlns="http://www.w3.org/2000/svg">'
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#ccc"></line>'
        '<text x="2" y="{}" font-size="10">{}</text>'
        '<text x="2" y="{}" font-size="10">0</text>'
        '<text x="{}" y="{}" font-size="10">{}</text>'
        '<text x="{}" y="{}" font-size="10" text-anchor="end">{}</text>'
        "{}{}</svg>",
        label,
        WIDTH,
        WIDTH,
        HEIGHT,
        WIDTH,
        HEIGHT,
        PAD,
        HEIGHT - PAD,
        WIDTH - PAD,
        HEIGHT - PAD,
        PAD + 4,
        top,
        HEIGHT - PAD,
        PAD,
        HEIGHT - 8,
        _label(days[0]),
        WIDTH - PAD,
        HEIGHT - 8,
        _label(days[-1]),
        legend,
        polylines,
    )


def _label(moment: date | datetime) -> str:
    if isinstance(moment, datetime):
        return moment.strftime("%H:00")
    return moment.isoformat()


def last_day_data(stores: list, now: datetime) -> dict[str, Any]:
    """Per store, redemptions and failed code lookups per hour over the last
    ``HOURS`` hours (UTC, the current hour last), and the coupons whose redemptions
    jump."""
    ids = [store.pk for store in stores]
    current = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    hours = [current - timedelta(hours=HOURS - 1 - i) for i in range(HOURS)]
    redeemed = redemptions_per_hour(store_ids=ids, since_id=first_id_at(hours[0]))
    failed = failed_lookups_per_hour(store_ids=ids, since=hours[0])
    jumps = redemption_jumps(
        store_ids=ids,
        since=now - timedelta(hours=HOURS),
        hour_from=now - timedelta(hours=1),
        ratio=JUMP_RATIO,
        minimum=JUMP_MINIMUM,
    )[:MAX_JUMPS]
    names = {store.pk: store for store in stores}
    per_store = {}
    for store in stores:
        lines = {
            "redeemed": [redeemed[store.pk].get(hour, 0) for hour in hours],
            "failed": [failed[store.pk].get(hour, 0) for hour in hours],
        }
        per_store[store.pk] = {
            "redeemed_last_day": sum(lines["redeemed"]),
            "failed_last_day": sum(lines["failed"]),
            "hourly": lines,
            "hourly_chart": svg_chart(
                hours,
                lines,
                f"{store.name}: last {HOURS} hours",
                series=HOUR_LINES,
                unit="hours",
            ),
        }
    return {
        "per_store": per_store,
        "jumps": [
            {
                **jump,
                "store": names[jump["store_id"]],
                "usual": round(jump["before"] / (HOURS - 1), 1),
            }
            for jump in jumps
        ],
    }


def dashboard_data(store_ids: frozenset[int] | None) -> dict[str, Any]:
    stores = stores_by_name(ids=store_ids, limit=MAX_STORES + 1)
    more = len(stores) > MAX_STORES
    stores = stores[:MAX_STORES]
    ids = [store.pk for store in stores]
    today = timezone.now().date()
    days = [today - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    since = first_id_of(days[0])

    issued = assignments_per_day(store_ids=ids, since_id=since)
    created = coupons_made_per_day(store_ids=ids, since_id=since)
    redeemed = redemptions_per_day(store_ids=ids, since_id=since)
    top_series = series_most_redeemed(store_ids=ids, since_id=since, limit=TOP_SERIES)
    liability = outstanding_liability(store_ids=ids, at=timezone.now())
    last_day = last_day_data(stores, timezone.now())

    per_store = []
    for store in stores:
        lines = {
            "issued": [issued[store.pk].get(day, 0) for day in days],
            "created": [created[store.pk].get(day, 0) for day in days],
            "redeemed": [redeemed[store.pk].get(day, 0) for day in days],
        }
        owed = liability.get(store.pk, {})
        per_store.append(
            {
                "store": store,
                "issued": sum(lines["issued"]),
                "created": sum(lines["created"]),
                "redeemed": sum(lines["redeemed"]),
                "chart": svg_chart(days, lines, f"{store.name}: last {DAYS} days"),
                "liability": money.format_money(
                    owed.get("amount_total") or 0, store.currency
                ),
                "liability_coupons": owed.get("amount_count") or 0,
                "percent_coupons": owed.get("percent_count") or 0,
                **last_day["per_store"][store.pk],
            }
        )
    return {
        "stores": per_store,
        "more_stores": more,
        "top_series": top_series,
        "jumps": last_day["jumps"],
        "hours": HOURS,
        "jump_ratio": JUMP_RATIO,
        "jump_minimum": JUMP_MINIMUM,
        "days": DAYS,
        "since": days[0],
    }


@register.inclusion_tag("admin/couponhub/dashboard.html", takes_context=True)
def couponhub_dashboard(context) -> dict[str, Any]:
    request = context["request"]
    store_ids = allowed_store_ids(request)
    key = "admin-dashboard:" + (
        "all" if store_ids is None else ",".join(map(str, sorted(store_ids)))
    )
    # The cache only saves work: with it down the dashboard is computed each time.
    data = shared_cache.get_quietly(key)
    if data is None:
        data = dashboard_data(store_ids)
        shared_cache.set_quietly(key, data, CACHE_SECONDS)
    return data
