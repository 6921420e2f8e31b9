"""The admin index dashboard: per store, the last 30 days as server-drawn SVG charts,
the top series by redemptions, and the outstanding liability.

Every figure is scoped to the user's stores (``core.admin.allowed_store_ids``). The
day counts read only the last 30 days through the ``(store, id)`` indexes (flake IDs
are time-ordered, so "since day X" is "id >= the first id of day X"). The liability
reads every live coupon of the shown stores, so the whole dashboard is cached for a
minute per set of stores.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django import template
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from assignments.models import Assignment
from core import cache as shared_cache
from core import flake, money
from core.admin import allowed_store_ids
from coupons.models import Coupon, DiscountType, Origin, Redemption
from series.models import Series
from stores.models import Store

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


def first_id_of(day: date) -> int:
    """The smallest flake ID made on or after the start of ``day`` (UTC)."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    ms = int(start.timestamp() * 1000) - flake.EPOCH_MS
    return max(ms, 0) << flake.TIMESTAMP_SHIFT


def _per_day(queryset, store_ids, since_id) -> dict[int, dict[date, int]]:
    rows = (
        queryset.filter(store_id__in=store_ids, id__gte=since_id)
        .annotate(day=TruncDate("created_at"))
        .values("store_id", "day")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[int, dict[date, int]] = defaultdict(dict)
    for row in rows:
        counts[row["store_id"]][row["day"]] = row["n"]
    return counts


def svg_chart(days: list[date], lines: dict[str, list[int]], label: str) -> SafeString:
    """A line chart of the day counts, drawn as inline SVG (no script, no CDN)."""
    top = max([1, *(n for values in lines.values() for n in values)])
    step = (WIDTH - 2 * PAD) / max(len(days) - 1, 1)

    def point(i: int, n: int) -> str:
        x = PAD + i * step
        y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * n / top
        return f"{x:.1f},{y:.1f}"

    polylines = format_html_join(
        "",
        '<polyline fill="none" stroke="{}" stroke-width="2" points="{}">'
        "<title>{}: {} in {} days</title></polyline>",
        (
            (
                color,
                " ".join(point(i, n) for i, n in enumerate(lines[key])),
                name,
                sum(lines[key]),
                len(days),
            )
            for key, name, color in LINES
        ),
    )
    legend = format_html_join(
        "",
        '<rect x="{}" y="4" width="10" height="10" fill="{}"></rect>'
        '<text x="{}" y="13" font-size="11">{} ({})</text>',
        (
            (PAD + i * 190, color, PAD + i * 190 + 14, name, sum(lines[key]))
            for i, (key, name, color) in enumerate(LINES)
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
        days[0].isoformat(),
        WIDTH - PAD,
        HEIGHT - 8,
        days[-1].isoformat(),
        legend,
        polylines,
    )


def dashboard_data(store_ids: frozenset[int] | None) -> dict[str, Any]:
    stores_qs = Store.objects.all()
    if store_ids is not None:
        stores_qs = stores_qs.filter(pk__in=store_ids)
    stores = list(stores_qs.order_by("name")[: MAX_STORES + 1])
    more = len(stores) > MAX_STORES
    stores = stores[:MAX_STORES]
    ids = [store.pk for store in stores]
    today = timezone.now().date()
    days = [today - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    since = first_id_of(days[0])

    issued = _per_day(Assignment.objects.all(), ids, since)
    created = _per_day(Coupon.objects.filter(origin=Origin.MANUAL), ids, since)
    redeemed = _per_day(Redemption.objects.counting(), ids, since)

    top = list(
        Redemption.objects.counting()
        .filter(store_id__in=ids, id__gte=since, coupon__series__isnull=False)
        .values("coupon__series_id")
        .annotate(n=Count("id"))
        .order_by("-n", "coupon__series_id")[:TOP_SERIES]
    )
    names = Series.objects.select_related("store").in_bulk(
        [row["coupon__series_id"] for row in top]
    )
    top_series = [
        {"series": names[row["coupon__series_id"]], "redemptions": row["n"]}
        for row in top
        if row["coupon__series_id"] in names
    ]

    now = timezone.now()
    outstanding = (
        Coupon.objects.live()
        .filter(store_id__in=ids, enabled=True, pooled=False, redeemed_count=0)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .values("store_id")
        .annotate(
            amount_total=Sum(
                "discount_amount", filter=Q(discount_type=DiscountType.AMOUNT)
            ),
            amount_count=Count("id", filter=Q(discount_type=DiscountType.AMOUNT)),
            percent_count=Count("id", filter=Q(discount_type=DiscountType.PERCENT)),
        )
        .order_by()
    )
    liability = {row["store_id"]: row for row in outstanding}

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
            }
        )
    return {
        "stores": per_store,
        "more_stores": more,
        "top_series": top_series,
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
