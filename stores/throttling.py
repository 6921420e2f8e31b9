"""Rate limits per API key on the shared cache (Redis in production)."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class ApiKeyRateThrottle(SimpleRateThrottle):
    """``ApiKey.rate_limit`` (e.g. ``600/min``), else ``settings.API_KEY_RATE_LIMIT``.

    Counted per key across every process, since the cache is shared.
    """

    scope = "api_key"

    def __init__(self) -> None:
        # The rate depends on the key, so it is read in allow_request.
        pass

    def allow_request(self, request, view) -> bool:
        api_key = getattr(request, "auth", None)
        rate = getattr(api_key, "rate_limit", "") or getattr(
            settings, "API_KEY_RATE_LIMIT", ""
        )
        if api_key is None or not rate:
            return True
        self.rate = rate
        self.num_requests, self.duration = self.parse_rate(rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str:
        return f"throttle:api_key:{request.auth.pk}"
