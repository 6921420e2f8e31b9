"""Test settings: the base settings with fast hashing and a fixed key."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("DEBUG", "0")

from .base import *  # noqa: F403
from .base import DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["*"]
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_SSL_REDIRECT = False

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": None}
# Tests open and close many connections from threads; don't keep them around.
DATABASES["default"]["CONN_MAX_AGE"] = 0

# Rate limits are tested with per-key limits; the default limit is off in tests.
API_KEY_RATE_LIMIT = ""
# Many tests fail authentication on purpose from one address; the limit on failures
# is off in tests, and the tests of it turn it on.
AUTH_FAILURE_RATE_LIMIT = ""
# Many tests look up unknown codes on purpose with one key; the guessing limit is off
# in tests, and the tests of it (tests/stores/test_guessing.py) turn it on.
CODE_GUESS_LIMIT = 0
