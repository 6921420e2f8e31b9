"""System checks of the deployment (``manage.py check [--deploy]``, ``migrate``)."""

from __future__ import annotations

import logging
import os

from django.conf import settings
from django.core import checks

from core import cache

logger = logging.getLogger(__name__)


@checks.register(checks.Tags.caches)
def check_shared_cache(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Rate limits count in the default cache: in production it must be shared."""
    if settings.DEBUG or not cache.is_per_process():
        return []
    return [
        checks.Warning(
            "The default cache is per-process "
            f"({settings.CACHES['default']['BACKEND']}): every worker counts rate "
            "limits and failed logins on its own, so N workers let N times the limit "
            "through.",
            hint="Set CACHE_URL to a Redis shared by every process, e.g. "
            "CACHE_URL=redis://127.0.0.1:6379/1 (README, production).",
            id="core.W001",
        )
    ]


def warn_at_server_start() -> None:
    """gunicorn runs no system checks: log this one's warning in each worker.

    (gunicorn's arbiter sets ``SERVER_SOFTWARE`` in the environment it forks.)
    """
    if not os.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn"):
        return
    for message in check_shared_cache():
        logger.warning("%s: %s HINT: %s", message.id, message.msg, message.hint)
