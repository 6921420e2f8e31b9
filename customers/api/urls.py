from django.urls import re_path

from customers.api.paynow import CustomerViewSet

collection = CustomerViewSet.as_view({"get": "list", "post": "create"})
item = CustomerViewSet.as_view(
    {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
)

urlpatterns = [
    re_path(
        r"^v1/stores/(?P<store_id>[^/]+)/customers/?$", collection, name="customers"
    ),
    re_path(
        r"^v1/stores/(?P<store_id>[^/]+)/customers/(?P<pk>[^/]+)/?$",
        item,
        name="customer",
    ),
]
