"""Settings for every environment; production differs only by environment variables."""

import ipaddress
import os
import re
import warnings
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [
        item.strip()
        for item in os.environ.get(name, default).split(",")
        if item.strip()
    ]


DEBUG = env_bool("DEBUG")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment (or set DEBUG=1 for a "
            "development-only key)."
        )
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "stores",
    "customers",
    "coupons",
    "series",
    "assignments",
    "legacy",
    "dashboard",
    "jobs",
    "audit",
    "axes",
]

# The tenant and its staff links, which core's store-scoped admin reads by name (core
# imports no app), as AUTH_USER_MODEL names the user.
STORE_MODEL = "stores.Store"
STORE_MEMBERSHIP_MODEL = "stores.StoreMembership"

MIDDLEWARE = [
    # First: every answer carries X-Request-ID and is counted in /metrics.
    "core.observability.RequestMiddleware",
    # Before the URL is resolved: PayNow's /coupons/ is /coupons (core.routing).
    "core.routing.PayNowTrailingSlash",
    "django.middleware.security.SecurityMiddleware",
    # Static files (the admin's and the API docs' assets) from the app itself, so
    # /api/docs/ works without a CDN or a separate file server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a login that django-axes locked out into its 429 page.
    "axes.middleware.AxesMiddleware",
]

