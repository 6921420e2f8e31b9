"""Routes of this app's dialects: Shoplazza Receive Coupons (seed 000)."""

from django.urls import path

from assignments.api.shoplazza import ReceiveCouponsViewSet

urlpatterns = [
    path(
        "openapi/2022-01/coupons/receive",
        ReceiveCouponsViewSet.as_view({"post": "receive"}),
        name="shoplazza-coupons-receive",
    ),
]
