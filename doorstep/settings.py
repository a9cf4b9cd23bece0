"""Doorstep's one settings module: every deployment difference comes from the environment."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
DEVELOPMENT_SECRET_KEY = "doorstep-development-only-secret-do-not-use-in-production"


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def database_from_url(url: str) -> dict[str, object]:
    """`sqlite:///relative/or//absolute/path` or `postgres://user:pass@host:port/name?option=value`."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path[1:] if parsed.path.startswith("/") else parsed.path)
        name = ":memory:" if path in {"", ":memory:"} else str(BASE_DIR / path if not path.startswith("/") else path)
        if name != ":memory:":
            # A fresh checkout has no var/ yet; SQLite creates the file but not its folder.
            Path(name).parent.mkdir(parents=True, exist_ok=True)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name,
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            },
        }
    if parsed.scheme in {"postgres", "postgresql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")) or "doorstep",
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": 60,
            "OPTIONS": dict(parse_qsl(parsed.query)),
        }
    raise ImproperlyConfigured(f"DATABASE_URL must start with sqlite:// or postgres://, not {url!r}")


PRODUCTION = env_bool("DOORSTEP_PRODUCTION")
DEBUG = env_bool("DOORSTEP_DEBUG", default=not PRODUCTION)
SECRET_KEY = env_str("DOORSTEP_SECRET_KEY", DEVELOPMENT_SECRET_KEY)
if PRODUCTION and (SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 32):
    raise ImproperlyConfigured(
        "DOORSTEP_PRODUCTION is on: set DOORSTEP_SECRET_KEY to a random secret of at least 32 characters."
    )
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DOORSTEP_DEBUG cannot be on in production.")

# Key for personal data at rest (national ID, phone). Base64 of 32 bytes; derived from SECRET_KEY in development.
FIELD_ENCRYPTION_KEY = env_str("DOORSTEP_FIELD_ENCRYPTION_KEY")
if PRODUCTION and not FIELD_ENCRYPTION_KEY:
    raise ImproperlyConfigured("DOORSTEP_PRODUCTION is on: set DOORSTEP_FIELD_ENCRYPTION_KEY (base64 of 32 bytes).")

ALLOWED_HOSTS = env_list("DOORSTEP_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DOORSTEP_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",
    "django_tasks_db",
    "doorstep.core",
    "doorstep.portfolio",
    "doorstep.collectors",
    "doorstep.compliance",
    "doorstep.strategy",
    "doorstep.scoring",
    "doorstep.notify",
    "doorstep.visits",
    "doorstep.arrangements",
    "doorstep.payments",
    "doorstep.feedback",
    "doorstep.portal",
    "doorstep.reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "doorstep.core.middleware.RequestContextMiddleware",
]

ROOT_URLCONF = "doorstep.urls"
WSGI_APPLICATION = "doorstep.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "doorstep.core.context_processors.navigation",
            ],
        },
    }
]

DATABASES = {"default": database_from_url(env_str("DATABASE_URL", "sqlite:///var/doorstep.sqlite3"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "doorstep_cache",
    }
}
if env_str("CACHE_URL").startswith("redis://"):
    CACHES["default"] = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env_str("CACHE_URL")}

