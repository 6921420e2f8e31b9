"""NewStore v0 routes (seed 004), under ``/v0/d/``."""

from django.urls import path

from legacy.api.newstore import (
    CouponDefinitionViewSet,
    CouponTemplateViewSet,
    LegacyCouponViewSet,
)

urlpatterns = [
    path(
        "v0/d/coupon_definitions",
        CouponDefinitionViewSet.as_view({"post": "create"}),
        name="newstore-coupon-definitions",
    ),
    path(
        "v0/d/coupon_definitions/<str:definition_id>",
        CouponDefinitionViewSet.as_view(
            {"get": "retrieve", "put": "update", "delete": "destroy"}
        ),
        name="newstore-coupon-definition",
    ),
    path(
        "v0/d/coupon_templates",
        CouponTemplateViewSet.as_view({"post": "create"}),
        name="newstore-coupon-templates",
    ),
    path(
        "v0/d/coupon_templates/<str:template_id>",
        CouponTemplateViewSet.as_view({"get": "retrieve"}),
        name="newstore-coupon-template",
    ),
    path(
        "v0/d/coupons",
        LegacyCouponViewSet.as_view({"get": "find", "post": "create"}),
        name="newstore-coupons",
    ),
    path(
        "v0/d/coupons/<str:coupon_id>",
        LegacyCouponViewSet.as_view({"put": "update", "patch": "partial_update"}),
        name="newstore-coupon",
    ),
]
