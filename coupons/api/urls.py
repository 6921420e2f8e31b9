from django.urls import path

from coupons.api.paynow import (
    CouponValidationViewSet,
    CouponViewSet,
    HoldViewSet,
    RedemptionViewSet,
)

STORE = "v1/stores/<str:store_id>"

urlpatterns = [
    path(
        f"{STORE}/coupons",
        CouponViewSet.as_view({"get": "list", "post": "create"}),
        name="paynow-coupons",
    ),
    # Before the {coupon_id} route, which would otherwise take "validate".
    path(
        f"{STORE}/coupons/validate",
        CouponValidationViewSet.as_view({"post": "validate"}),
        name="coupon-validate",
    ),
    path(
        f"{STORE}/coupons/<str:coupon_id>",
        CouponViewSet.as_view(
            {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
        ),
        name="paynow-coupon",
    ),
    path(
        f"{STORE}/redemptions",
        RedemptionViewSet.as_view({"get": "list", "post": "create"}),
        name="redemptions",
    ),
    path(
        f"{STORE}/holds",
        HoldViewSet.as_view({"post": "create"}),
        name="holds",
    ),
    path(
        f"{STORE}/holds/<str:hold_id>",
        HoldViewSet.as_view({"delete": "destroy"}),
        name="hold",
    ),
    path(
        f"{STORE}/redemptions/<str:redemption_id>/rollback",
        RedemptionViewSet.as_view({"post": "rollback"}),
        name="redemption-rollback",
    ),
]

# Capillary v1.1 (related to seed 003): redeem and isredeemable.
from coupons.api.capillary import (  # noqa: E402
    CouponIsRedeemableViewSet,
    CouponRedeemViewSet,
)

urlpatterns += [
    path(
        "v1.1/coupon/redeem",
        CouponRedeemViewSet.as_view({"post": "create"}),
        name="capillary-coupon-redeem",
    ),
    path(
        "v1.1/coupon/isredeemable",
        CouponIsRedeemableViewSet.as_view({"get": "list"}),
        name="capillary-coupon-isredeemable",
    ),
]
