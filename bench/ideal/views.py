"""The ideal SQL of each hot operation, behind a bare DRF view (see ``urls.py``)."""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core import flake
from coupons.codes import fold_code

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
    "order_value, discount_amount, purchase_type, created_at) "
    "VALUES (%s, %s, %s, %s, 'ideal', %s, %s, 'one_time', %s)"
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