TASKS = {
    "default": {
        "BACKEND": env_str("DOORSTEP_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "core:login"

# Login throttling: this many failures for one username or one address lock it for LOGIN_LOCKOUT_SECONDS.
LOGIN_MAX_FAILURES = env_int("DOORSTEP_LOGIN_MAX_FAILURES", 5)
LOGIN_LOCKOUT_SECONDS = env_int("DOORSTEP_LOGIN_LOCKOUT_SECONDS", 15 * 60)

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "doorstep" / "locale"]
TIME_ZONE = env_str("DOORSTEP_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# Session and cookie hardening. In production the site is served over HTTPS only.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("DOORSTEP_SESSION_SECONDS", 8 * 60 * 60)
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = PRODUCTION and env_bool("DOORSTEP_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("DOORSTEP_BEHIND_PROXY") else None
SECURE_HSTS_SECONDS = 31536000 if PRODUCTION else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("DOORSTEP_LOG_LEVEL", "WARNING")},
}

# Doorstep's own configuration.
# Buckets by days past due: (code, first day, last day or None). The bank may redefine them.
DOORSTEP_BUCKETS: list[tuple[str, int, int | None]] = [
    ("M1", 1, 30),
    ("M2", 31, 60),
    ("M3", 61, 90),
    ("M4+", 91, None),
]
# Five-category loan classification by days past due (a common retail-credit mapping; configurable).
DOORSTEP_CLASSIFICATION: list[tuple[str, int, int | None]] = [
    ("pass", 0, 0),
    ("special_mention", 1, 90),
    ("substandard", 91, 180),
    ("doubtful", 181, 360),
    ("loss", 361, None),
]
DOORSTEP_DEFAULT_CURRENCY = "CNY"
DOORSTEP_JURISDICTION = env_str("DOORSTEP_JURISDICTION", "CN")
DOORSTEP_SITE_NAME = _("Doorstep")

# Where Doorstep keeps files: uploaded snapshots, demo files, the strategy's daily attribute frames.
DOORSTEP_VAR_DIR = Path(env_str("DOORSTEP_VAR_DIR", str(BASE_DIR / "var")))
DOORSTEP_UPLOAD_DIR = DOORSTEP_VAR_DIR / "uploads"
DOORSTEP_DEMO_DIR = DOORSTEP_VAR_DIR / "demo"
DOORSTEP_STRATEGY_FRAMES_DIR = DOORSTEP_VAR_DIR / "strategy-frames"
DOORSTEP_UPLOAD_MAX_BYTES = env_int("DOORSTEP_UPLOAD_MAX_BYTES", 512 * 1024 * 1024)
# Uploaded snapshots go to a temporary file on disk past this size, never whole into memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Failed API token attempts from one address before it is locked out for LOGIN_LOCKOUT_SECONDS.
API_AUTH_MAX_FAILURES = env_int("DOORSTEP_API_AUTH_MAX_FAILURES", 10)
# Files people upload (visit photos and recordings, certificate documents, course materials, complaint
# attachments). Never served as static files: each is served by a view that checks who may see it.
MEDIA_ROOT = DOORSTEP_VAR_DIR / "media"

# Field visits: a check-in farther than this from the address is flagged; a visit not checked out within
# its planned time plus this margin alerts the team lead.
DOORSTEP_CHECK_IN_FAR_METRES = env_int("DOORSTEP_CHECK_IN_FAR_METRES", 300)
DOORSTEP_VISIT_OVERDUE_MARGIN_MINUTES = env_int("DOORSTEP_VISIT_OVERDUE_MARGIN_MINUTES", 30)
DOORSTEP_VISIT_ATTACHMENT_MAX_BYTES = env_int("DOORSTEP_VISIT_ATTACHMENT_MAX_BYTES", 25 * 1024 * 1024)

# Complaints: acknowledge within N business days (weekends and DOORSTEP_HOLIDAYS skipped), decide within
# N days, extendable once.
DOORSTEP_COMPLAINT_ACKNOWLEDGE_BUSINESS_DAYS = env_int("DOORSTEP_COMPLAINT_ACKNOWLEDGE_BUSINESS_DAYS", 1)
DOORSTEP_COMPLAINT_DECIDE_DAYS = env_int("DOORSTEP_COMPLAINT_DECIDE_DAYS", 15)
DOORSTEP_COMPLAINT_EXTENSION_DAYS = env_int("DOORSTEP_COMPLAINT_EXTENSION_DAYS", 15)
DOORSTEP_HOLIDAYS = env_list("DOORSTEP_HOLIDAYS")  # ISO dates, e.g. 2026-10-01,2026-10-02

# Scoring: which model kind scores production cases, and when monitoring raises an alert.
DOORSTEP_SCORING_PRIMARY_KIND = env_str("DOORSTEP_SCORING_PRIMARY_KIND", "scorecard")
DOORSTEP_SCORING_PSI_ALERT = float(env_str("DOORSTEP_SCORING_PSI_ALERT", "0.25"))
DOORSTEP_SCORING_AUC_DROP = float(env_str("DOORSTEP_SCORING_AUC_DROP", "0.05"))

# Cost to collect: unit costs in yuan per contact.
DOORSTEP_REPORT_UNIT_COSTS = {"visit": "60.00", "call": "3.00", "sms": "0.05", "letter": "8.00"}

# Messages: "outbox" (a gateway worker sends them), "file" (var/outbox/, development) or "console".
DOORSTEP_NOTIFY_BACKEND = env_str("DOORSTEP_NOTIFY_BACKEND", "outbox" if PRODUCTION else "file")
DOORSTEP_SMS_GATEWAY_URL = env_str("DOORSTEP_SMS_GATEWAY_URL")
DOORSTEP_SMS_GATEWAY_TOKEN = env_str("DOORSTEP_SMS_GATEWAY_TOKEN")
DOORSTEP_SMS_GATEWAY_MAX_ATTEMPTS = env_int("DOORSTEP_SMS_GATEWAY_MAX_ATTEMPTS", 5)
# The borrower portal: the address in links sent to borrowers, and how long a link works.
DOORSTEP_PORTAL_BASE_URL = env_str("DOORSTEP_PORTAL_BASE_URL", "http://127.0.0.1:8000")
DOORSTEP_PORTAL_LINK_DAYS = env_int("DOORSTEP_PORTAL_LINK_DAYS", 7)
DOORSTEP_BANK_HOTLINE = env_str("DOORSTEP_BANK_HOTLINE", "95580")
# Field visits: overdue amount (yuan) from which only experienced crews visit; an OSRM `table` service for
# travel times in day plans (haversine with a detour factor when empty); how many searches plan a team's day
# side by side, one process each (more give better plans in the same time, given as many free cores).
DOORSTEP_VISIT_HIGH_BALANCE = env_int("DOORSTEP_VISIT_HIGH_BALANCE", 50_000)
DOORSTEP_OSRM_URL = env_str("DOORSTEP_OSRM_URL", "")
DOORSTEP_ROUTING_SEARCHES = env_int("DOORSTEP_ROUTING_SEARCHES", 1)
