"""Django settings for Saraban.

Everything that differs between the demo, a test run and a production node comes from the
environment (``SARABAN_*`` variables and ``DATABASE_URL``); the defaults give the embedded
demo: SQLite in ``var/`` and files on local disk.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import fontpkg_sarabun

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SARABAN_VAR_DIR", BASE_DIR / "var"))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_from_url(url: str) -> dict[str, object]:
    """Turn ``sqlite:///path`` or ``postgres://user:pw@host:port/name`` into a DATABASES entry.

    >>> database_from_url("postgres://root@127.0.0.1:5432/test")["NAME"]
    'test'
    """
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        if path.startswith("//"):
            path = path[1:]
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path or str(VAR_DIR / "saraban.sqlite3"),
            # BEGIN IMMEDIATE: a writer takes the lock up front, so two registrations never
            # both read a counter and then fight over the upgrade to a write lock.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                ),
            },
            "TEST": {"NAME": os.environ.get("SARABAN_SQLITE_TEST_NAME")},
        }
    if parts.scheme in {"postgres", "postgresql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")) or "saraban",
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": 0,
            # JIT compiling a query costs ~0.3 s here; the short queries of a web request
            # never win that back (large estimated costs, e.g. of a search, would trigger it).
            "OPTIONS": {"options": "-c jit=off"},
        }
    raise ValueError(f"unsupported DATABASE_URL scheme: {parts.scheme!r}")


DEMO = _env_bool("SARABAN_DEMO", False)
DEBUG = _env_bool("SARABAN_DEBUG", False)
SECRET_KEY = os.environ.get("SARABAN_SECRET_KEY", "insecure-development-key-change-me")
# Key-encryption keys (saraban.core.keys): "id:base64key[,id:base64key…]", the first seals,
# all open. They protect the agencies' exchange keys, signing identities, seal secrets and
# audit chain keys in the database; keep them outside it (and outside its backups).
SARABAN_KEY_ENCRYPTION_KEYS = os.environ.get("SARABAN_KEY_ENCRYPTION_KEYS", "")
if os.environ.get("SARABAN_KEY_ENCRYPTION_KEYS_FILE"):
    SARABAN_KEY_ENCRYPTION_KEYS = Path(os.environ["SARABAN_KEY_ENCRYPTION_KEYS_FILE"]).read_text(
        encoding="utf-8"
    )
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("SARABAN_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
]
if "testserver" not in ALLOWED_HOSTS:
    ALLOWED_HOSTS.append("testserver")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks_db",
    "saraban.core",
    "saraban.agencies",
    "saraban.letters",
    "saraban.documents",
    "saraban.signatures",
    "saraban.evidence",
    "saraban.intake",
    "saraban.search",
    "saraban.exchange",
    "saraban.routing",
    "saraban.reports",
    "saraban.api",
    "saraban.web",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything reads request text: NUL characters and lone surrogates are refused (400).
    "saraban.core.inputguard.UnstorableTextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "saraban.web.middleware_account.AccountSecurityMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: turns a refused login (too many failures) into the 429 answer of its interface.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "saraban.urls"
WSGI_APPLICATION = "saraban.wsgi.application"
ASGI_APPLICATION = "saraban.asgi.application"  # what `saraban serve` runs

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "saraban.web.context.saraban",
            ],
            "builtins": ["saraban.web.templatetags.thai"],
        },
    }
]

if not os.environ.get("DATABASE_URL"):
    # The embedded default: the SQLite file lives in var/, made on first use.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": database_from_url(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'saraban.sqlite3'}"
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "agencies.Person"
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "web:login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Login throttling (django-axes, one mechanism for the web, the API and the admin; see
# saraban.agencies.throttle): this many failures for one username from one address lock that
# pair; this many for a username from any address lock the username; this many from one
# address lock it for every username not signed in from there before. A lock lasts the
# window after the last failure.
SARABAN_LOGIN_MAX_FAILURES = int(os.environ.get("SARABAN_LOGIN_MAX_FAILURES", "5"))
SARABAN_LOGIN_USER_MAX_FAILURES = int(os.environ.get("SARABAN_LOGIN_USER_MAX_FAILURES", "20"))
SARABAN_LOGIN_ADDRESS_MAX_FAILURES = int(
    os.environ.get("SARABAN_LOGIN_ADDRESS_MAX_FAILURES", "50")
)
SARABAN_LOGIN_WINDOW_SECONDS = int(os.environ.get("SARABAN_LOGIN_WINDOW_SECONDS", "900"))
AUTHENTICATION_BACKENDS = [
    "saraban.agencies.throttle.ThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "saraban.agencies.throttle.ThrottleHandler"
AXES_FAILURE_LIMIT = "saraban.agencies.throttle.failure_limit"
AXES_COOLOFF_TIME = "saraban.agencies.throttle.cool_off"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "saraban.agencies.throttle.attempted_username"
AXES_LOCKOUT_CALLABLE = "saraban.agencies.throttle.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False
# API tokens expire after this many days (0: never); a person can revoke them earlier.
SARABAN_API_TOKEN_DAYS = int(os.environ.get("SARABAN_API_TOKEN_DAYS", "90"))
SARABAN_METRICS_TOKEN = os.environ.get("SARABAN_METRICS_TOKEN", "")  # GET /metrics; empty: off
# The issuer shown in authenticator apps next to the account (TOTP two-factor sign-in).
OTP_TOTP_ISSUER = os.environ.get("SARABAN_OTP_ISSUER", "Saraban")

LANGUAGE_CODE = "th"
LANGUAGES = [("th", "ไทย"), ("en", "English")]
TIME_ZONE = "Asia/Bangkok"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "saraban" / "locale"]

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [("fonts/sarabun", Path(fontpkg_sarabun.__file__).parent / "files")]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Content-addressed file store for letter files (see saraban.letters.files).
SARABAN_FILES_DIR = Path(os.environ.get("SARABAN_FILES_DIR", VAR_DIR / "files"))
# Checkpoints of the audit chains' heads (saraban.core.audit), written outside the database
# by the worker every SARABAN_AUDIT_CHECKPOINT_SECONDS: they catch a truncated, rewound chain.
SARABAN_AUDIT_CHECKPOINT_DIR = Path(
    os.environ.get("SARABAN_AUDIT_CHECKPOINT_DIR", VAR_DIR / "audit-checkpoints")
)
SARABAN_AUDIT_CHECKPOINT_SECONDS = float(os.environ.get("SARABAN_AUDIT_CHECKPOINT_SECONDS", "60"))
SARABAN_MAX_FILE_BYTES = int(os.environ.get("SARABAN_MAX_FILE_BYTES", str(50 * 1024 * 1024)))
# Files from outside are read in a resource-limited child (saraban/core/sandbox.py); what a
# file may contain is bounded by SARABAN_FILE_LIMITS (saraban/letters/filecheck.py).
SARABAN_PARSE_MEMORY_BYTES = int(os.environ.get("SARABAN_PARSE_MEMORY_BYTES", str(768 * 2**20)))
SARABAN_PARSE_CPU_SECONDS = int(os.environ.get("SARABAN_PARSE_CPU_SECONDS", "30"))
SARABAN_PARSE_TIMEOUT = float(os.environ.get("SARABAN_PARSE_TIMEOUT", "60"))
SARABAN_OCR_MEMORY_BYTES = int(os.environ.get("SARABAN_OCR_MEMORY_BYTES", str(2**30)))
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# The web server (`saraban serve`, saraban.core.http_limits): a body larger than its limit is
# refused with 413 from its headers (or, chunked, as it streams) before anything is stored.
# Uploads (multipart) may carry a main file and attachments; the exchange endpoint takes
# envelopes up to SARABAN_EXCHANGE_MAX_BYTES; other bodies up to DATA_UPLOAD_MAX_MEMORY_SIZE.
SARABAN_MAX_UPLOAD_BYTES = int(
    os.environ.get("SARABAN_MAX_UPLOAD_BYTES", str(2 * SARABAN_MAX_FILE_BYTES + (1 << 20)))
)
# Seconds a client may take to send its request headers, and to send the next part of its
# body, before it is answered 408 (code request_timeout); views run at once per web process.
SARABAN_HTTP_HEADER_TIMEOUT = float(os.environ.get("SARABAN_HTTP_HEADER_TIMEOUT", "10"))
SARABAN_HTTP_BODY_TIMEOUT = float(os.environ.get("SARABAN_HTTP_BODY_TIMEOUT", "30"))
SARABAN_WEB_THREADS = int(os.environ.get("SARABAN_WEB_THREADS", "8"))
# Thai digits (๐-๙) in dates and numbers shown in the UI and printouts.
SARABAN_THAI_DIGITS = _env_bool("SARABAN_THAI_DIGITS", False)

# The address the public reaches this node at: the QR code on an issued certificate or
# licence opens {SARABAN_PUBLIC_URL}/verify/<token>/ (saraban.evidence).
SARABAN_PUBLIC_URL = os.environ.get("SARABAN_PUBLIC_URL", "http://localhost:8000").rstrip("/")

# Exchange between agencies (saraban.exchange): retries, leases and limits.
SARABAN_EXCHANGE_RETRY_BASE_SECONDS = float(os.environ.get("SARABAN_EXCHANGE_RETRY_BASE", "2"))
SARABAN_EXCHANGE_RETRY_MAX_SECONDS = float(os.environ.get("SARABAN_EXCHANGE_RETRY_MAX", "300"))
SARABAN_EXCHANGE_RETRY_LIMIT = int(os.environ.get("SARABAN_EXCHANGE_RETRY_LIMIT", "15"))
SARABAN_EXCHANGE_LEASE_SECONDS = float(os.environ.get("SARABAN_EXCHANGE_LEASE", "120"))
SARABAN_EXCHANGE_TIMEOUT_SECONDS = float(os.environ.get("SARABAN_EXCHANGE_TIMEOUT", "30"))
SARABAN_EXCHANGE_MAX_BYTES = int(os.environ.get("SARABAN_EXCHANGE_MAX_BYTES", str(64 << 20)))
SARABAN_EXCHANGE_MAX_AGE_SECONDS = int(os.environ.get("SARABAN_EXCHANGE_MAX_AGE", "3600"))
SARABAN_EXCHANGE_OVERDUE_HOURS = float(os.environ.get("SARABAN_EXCHANGE_OVERDUE_HOURS", "24"))
# After `saraban exchange renew`, the old exchange certificate is still accepted this long.
SARABAN_EXCHANGE_CERT_OVERLAP_DAYS = float(os.environ.get("SARABAN_EXCHANGE_CERT_OVERLAP_DAYS",
                                                          "30"))
# e-CMS (saraban.exchange.ecms): how often the worker polls each agency's own e-CMS node, the
# poll lease (several workers), the HTTP timeout, and the parser's limits for what a node sends.
def _ecms(name: str, default: str) -> float:
    """``SARABAN_ECMS_<NAME>`` (also spelt with a ``_SECONDS`` suffix for the times)."""
    value = os.environ.get(f"SARABAN_ECMS_{name}") or os.environ.get(f"SARABAN_ECMS_{name}_SECONDS")
    return float(value or default)


SARABAN_ECMS_POLL_SECONDS = _ecms("POLL", "30")
SARABAN_ECMS_POLL_BATCH = int(_ecms("POLL_BATCH", "50"))
# A killed worker holds its account's poll back this long: twice the time-out and a little.
SARABAN_ECMS_LEASE_SECONDS = _ecms("LEASE", "65")
SARABAN_ECMS_TIMEOUT_SECONDS = _ecms("TIMEOUT", "30")
SARABAN_ECMS_MAX_BYTES = int(_ecms("MAX_BYTES", str(64 << 20)))
SARABAN_ECMS_MAX_DEPTH = int(_ecms("MAX_DEPTH", "64"))
SARABAN_ECMS_MAX_FILE_BYTES = int(_ecms("MAX_FILE_BYTES", str(40 << 20)))
SARABAN_ECMS_MAX_FILES = int(_ecms("MAX_FILES", "100"))
SARABAN_ECMS_MAX_ELEMENTS = int(_ecms("MAX_ELEMENTS", "200000"))
# The central e-mail address (saraban.exchange.mail): how often the worker reads each agency's
# mailbox over IMAP, how many mails per turn, the poll lease (several workers), the IMAP/SMTP
# time-out, and the parser's limits for one arriving mail.
def _mail(name: str, default: str) -> float:
    """``SARABAN_MAIL_<NAME>`` (also spelt with a ``_SECONDS`` suffix for the times)."""
    value = os.environ.get(f"SARABAN_MAIL_{name}") or os.environ.get(f"SARABAN_MAIL_{name}_SECONDS")
    return float(value or default)


SARABAN_MAIL_POLL_SECONDS = _mail("POLL", "60")
SARABAN_MAIL_POLL_BATCH = int(_mail("POLL_BATCH", "100"))
SARABAN_MAIL_LEASE_SECONDS = _mail("LEASE", "120")
SARABAN_MAIL_TIMEOUT_SECONDS = _mail("TIMEOUT", "30")
SARABAN_MAIL_MAX_BYTES = int(_mail("MAX_BYTES", str(25 << 20)))
SARABAN_MAIL_MAX_PARTS = int(_mail("MAX_PARTS", "300"))
SARABAN_MAIL_MAX_DEPTH = int(_mail("MAX_DEPTH", "12"))
# How often the worker checks certificates that lapse (warnings at 60, 30 and 7 days).
SARABAN_CERT_CHECK_SECONDS = float(os.environ.get("SARABAN_CERT_CHECK_SECONDS", "86400"))

# Signatures (saraban.signatures): the RFC 3161 time-stamping authority (signing at PAdES
# B-T/B-LTA when set) and extra trusted root CA files (colon-separated PEM/DER paths, e.g. the
# Thai national root CA), beside the TrustRoot rows kept in the database.
SARABAN_TSA_URL = os.environ.get("SARABAN_TSA_URL", "")
SARABAN_TSA_TIMEOUT_SECONDS = float(os.environ.get("SARABAN_TSA_TIMEOUT", "10"))
SARABAN_TRUST_ROOTS: list[str] = [
    p for p in os.environ.get("SARABAN_TRUST_ROOTS", "").split(":") if p.strip()
]
# Also ask the CAs' CRL/OCSP services when verifying an arriving PDF (off: use what it carries).
SARABAN_VERIFY_REVOCATION = _env_bool("SARABAN_VERIFY_REVOCATION", False)

# Routing: days to the deadline by urgency (0 ปกติ … 3 ด่วนที่สุด; 0 days = the same day),
# ending at office closing time; e-mail notifications (console backend unless configured).
SARABAN_DEADLINE_DAYS: dict[int, int | None] = {3: 0, 2: 1, 1: 3, 0: None}
SARABAN_OFFICE_CLOSE = os.environ.get("SARABAN_OFFICE_CLOSE", "16:30")
MAILERS = {
    "default": {
        "BACKEND": os.environ.get(
            "SARABAN_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
        ),
    }
}
DEFAULT_FROM_EMAIL = os.environ.get("SARABAN_FROM_EMAIL", "saraban@localhost")

TASKS = {
    "default": {
        "BACKEND": os.environ.get("SARABAN_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# Security: secure by default, relaxed only for the local demo over plain HTTP.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = not (DEMO or DEBUG)
CSRF_COOKIE_SECURE = not (DEMO or DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "SAMEORIGIN"
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "object-src": ["'self'"],
    "frame-src": ["'self'"],
    "frame-ancestors": ["'self'"],
    "form-action": ["'self'"],
    "base-uri": ["'self'"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("SARABAN_LOG_LEVEL", "INFO")},
}
