"""Operational endpoints."""

import ipaddress

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import Http404, HttpResponse, JsonResponse
from django.utils.module_loading import import_string

from core import cache
from core import metrics as prometheus


def healthz(request):
    """200 while the database answers, 503 when it does not.

    The cache is reported but does not decide the status: without it the API still
    serves (rate limits are not enforced), so ``status`` is ``degraded``.
    """
    cache_state = cache.probe()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse(
            {"status": "unavailable", "database": "down", "cache": cache_state},
            status=503,
        )
    status = "degraded" if cache_state == "down" else "ok"
    return JsonResponse({"status": status, "database": "up", "cache": cache_state})


def metrics(request):
    """The Prometheus text format (``core.metrics``), for superusers signed in to
    the admin and for clients in ``METRICS_ALLOWED_NETWORKS`` (the Prometheus server);
    anyone else gets a 404, as if there were nothing here. Reads no cache, so it
    answers with the cache down."""
    if not _may_scrape(request):
        raise Http404
    return HttpResponse(prometheus.exposition(), content_type=prometheus.CONTENT_TYPE)


def _may_scrape(request) -> bool:
    user = getattr(request, "user", None)
    # Superusers only: the figures are per store, and other staff see only their own
    # stores' rows in the admin.
    if user is not None and user.is_active and user.is_superuser:
        return True
    networks = settings.METRICS_ALLOWED_NETWORKS
    if not networks:
        return False
    # The client as the rate limits see it (behind TRUSTED_PROXY_COUNT proxies, the
    # address the outermost one saw), never a header the client alone wrote.
    address = import_string(settings.CLIENT_ADDRESS_FUNCTION)(request)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in ipaddress.ip_network(net, strict=False) for net in networks)
