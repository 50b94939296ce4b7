"""Django settings for Loa, built from the environment by :mod:`loa.config`."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from loa import config as loa_config

CONFIG = loa_config.load()
BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = CONFIG.data_dir
LOA_MODE = CONFIG.mode
LOA_MQTT_URL = CONFIG.mqtt_url
LOA_PUBLIC_URL = CONFIG.public_url
LOA_MEDIA_WARM_URL = (
    CONFIG.media_warm_url
)  # the shared cache in front, as this server reaches it (empty: none)

SECRET_KEY = CONFIG.secret_key
DEBUG = CONFIG.debug
ALLOWED_HOSTS = CONFIG.allowed_hosts

INSTALLED_APPS = [
    "loa.console.admin_site.LoaAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "django_q",
    "ninja",
    "loa.units",
    "loa.accounts",
    "loa.audit",
    "loa.jobs",
    "loa.console",
    "loa.api",
    "loa.media",
    "loa.tts",
    "loa.content",
    "loa.fleet",
    "loa.gateway",
    "loa.broadcast",
    "loa.analytics",
    "loa.signage",
    "loa.citizen",
    "loa.citizen.polls",
    "loa.alerts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "loa.api.middleware.ApiErrorFormatMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "loa.console.middleware.SecureHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "loa.accounts.middleware.TwoFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "loa.console.refusals.RefusalMiddleware",
]

ROOT_URLCONF = "loa.urls"
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
                "loa.console.context.console",
            ],
        },
    },
]
WSGI_APPLICATION = "loa.wsgi.application"
ASGI_APPLICATION = "loa.asgi.application"

# --- database -------------------------------------------------------------------------------------------
_db = dj_database_url.parse(CONFIG.database_url, conn_max_age=0)
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {
        # WAL lets readers work while one writer writes; IMMEDIATE takes the write lock at BEGIN so that
        # read-then-write transactions (the audit hash chain) never fail half-way with "database is locked".
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    _db["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- accounts and security ------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "loa.accounts.validators.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "console:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

# Login throttling and lockout (django-axes): 5 failures per account and address lock it for 15 minutes, and
# LOA_LOGIN_USER_FAILURE_LIMIT failures per account from any addresses lock it too (loa.accounts.lockout).
# The client address comes from X-Forwarded-For only behind LOA_TRUSTED_PROXIES trusted proxies.
LOA_TRUSTED_PROXIES = CONFIG.trusted_proxies
LOA_LOGIN_USER_FAILURE_LIMIT = 20
AXES_HANDLER = "loa.accounts.lockout.LockoutHandler"
AXES_CLIENT_IP_CALLABLE = "loa.accounts.lockout.axes_client_address"
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# A locked request is refused by the backend itself (so either lockout flags it) and does not extend the lock.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "loa.accounts.views.lockout_response"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = False

OTP_TOTP_ISSUER = "Loa"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if CONFIG.production:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = [CONFIG.public_url]

# --- internationalisation -------------------------------------------------------------------------------
LANGUAGE_CODE = CONFIG.language
LANGUAGES = [("vi", _("Tiếng Việt")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = CONFIG.time_zone
USE_I18N = True
USE_TZ = True

# --- static and media -----------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
if not CONFIG.production:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/files/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Static files come from STATIC_ROOT, which `loa serve` (and the systemd unit) fill with collectstatic, so they have
# their compressed copies (htmx: 52 kB → 16 kB on a phone's connection); the finders serve the uncompressed
# source files and are for debugging only (bench/phone_first_load.py, docs/benchmarks.md).
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Uploads, speech and audio processing are refused as 'storage_full' (507) unless this much stays free on the media
# store's file system (loa.media.storage).
LOA_MEDIA_MIN_FREE_BYTES = int(os.environ.get("LOA_MEDIA_MIN_FREE_BYTES") or 512 * 1024 * 1024)
# Uploads are streamed to a temporary file and cut off past LOA_MEDIA_MAX_BYTES (loa.media.uploads).
FILE_UPLOAD_HANDLERS = [
    "loa.media.uploads.CappedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- background jobs (django-q2 on the database; see docs/adr/0003-task-queue.md) -----------------------
Q_CLUSTER = {
    "name": "loa",
    "orm": "default",
    "workers": 2,
    "timeout": 600,
    "retry": 900,
    "max_attempts": 3,
    "catch_up": False,
    "label": "Tác vụ nền",
    "sync": False,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"loa": {"level": "INFO", "handlers": ["console"], "propagate": False}},
}
CSRF_FAILURE_VIEW = "loa.console.views.csrf_failure"
