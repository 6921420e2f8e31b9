"""Routes of the stores app: the Capillary OAuth token endpoint."""

from django.urls import path

from stores.api.capillary import OAuthTokenViewSet

urlpatterns = [
    path(
        "v3/oauth/token/generate",
        OAuthTokenViewSet.as_view({"post": "generate"}),
        name="capillary-oauth-token",
    ),
]
