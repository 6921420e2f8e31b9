"""Operational endpoints."""

from django.db import DatabaseError, connection
from django.http import JsonResponse

from core import cache


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
