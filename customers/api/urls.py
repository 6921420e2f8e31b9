from django.urls import path

from customers.api.paynow import CustomerViewSet

collection = CustomerViewSet.as_view({"get": "list", "post": "create"})
item = CustomerViewSet.as_view(
    {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
)

urlpatterns = [
    path("v1/stores/<str:store_id>/customers", collection, name="customers"),
    path("v1/stores/<str:store_id>/customers/<str:customer_id>", item, name="customer"),
]

# Capillary v1.1 (seed 003).
from customers.api.capillary import CustomerCouponsViewSet  # noqa: E402

urlpatterns += [
    path(
        "v1.1/customer/coupons",
        CustomerCouponsViewSet.as_view({"get": "list"}),
        name="capillary-customer-coupons",
    ),
]
