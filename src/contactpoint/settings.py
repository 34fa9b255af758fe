"""Django settings, derived entirely from ``contactpoint.config.Settings`` (nothing here reads the environment)."""

from __future__ import annotations

import os

import dj_database_url
import django

from contactpoint.config import get_settings

CP = get_settings()

SECRET_KEY = CP.secret_key
DEBUG = CP.debug
ALLOWED_HOSTS = list(CP.allowed_hosts)

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp_webauthn",
    # one app per stage of the data flow (DESIGN.md section 2)
    "contactpoint.access",
    "contactpoint.audit",
    "contactpoint.vault",
    "contactpoint.children",
    "contactpoint.feeds",
    "contactpoint.matching",
    "contactpoint.bestview",
    "contactpoint.ingest",
    "contactpoint.search",
    "contactpoint.records",
    "contactpoint.lifecycle",
    "contactpoint.monitoring",
    "contactpoint.synthetic",
    "contactpoint.web",
    "ninja",  # serves the API docs page (/api/v1/docs) from its own static files, not a CDN
    "django_tasks_db",  # the job queue (contactpoint.ingest.jobs), in the database the service already has
]
if django.VERSION < (6, 0):  # Django 5.2 (Python 3.11): the tasks framework is the django-tasks backport
    INSTALLED_APPS.append("django_tasks")

# Jobs run by `contactpoint worker` (contactpoint.ingest.jobs): the queue is a table in the service's database.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

MIDDLEWARE = [
    "contactpoint.web.middleware.RequestIdMiddleware",  # first: every audit entry a request writes carries its id
    "contactpoint.web.middleware.ClientAddressMiddleware",  # then everything after sees the real client
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "contactpoint.web.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "contactpoint.access.sessions.AccessMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "contactpoint.web.middleware.NotFoundMiddleware",
]

ROOT_URLCONF = "contactpoint.urls"
WSGI_APPLICATION = "contactpoint.wsgi.application"

_db = dj_database_url.parse(CP.database_url, conn_max_age=60, conn_health_checks=True)
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {
        # Writers take the lock when their transaction begins, so the audit chain's head is read and
        # advanced by one writer at a time; WAL lets readers carry on meanwhile.
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    _db["CONN_MAX_AGE"] = 0
    _db["TEST"] = {"NAME": str(CP.var_dir / f"test-contactpoint-{os.getpid()}.sqlite3")}
else:
    _db["TEST"] = {"NAME": f"test_{_db['NAME']}_{os.getpid()}"}
# One test database per test run (its process): two runs side by side never share or drop each other's.
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "access.User"
# Suspended users still load, so that AccessMiddleware can end their session and tell them why.
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.AllowAllUsersModelBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"environment": "contactpoint.web.jinja.environment"},
    },
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    },
]

# Sessions and cookies (DESIGN.md section 4): __Host- cookies are Secure, host-only and path=/.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_NAME = "__Host-contactpoint-session"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
SESSION_COOKIE_AGE = CP.session.absolute_hours * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_NAME = "__Host-contactpoint-csrf"
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Strict"
CSRF_FAILURE_VIEW = "contactpoint.web.errors.csrf_failure"
# The one-shot message after a change (Post/Redirect/Get) waits in the session, never in a cookie of its own.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if CP.is_production:
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 63072000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("sslmode", "verify-full")

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = str(CP.static_root)  # filled by 'contactpoint collectstatic' for production
STATICFILES_DIRS = [str(CP.frontend_dir)]  # GOV.UK Frontend built by `make` (sass) lands here
WHITENOISE_AUTOREFRESH = not CP.is_production
WHITENOISE_USE_FINDERS = True  # the WebAuthn package's scripts are served from its own static folder
WHITENOISE_MIMETYPES = {".mjs": "text/javascript"}

# Notification emails (records.notifications); tests use Django's locmem backend.
# Django 6.1 replaced the EMAIL_* settings with MAILERS (the old ones warn, and go in 2028); Django 5.2 (Python
# 3.11) has only the old ones.
_SMTP = CP.email_backend == "django.core.mail.backends.smtp.EmailBackend"
if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": CP.email_backend, "OPTIONS": {
        "host": CP.email_host, "port": CP.email_port, "use_tls": CP.is_production} if _SMTP else {}}}
else:
    EMAIL_BACKEND = CP.email_backend
    EMAIL_HOST = CP.email_host
    EMAIL_PORT = CP.email_port
    EMAIL_USE_TLS = CP.is_production
DEFAULT_FROM_EMAIL = CP.email_from

LOGIN_URL = "/sign-in"
LOGIN_REDIRECT_URL = "/home"
OTP_TOTP_ISSUER = "ContactPoint"
OTP_TOTP_THROTTLE_FACTOR = 0  # our own lockout (10 failures, 30 minutes) applies to every factor alike
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False  # a key is a second factor, after password and PIN
OTP_WEBAUTHN_RP_ID = "localhost" if not CP.is_production else CP.allowed_hosts[0]
OTP_WEBAUTHN_RP_NAME = "ContactPoint"
OTP_WEBAUTHN_ALLOWED_ORIGINS = (
    ["http://localhost:8000"] if not CP.is_production
    else [f"https://{h}" for h in CP.allowed_hosts]
)

# Logs carry request paths but never query strings, bodies or form values: search criteria are personal data.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "contactpoint": {"level": "INFO"},
        "django.request": {"level": "ERROR"},
        # It logs the (partial) postcode it could not parse: personal data, and our validator reports the
        # refusal itself, without the value.
        "uk_postcodes_parsing": {"level": "CRITICAL"},
    },
}
