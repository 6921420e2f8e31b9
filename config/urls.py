"""URL map: each dialect's paths come from its app's ``api/urls.py``."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.views import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include("customers.api.urls")),
    path("", include("coupons.api.urls")),
    path("", include("assignments.api.urls")),
    path("", include("series.api.urls")),
    path("", include("legacy.api.urls")),
]
