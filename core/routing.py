"""What the API answers for a path no route matches, or a request Django refuses
before any view, and PayNow's trailing slash.

Each dialect lives under its own path prefixes (``config/urls.py``). A path under
one of them that no route matches is a 404 in that dialect's error body, as an
unknown id is (``not_found``, the ``handler404``), and a request Django refuses
itself (a ``Host`` outside ``ALLOWED_HOSTS``) the dialect's 400 (``bad_request``,
the ``handler400``); any other path (the admin, the docs) keeps Django's HTML page.

PayNow is an ASP.NET API, whose routing takes ``/coupons/`` for ``/coupons``: a
client built for it may add the slash. ``PayNowTrailingSlash`` drops one trailing
slash of a path under ``/v1/`` before the URL is resolved, so such a request reaches
the route it names (an unknown one is then still the JSON 404). The other dialects'
routes are matched as their vendors spell them.
"""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.views import defaults
from rest_framework.renderers import JSONRenderer

from core.dialects.base import Dialect, normalise
from core.dialects.capillary import CAPILLARY_OAUTH, CAPILLARY_V2
from core.dialects.capillary_v11 import CAPILLARY_V11
from core.dialects.newstore import NEWSTORE
from core.dialects.paynow import PAYNOW
from core.dialects.shoplazza import SHOPLAZZA
from core.errors import ApiError

PAYNOW_PREFIX = "/v1/"
# Longest first where one prefix starts another.
API_PREFIXES: tuple[tuple[str, Dialect], ...] = (
    ("/v1.1/", CAPILLARY_V11),
    (PAYNOW_PREFIX, PAYNOW),
    ("/openapi/", SHOPLAZZA),
    ("/v2/", CAPILLARY_V2),
    ("/v3/", CAPILLARY_OAUTH),
    ("/v0/", NEWSTORE),
)


def dialect_for_path(path: str) -> Dialect | None:
    """The dialect whose prefix ``path`` is under (None: not an API path)."""
    for prefix, dialect in API_PREFIXES:
        if path.startswith(prefix) or path == prefix[:-1]:
            return dialect
    return None


def not_found(request, exception):
    """``handler404``: the dialect's 404 under an API prefix, else Django's page."""
    dialect = dialect_for_path(request.path)
    if dialect is None:
        return defaults.page_not_found(request, exception)
    return _render(dialect, normalise(Http404()), request)


def bad_request(request, exception):
    """``handler400``: what Django refuses before any view (a ``Host`` outside
    ``ALLOWED_HOSTS``, another suspicious request) is the dialect's 400 under an API
    prefix (a body over the limit its 413), else Django's page."""
    dialect = dialect_for_path(request.path)
    if dialect is None:
        return defaults.bad_request(request, exception)
    error = normalise(exception) or ApiError("bad_request", "Bad Request.")
    return _render(dialect, error, request)


def _render(dialect: Dialect, error: ApiError, request) -> HttpResponse:
    """The dialect's error response, rendered outside a DRF view."""
    response = dialect.render(error, request)
    response.accepted_renderer = JSONRenderer()
    response.accepted_media_type = JSONRenderer.media_type
    response.renderer_context = {"request": request}
    return response.render()


class PayNowTrailingSlash:
    """Drop one trailing slash of a path under ``/v1/`` (the module doc)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path.startswith(PAYNOW_PREFIX) and path.endswith("/"):
            request.path_info = path[:-1]
            request.path = request.path[:-1]
        return self.get_response(request)
