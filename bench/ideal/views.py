"""The ideal SQL of each hot operation, behind a bare DRF view (see ``urls.py``)."""

from __future__ import annotations

import json

from django.db import connection, transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core import flake
from coupons.codes import fold_code
from coupons.redeem import cart

# Claim ``count`` issuable pooled codes of a series (live, enabled), skipping rows
# other claims hold, read through the pool index, whose condition this repeats (the
# array condition keeps the planner from walking the primary key instead; see
# series.pool.in_pool).
CLAIM = """
WITH claimed AS (
    SELECT id FROM coupons_coupon
    WHERE series_id = ANY(%s) AND pooled AND archived_at IS NULL AND enabled
    ORDER BY series_id, id LIMIT %s
    FOR UPDATE SKIP LOCKED
)
UPDATE coupons_coupon c SET pooled = false
FROM claimed WHERE c.id = claimed.id
RETURNING c.id, c.code, c.store_id
"""

# Count one receive against the stock, in one conditional UPDATE.
RECEIVE = """
UPDATE coupons_coupon SET received_count = received_count + 1
WHERE id = %s AND store_id = %s AND enabled AND archived_at IS NULL
  AND (NOT redeem_limit_store_enabled OR received_count < redeem_limit_store_amount)
RETURNING id
"""

# Count one redemption against the store-wide limit, in one conditional UPDATE.
REDEEM = """
UPDATE coupons_coupon SET redeemed_count = redeemed_count + 1
WHERE store_id = %s AND code_folded = %s AND enabled AND archived_at IS NULL
  AND (NOT redeem_limit_store_enabled OR redeemed_count < redeem_limit_store_amount)
RETURNING id, discount_amount
"""

ASSIGN = (
    "INSERT INTO assignments_assignment (id, store_id, coupon_id, customer_id, "
    "series_id, channel, purpose, created_at) VALUES "
)

REDEMPTION = (
    "INSERT INTO coupons_redemption (id, store_id, coupon_id, customer_id, dialect, "
    "order_value, discount_amount, purchase_type, created_at, value_returned, "
    "discount_returned) VALUES (%s, %s, %s, %s, 'ideal', %s, %s, 'one_time', %s, 0, 0)"
)


class _Bare(APIView):
    authentication_classes = ()
    permission_classes = ()


@extend_schema(exclude=True)
class Noop(_Bare):
    def get(self, request):
        return Response({"ok": True})


@extend_schema(exclude=True)
class Issue(_Bare):
    """Claim ``count`` pooled codes (FOR UPDATE SKIP LOCKED), assign them: 1 insert."""

    def post(self, request):
        data = request.data
        count = int(data.get("count", 1))
        customer_id = int(data["customerId"])
        series_id = int(data["seriesId"])
        now = timezone.now()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(CLAIM, [[series_id], count])
            claimed = cursor.fetchall()
            if claimed:
                ids = flake.next_ids(len(claimed))
                rows = ", ".join(
                    ["(%s, %s, %s, %s, %s, 'capillary', '', %s)"] * len(ids)
                )
                params = []
                for new_id, (coupon_id, _code, store_id) in zip(
                    ids, claimed, strict=True
                ):
                    params += [new_id, store_id, coupon_id, customer_id, series_id, now]
                cursor.execute(ASSIGN + rows, params)
        return Response({"codes": [code for _id, code, _store in claimed]})


@extend_schema(exclude=True)
class Receive(_Bare):
    """Count one receive against the stock and record the assignment: two statements."""

    def post(self, request):
        data = request.data
        store_id = int(data["store_id"])
        customer_id = int(data["customer_id"])
        coupon_id = int(data["coupon_id"])
        now = timezone.now()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(RECEIVE, [coupon_id, store_id])
            if cursor.fetchone() is None:
                return Response({"status": 8})
            cursor.execute(
                ASSIGN + "(%s, %s, %s, %s, NULL, 'shoplazza', '', %s)",
                [flake.next_id(), store_id, coupon_id, customer_id, now],
            )
        return Response({"status": 1})


@extend_schema(exclude=True)
class Redeem(_Bare):
    """Count one redemption against the limit and record it: two statements."""

    def post(self, request):
        data = request.data
        store_id = int(data["store_id"])
        customer_id = int(data["customer_id"])
        order_value = int(data.get("order_value", 0))
        now = timezone.now()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(REDEEM, [store_id, fold_code(data["code"])])
            row = cursor.fetchone()
            if row is None:
                return Response({"code": "limit"}, status=409)
            coupon_id, discount = row
            discount = min(discount, order_value)
            cursor.execute(
                REDEMPTION,
                [
                    flake.next_id(),
                    store_id,
                    coupon_id,
                    customer_id,
                    order_value,
                    discount,
                    now,
                ],
            )
        return Response({"id": str(coupon_id)}, status=201)


# A coupon's discount fields, by code, in one indexed read.
COUPON_TERMS = """
SELECT discount_type, discount_amount, discount_max_amount,
       discount_apply_individually, discount_apply_before_sales,
       apply_to_products, apply_to_tags
FROM coupons_coupon
WHERE store_id = %s AND code_folded = %s AND archived_at IS NULL AND enabled
"""


@extend_schema(exclude=True)
class ValidateCart(_Bare):
    """A cart's discount by one code: one read, then the calculation itself
    (``coupons.redeem.cart.split``, the same arithmetic ours runs)."""

    def post(self, request):
        data = request.data
        with connection.cursor() as cursor:
            cursor.execute(
                COUPON_TERMS, [int(data["store_id"]), fold_code(data["code"])]
            )
            row = cursor.fetchone()
        if row is None:
            return Response({"valid": False})
        kind, amount, cap, individually, before_sales, products, tags = row
        if isinstance(products, str):  # SQLite hands JSON back as text
            products, tags = json.loads(products), json.loads(tags or "null")
        rate = cart.Rate(
            kind=kind,
            amount=amount,
            individually=individually,
            before_sales=before_sales,
            max_amount=cap,
            products=frozenset(map(int, products or ())),
            tags=frozenset(map(int, tags or ())),
        )
        lines = tuple(
            cart.Line(
                id=line["id"],
                quantity=line["quantity"],
                unit_price=line["unit_price"],
                sale_unit_price=line.get("sale_unit_price"),
                product_id=int(line["product_id"]) if "product_id" in line else None,
                tag_ids=tuple(int(tag) for tag in line.get("tag_ids", ())),
            )
            for line in data["order"]["lines"]
        )
        split = cart.split(rate, lines)
        return Response(
            {
                "valid": True,
                "discount": split.total,
                "lines": [{"id": i, "discount": d} for i, d in split.lines],
            }
        )
