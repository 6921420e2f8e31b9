"""The deployment's system check (issue 16, item 7): with DEBUG off, a per-process
cache (LocMem, the default without ``CACHE_URL``) is a warning, since every worker
would count rate limits on its own. Before: production started silently with it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from core.checks import check_shared_cache

ROOT = Path(__file__).resolve().parents[2]


def _check(**env_overrides: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"DEBUG", "DJANGO_SETTINGS_MODULE", "CACHE_URL", "SECURE_SSL_REDIRECT"}
    }
    env.update(
        SECRET_KEY="x" * 20 + "production-like-secret-key-for-the-check-0123456789",
        ALLOWED_HOSTS="coupons.example.com",
        DJANGO_SETTINGS_MODULE="config.settings.base",
        **env_overrides,
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_deploy_warns_about_a_per_process_cache():
    result = _check()
    assert result.returncode != 0
    assert "(core.W001) The default cache is per-process" in result.stderr
    assert "Set CACHE_URL" in result.stderr


def test_check_deploy_is_quiet_with_a_shared_cache():
    result = _check(CACHE_URL="redis://127.0.0.1:6379/1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "core.W001" not in result.stdout + result.stderr


def test_the_check_is_silent_in_development(settings):
    settings.DEBUG = True
    assert check_shared_cache() == []


def test_the_check_names_the_dummy_cache_too(settings):
    settings.DEBUG = False
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    }
    [warning] = check_shared_cache()
    assert warning.id == "core.W001"
    assert "DummyCache" in warning.msg


def test_a_mistyped_rate_stops_the_start_instead_of_failing_every_request():
    for name in ("API_KEY_RATE_LIMIT", "AUTH_FAILURE_RATE_LIMIT"):
        result = _check(CACHE_URL="redis://127.0.0.1:6379/1", **{name: "10/minutes"})
        assert result.returncode != 0
        assert "Not a rate: '10/minutes'" in result.stderr
