"""URL map: each dialect's paths come from its app's ``api/urls.py``."""

import os

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from core.views import healthz, metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("", include("customers.api.urls")),
    path("", include("coupons.api.urls")),
    path("", include("assignments.api.urls")),
    path("", include("series.api.urls")),
    path("", include("legacy.api.urls")),
    path("", include("stores.api.urls")),
]

# Under an API prefix: a path no route matches is the dialect's JSON 404, and a
# request Django refuses before any view (a Host outside ALLOWED_HOSTS) its 400.
handler404 = "core.routing.not_found"
handler400 = "core.routing.bad_request"

# The benchmark's ideal endpoints (bench/ideal), mounted only in a benchmark server.
if os.environ.get("BENCH_IDEAL") == "1":
    urlpatterns.append(path("", include("bench.ideal.urls")))