# The admin login: django-axes counts failures per client address in the database
# (so a lockout holds with the cache down) and refuses an address past the limit
# before checking its password, for ADMIN_LOGIN_COOLOFF_MINUTES after its last failure.
AUTHENTICATION_BACKENDS = [
    "stores.throttling.AdminLoginLockout",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_CLIENT_IP_CALLABLE = "stores.throttling.client_address"
AXES_FAILURE_LIMIT = int(os.environ.get("ADMIN_LOGIN_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = float(os.environ.get("ADMIN_LOGIN_COOLOFF_MINUTES", "15")) / 60
AXES_DISABLE_ACCESS_LOG = True

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads of the dev server write at once; wait for the lock instead of
    # failing at once with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Without `collectstatic`, WhiteNoise finds the files where the apps keep them (and
# need not warn that STATIC_ROOT was never collected).
WHITENOISE_USE_FINDERS = True
warnings.filterwarnings("ignore", message="No directory at: ", category=UserWarning)

# Flake IDs: the worker bits. Give every process its own value in production
# (e.g. from the pod ordinal); unset, they are derived from the process id.
FLAKE_WORKER_ID = os.environ.get("FLAKE_WORKER_ID")

# The largest request body (bytes): Django's own request.body and the API's JSON
# parser both refuse more, which every dialect answers with a 413 in its own body.
# The largest ordinary payload (a PayNow coupon naming 1,000 products and 1,000 tags)
# is under 60 KB.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's JSON parser bounded in size and nesting depth (core/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    # application/json, text/json and application/*+json all reach that parser.
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.parsers.JSONNegotiation",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": [],
    "EXCEPTION_HANDLER": "core.dialects.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "UNAUTHENTICATED_TOKEN": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Couponhub API",
    "DESCRIPTION": (
        "One coupon ledger served through five vendor dialects (PayNow, Shoplazza, "
        "Capillary v1.1/v2, NewStore v0) plus a native API in the PayNow style."
    ),
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and ReDoc from drf-spectacular-sidecar, served by the app: the docs
    # render with no internet (no CDN, no @latest).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Background jobs: Celery on Redis when a broker is configured; without one (the
# SQLite default of `make run`) jobs run in a thread of the web process.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
JOBS_RUN_INLINE = env_bool("JOBS_RUN_INLINE")
# A running job's lease (jobs.services): a worker silent this long is taken for gone
# and its job is claimed again. Redis hands an unacknowledged task (its worker died)
# to another worker after the visibility timeout, which must be longer, so a task
# back for a worker that died early finds its lease ended and resumes the job at
# once. One back while the dead worker's lease still holds (renewed just before it
# died) retries itself when that lease ends (jobs.tasks.run_job).
JOBS_LEASE_SECONDS = int(os.environ.get("JOBS_LEASE_SECONDS", "600"))
_VISIBILITY = int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": _VISIBILITY,
    # kombu hands such a task back when a worker starts, then in sweeps every
    # interval x throttle seconds (10 x 10 by default): a task whose timeout ended
    # after the workers started waited up to 100 s more. Every sweep looks (throttle
    # 1), every tenth of the timeout, 1 to 10 s.
    "unacked_restore_interval": max(1, min(10, _VISIBILITY // 10)),
    "unacked_restore_throttle": 1,
}
if CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] <= JOBS_LEASE_SECONDS:
    raise ImproperlyConfigured(
        "CELERY_VISIBILITY_TIMEOUT must be longer than JOBS_LEASE_SECONDS: a task "
        "delivered again within the lease of its dead worker finds its job taken."
    )
EXPORT_DIR = Path(os.environ.get("EXPORT_DIR", BASE_DIR / "exports"))

# A shared cache (Redis in production) for rate limits; per-process memory otherwise
# (a system check warns about that when DEBUG is off). The cache may fail (core.cache):
# a call waits at most CACHE_TIMEOUT seconds, rate limits then fail open, and each
# process leaves the cache alone for CACHE_RETRY_SECONDS after an error.
_CACHE_URL = os.environ.get("CACHE_URL", "")
CACHE_TIMEOUT = float(os.environ.get("CACHE_TIMEOUT", "0.25"))
CACHE_RETRY_SECONDS = float(os.environ.get("CACHE_RETRY_SECONDS", "5"))
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _CACHE_URL,
            "OPTIONS": {
                "socket_connect_timeout": CACHE_TIMEOUT,
                "socket_timeout": CACHE_TIMEOUT,
            },
        }
        if _CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# How long an API key's row (key, store, outlet) may serve from the shared cache
# (stores.key_cache): a change through a save is seen at its commit; this bounds what
# a save cannot tell (a QuerySet.update, a cache down at that commit). 0 = off; a
# per-process cache never holds it.
API_KEY_CACHE_SECONDS = int(os.environ.get("API_KEY_CACHE_SECONDS", "60"))
# Requests a key may make (N/s, N/min, N/hour, N/day); a key's own rate_limit wins.
# "off" disables the default limit.
API_KEY_RATE_LIMIT = os.environ.get("API_KEY_RATE_LIMIT", "6000/min")
if API_KEY_RATE_LIMIT.lower() == "off":
    API_KEY_RATE_LIMIT = ""
# Failed authentications (every dialect, the Capillary OAuth token endpoint) allowed
# per client address; past it the address gets 429 until its window ends. "off" = none.
AUTH_FAILURE_RATE_LIMIT = os.environ.get("AUTH_FAILURE_RATE_LIMIT", "30/min")
if AUTH_FAILURE_RATE_LIMIT.lower() == "off":
    AUTH_FAILURE_RATE_LIMIT = ""
# Guessing does not pay (stores.guessing): the CODE_GUESS_LIMIT-th failed code lookup
# of one API key for one customer within CODE_GUESS_WINDOW seconds locks that pair out
# for CODE_GUESS_COOLDOWN seconds (429). A store's own limit (admin) wins; 0 = none.
CODE_GUESS_LIMIT = int(os.environ.get("CODE_GUESS_LIMIT", "20"))
CODE_GUESS_WINDOW = int(os.environ.get("CODE_GUESS_WINDOW", "600"))
CODE_GUESS_COOLDOWN = int(os.environ.get("CODE_GUESS_COOLDOWN", "900"))
# Reverse proxies in front that append the client to X-Forwarded-For; the client is
# then the N-th address from the right. 0: REMOTE_ADDR is the client (the header is
# ignored, since anyone can send it).
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
# A rate is N/s, N/min, N/hour or N/day, as in the admin: a typo stops the start
# rather than failing every request.
for _rate in (API_KEY_RATE_LIMIT, AUTH_FAILURE_RATE_LIMIT):
    if _rate and not re.fullmatch(
        r"\d+/(s|sec|second|m|min|minute|h|hour|d|day)", _rate
    ):
        raise ImproperlyConfigured(
            f"Not a rate: {_rate!r}. Use N/s, N/min, N/hour or N/day (or off)."
        )
IDEMPOTENCY_TTL_HOURS = int(os.environ.get("IDEMPOTENCY_TTL_HOURS", "24"))
IDEMPOTENCY_WAIT_SECONDS = float(os.environ.get("IDEMPOTENCY_WAIT_SECONDS", "10"))

# LOG_FORMAT=json: one JSON object per line with the request's id (core.observability);
# plain text otherwise.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower()
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT is text or json, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.observability.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(message)s"},
        "json": {"()": "core.observability.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# /metrics (Prometheus text format) answers staff signed in to the admin and clients
# in these networks (comma-separated CIDRs, e.g. the Prometheus server's 10.0.5.0/24);
# anyone else gets a 404. The client is found as for the rate limits
# (TRUSTED_PROXY_COUNT).
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS")
for _network in METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_NETWORKS: not a network: {_network!r}."
        ) from _exc
CLIENT_ADDRESS_FUNCTION = "stores.throttling.client_address"

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
# Production (DEBUG off) redirects to HTTPS and sends HSTS unless told otherwise; the
# load balancer's health check and the Prometheus scrape stay reachable over plain
# HTTP.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_HSTS_SECONDS = int(
    os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000")
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
