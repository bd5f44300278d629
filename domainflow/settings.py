"""Settings for the DomainFlow Finding Tracker.

Every setting that differs between machines comes from the environment; README.md lists them.
"""

import ipaddress
import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
import django_cache_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str) -> bool:
    value = os.getenv(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def envint(name: str, default: str) -> int:
    value = os.getenv(name, default).strip()
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


def envnetworks(name: str, default: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for item in envlist(name, default):
        try:
            networks.append(ipaddress.ip_network(item))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must list addresses or networks (10.0.0.0/8), not {item!r}"
            ) from None
    return networks


DEBUG = envbool("DEBUG", "0")

SECRET_KEY = os.getenv("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off")
    SECRET_KEY = "development-only-key-never-use-in-production"

# The audit chain's HMAC key (findings.audit_chain), kept out of the database so that nobody who
# can only write the database can forge an event. Retired keys only verify the older segments.
AUDIT_CHAIN_KEY = os.getenv("AUDIT_CHAIN_KEY", "")
if not AUDIT_CHAIN_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("AUDIT_CHAIN_KEY is required when DEBUG is off")
    AUDIT_CHAIN_KEY = "development-only-audit-chain-key"
if "," in AUDIT_CHAIN_KEY:
    # It would not survive its move into the comma-separated AUDIT_CHAIN_RETIRED_KEYS.
    raise ImproperlyConfigured("AUDIT_CHAIN_KEY must not contain a comma")
AUDIT_CHAIN_RETIRED_KEYS = envlist("AUDIT_CHAIN_RETIRED_KEYS", "")

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tables2",
    "django_filters",
    "template_partials",
    "axes",
    "findings",
]

MIDDLEWARE = [
    "findings.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "findings.middleware.AccountChangesByRequestMiddleware",
    "findings.middleware.PrivateCacheMiddleware",
    "findings.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "findings.backends.ModelBackend",
]

ROOT_URLCONF = "domainflow.urls"

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

WSGI_APPLICATION = "domainflow.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work during a write; IMMEDIATE takes the write lock at BEGIN, so two
    # reviewers' transactions queue on the busy timeout instead of failing as "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

DJANGO_TABLES2_TEMPLATE = "django_tables2/table.html"

# Login throttling: an account or an address that fails this many times is locked out for a while.
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", "5")
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_LOCKOUT_MINUTES", "15"))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# A successful login clears the failures against that account only (see the handler).
AXES_RESET_ON_SUCCESS = True
AXES_HANDLER = "findings.login_throttling.AccountResetDatabaseHandler"
AXES_USERNAME_CALLABLE = "findings.login_throttling.recorded_username"
AXES_CLIENT_IP_CALLABLE = "findings.client_address.client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# Reverse proxies whose X-Forwarded-For names the client: addresses or CIDR networks.
TRUSTED_PROXIES = envnetworks("TRUSTED_PROXIES", "")

# Behind a TLS-terminating proxy, set SECURE_PROXY_SSL_HEADER=1 so Django trusts its
# X-Forwarded-Proto header; only do so when the proxy overwrites that header.
if envbool("SECURE_PROXY_SSL_HEADER", "0"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "1")
    SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", "1")
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "31536000")
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "1")
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "1")
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Scripts and styles only from our own static files: no inline code, no eval, so injected markup
# cannot run. htmx's indicator styles live in app.css (its htmx-config turns off their injection).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # One JSON object per line, so a log pipeline can index the request id and its peers; the
    # record's `extra` fields follow these, and `verify_audit --log` reads "logger" back.
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "datefmt": "%Y-%m-%dT%H:%M:%S%z",
            "rename_fields": {
                "asctime": "time",
                "levelname": "level",
                "name": "logger",
                "exc_info": "exception",
            },
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "INFO")},
    "loggers": {
        # Our request log says the same, with the request id; Django's own line would repeat it.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
    },
}

# Separation of duties for phase signoffs: when on, nobody whose tick stands on one of a phase's
# items may sign that phase off. A small team may turn it off; owners of a phase's findings never
# sign it.
SIGNOFF_STRICT_SEPARATION = envbool("SIGNOFF_STRICT_SEPARATION", "1")

# Document QA applies each migration and its rollback in this PostgreSQL database, used for
# nothing else and reached by a role with no rights elsewhere (findings/export/sandbox.py); unset,
# that check is off and /documents/ says so.
QA_SANDBOX_DATABASE_URL = os.getenv("QA_SANDBOX_DATABASE_URL", "")
# QA results are kept per content version (findings/export/qa_cache.py), rendered pages under the
# audit chain's head (findings/page_cache.py): each process's local memory is enough for both, with
# room for a sandbox verdict per migration of a large plan, and for 300 pages (at most 70 KB each
# with the seeded plan; README says when to share a cache with a memory limit instead). CACHE_URL
# (redis://, rediss://, memcached://...) names a cache the processes and machines share instead: it
# raises the hit rate and makes API throttling count across processes.
CACHE_URL = os.getenv("CACHE_URL", "").strip()
if CACHE_URL:
    CACHES = {
        "default": django_cache_url.parse(CACHE_URL),
        "pages": {**django_cache_url.parse(CACHE_URL), "KEY_PREFIX": "pages"},
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": 50_000},
        },
        "pages": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "pages",
            "OPTIONS": {"MAX_ENTRIES": 300},
        },
    }
# How long a rendered page is kept at most; 0 turns the page cache off. A change makes every kept
# page unreachable at once (its key holds the audit chain's head), so this only bounds memory.
page_cache_seconds = os.getenv("PAGE_CACHE_SECONDS", "300").strip()
if not re.fullmatch(r"\d{1,7}", page_cache_seconds):
    raise ImproperlyConfigured(
        f"PAGE_CACHE_SECONDS must be a whole number of seconds, 0 to turn the page cache off, "
        f"not {page_cache_seconds!r}"
    )
PAGE_CACHE_SECONDS = int(page_cache_seconds)

# Notifications: the phase page's address in a message starts with SITE_URL. Mail goes through
# Django's email framework: printed to the console with DEBUG on, SMTP from the environment
# otherwise (README lists the variables).
SITE_URL = os.getenv("SITE_URL", "http://127.0.0.1:8000")
DEFAULT_FROM_EMAIL = os.getenv("DEFAULT_FROM_EMAIL", "DomainFlow tracker <tracker@localhost>")
EMAIL_BACKEND = os.getenv(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.getenv("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.getenv("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.getenv("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.getenv("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "0")
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", "0")
EMAIL_TIMEOUT = int(os.getenv("EMAIL_TIMEOUT", "10"))

# How many API requests one token may make per second, minute, hour or day ("120/min"); beyond it
# the API answers 429 with Retry-After. Counted in Django's cache, so per process unless CACHES
# names a shared one.
API_TOKEN_RATE = os.getenv("API_TOKEN_RATE", "120/min").strip()
if not re.fullmatch(r"[1-9]\d*/(s|sec|second|m|min|minute|h|hour|d|day)", API_TOKEN_RATE):
    raise ImproperlyConfigured(
        f"API_TOKEN_RATE must be a number of requests per s, min, hour or day (120/min), "
        f"not {API_TOKEN_RATE!r}"
    )
