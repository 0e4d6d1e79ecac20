"""Settings, all from environment variables.

Defaults are safe for the embedded mode (SQLite file, local file storage). A production
secret that is missing is a loud error, never a silent default.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PORTAL_VAR_DIR", BASE_DIR / "var"))


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)


def _secret_key():
    """SECRET_KEY, or the contents of SECRET_KEY_FILE (a systemd credential, a Docker secret,
    or the key `make serve` keeps in var/ for the embedded default)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = os.environ.get("SECRET_KEY_FILE")
    if not path:
        return ""
    try:
        key = Path(path).read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ImproperlyConfigured(f"SECRET_KEY_FILE {path} cannot be read: {error}") from None
    if not key:
        raise ImproperlyConfigured(f"SECRET_KEY_FILE {path} is empty.")
    return key


SECRET_KEY = _secret_key()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY or SECRET_KEY_FILE in the environment "
            "(or DEBUG=true for a local, non-production run)."
        )
    # Debug-only key: never used when DEBUG is off.
    SECRET_KEY = "insecure-local-debug-key-not-for-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "portal",
    "contractors",
    "documents",
    "reporting",
    "demo",
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    # First, so that its line covers every response, redirects and static files included.
    "portal.request_log.RequestLogMiddleware",
    # Before the host check and the HTTPS redirect: see portal/health.py.
    "portal.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The Content-Security-Policy (portal/content_policy.py): ahead of WhiteNoise, which answers
    # static files without calling what follows, so that a file opened on its own (an SVG) is
    # under the policy too; its nonce is ready before any view or template asks for it.
    "portal.content_policy.PortalCSPMiddleware",
    # Static files from the app itself, before sessions and the rest are touched.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Whether the session passed the second step; until it has, a session that needs one reaches
    # only that step (portal/second_factor/middleware.py).
    "django_otp.middleware.OTPMiddleware",
    "portal.second_factor.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.request_context.RequestContextMiddleware",
    # The idle timeout (portal/accounts/middleware.py): after the messages, which tell the user
    # why they must log in again, and the request context, whose address the logout's audit
    # event carries.
    "portal.accounts.middleware.IdleTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a login refused for a lockout into the lockout's
    # answer, which every middleware above then sees like any other response.
    "axes.middleware.AxesMiddleware",
]

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
                "portal.context_processors.membership",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if not DATABASE_URL:
    # The embedded default: a SQLite file in a folder a fresh clone does not have yet.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASE_URL = f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60"))
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's, with a flush that empties the append-only audit table too.
    DATABASES["default"]["ENGINE"] = "portal.audit.sqlite"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out account or address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        # Django's, with its refusal in Chinese (portal/accounts/passwords.py).
        "NAME": "portal.accounts.passwords.MinimumLengthValidator",
        "OPTIONS": {"min_length": int(os.environ.get("PASSWORD_MIN_LENGTH", "12"))},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Brute force (ASVS 5.0 V6.3.1), with django-axes: LOGIN_FAILURE_LIMIT failed logins lock the
# account, and separately the client address, until LOGIN_COOLOFF_MINUTES have passed since the
# last of them. The login page, the token endpoint and the admin site all go through
# authenticate(), so they share one count, kept in the database for every web machine to see.
# Unknown usernames are counted like real ones and refused in the same words.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# The address as the audit log has it: X-Forwarded-For only behind the TLS proxy.
AXES_CLIENT_IP_CALLABLE = "portal.request_context.client_ip_of"
AXES_LOCKOUT_CALLABLE = "portal.accounts.lockout.lockout_response"
# A try during a lockout, the right password included, is refused without counting: the
# cool-off the message promises is the one that holds.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Logins and logouts are in the audit log (auth.*); axes keeps only the failures it counts.
AXES_DISABLE_ACCESS_LOG = True
# Not a line announcing the lockout's configuration at every start of every command.
AXES_VERBOSE = False

# Idle sessions end (portal/accounts/middleware.py): bureau staff, who sign, after
# SESSION_IDLE_MINUTES_BUREAU; everyone else, inspectors on site among them, after
# SESSION_IDLE_MINUTES.
SESSION_IDLE_MINUTES_BUREAU = int(os.environ.get("SESSION_IDLE_MINUTES_BUREAU", "30"))
SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", "480"))

LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

# Object storage: S3 when a bucket is named, local files otherwise (the embedded default).
S3_BUCKET = os.environ.get("S3_BUCKET", "")
S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL", "") or None
S3_REGION = os.environ.get("S3_REGION", "us-east-1")
S3_ACCESS_KEY_ID = os.environ.get("S3_ACCESS_KEY_ID", "")
S3_SECRET_ACCESS_KEY = os.environ.get("S3_SECRET_ACCESS_KEY", "")
if S3_BUCKET:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": S3_ENDPOINT_URL,
            "region_name": S3_REGION,
            "access_key": S3_ACCESS_KEY_ID,
            "secret_key": S3_SECRET_ACCESS_KEY,
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": 300,
            "file_overwrite": False,
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT)},
    }
# In debug, WhiteNoise serves the files from the apps as they change (no collectstatic).
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
# With debug off, static files are served with hashed names (after `collectstatic`), compressed,
# and cached for a year by browsers and proxies; with debug on, as they are in the source.
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Security: strict when DEBUG is off; every flag can be relaxed by its own variable.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (ASVS 5.0 V3.4.3; frame-ancestors: V3.4.6): scripts and styles only
# from the portal's own static files; no inline script or style attribute anywhere in
# templates/ (tests/portal/test_csp.py scans them). The nonce is for the pages of libraries
# that keep an inline block (the API docs: templates/drf_spectacular/swagger_ui.html); a page
# that never asks for one sends none. The object storage's origin is added to img-src and
# connect-src per response, from the S3_* settings above (portal/content_policy.py).
# CSP_REPORT_ONLY=true sends the same policy as Content-Security-Policy-Report-Only: browsers
# then only report what they would block, to try a change on a live portal first.
_CSP = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:", "blob:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        # No page has a <base>; ASVS V3.4.3 asks for 'none' as the minimum.
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}
if env_bool("CSP_REPORT_ONLY", False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _CSP
else:
    CONTENT_SECURITY_POLICY = _CSP

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "portal.api_support.Pagination",
    # drf-spectacular's, documenting the pagination's 404 on every list (portal/api_schema.py).
    "DEFAULT_SCHEMA_CLASS": "portal.api_schema.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api_support.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"token": os.environ.get("TOKEN_THROTTLE_RATE", "10/min")},
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "第三方安全检查服务平台 API",
    "DESCRIPTION": "Inspection portal API v1 (see API.md in the design notes).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a `status` or `kind`: name each choice set after its model.
    "ENUM_NAME_OVERRIDES": {
        "InspectionStatusEnum": "contractors.inspections.models.Inspection.Status",
        "HazardStatusEnum": "contractors.hazards.models.Hazard.Status",
        "EvidenceStatusEnum": "contractors.evidence.models.Evidence.Status",
        "InspectionKindEnum": "contractors.inspections.models.Inspection.Kind",
        "StreetKindEnum": "contractors.register.models.StreetKind",
        "DocumentStatusEnum": "documents.models.Document.Status",
        "DocTypeEnum": "documents.models.DocType",
    },
    # The docs page must work on a closed network: Swagger UI and ReDoc from local static files.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# The second factor (portal/second_factor/): the name authenticator apps show beside the account.
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "第三方安全检查服务平台")

GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None

# Evidence uploads: the largest file, how long an upload slot stays valid, how long a download
# link works.
EVIDENCE_MAX_BYTES = int(os.environ.get("EVIDENCE_MAX_BYTES", str(20 * 1024 * 1024)))
UPLOAD_SLOT_SECONDS = int(os.environ.get("UPLOAD_SLOT_SECONDS", "900"))
DOWNLOAD_URL_SECONDS = int(os.environ.get("DOWNLOAD_URL_SECONDS", "300"))

# Register import: files larger than this are refused before parsing.
REGISTER_IMPORT_MAX_BYTES = int(os.environ.get("REGISTER_IMPORT_MAX_BYTES", str(10 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = REGISTER_IMPORT_MAX_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = REGISTER_IMPORT_MAX_BYTES + 1024 * 1024

# Legal documents: LibreOffice turns the signed DOCX into PDF, one conversion at a time per
# worker; without it the portal issues DOCX only and says so on the page.
SOFFICE_BINARY = os.environ.get("SOFFICE_BINARY", "soffice")
PDF_TIMEOUT_SECONDS = int(os.environ.get("PDF_TIMEOUT_SECONDS", "120"))
PDF_MAX_ATTEMPTS = int(os.environ.get("PDF_MAX_ATTEMPTS", "5"))
DOCUMENT_TEMPLATE_MAX_BYTES = int(
    os.environ.get("DOCUMENT_TEMPLATE_MAX_BYTES", str(5 * 1024 * 1024))
)

# Background work (PDF conversion). The embedded default runs each task at once in the
# process that enqueues it; TASKS_BACKEND=database queues them for `manage.py db_worker`.
TASKS_BACKEND = os.environ.get("TASKS_BACKEND", "immediate")
TASKS = {
    "default": {
        "BACKEND": {
            "immediate": "django_tasks.backends.immediate.ImmediateBackend",
            "database": "django_tasks_db.DatabaseBackend",
        }[TASKS_BACKEND]
    }
}

# Periodic jobs (`manage.py run_schedule`, portal/jobs/): a failed run is tried again after
# PERIODIC_JOB_RETRY_SECONDS, doubling each time, PERIODIC_JOB_MAX_ATTEMPTS times in all; a run
# still marked running after PERIODIC_JOB_LEASE_SECONDS lost its worker and is queued again.
PERIODIC_JOB_MAX_ATTEMPTS = int(os.environ.get("PERIODIC_JOB_MAX_ATTEMPTS", "4"))
PERIODIC_JOB_RETRY_SECONDS = int(os.environ.get("PERIODIC_JOB_RETRY_SECONDS", "60"))
PERIODIC_JOB_LEASE_SECONDS = int(os.environ.get("PERIODIC_JOB_LEASE_SECONDS", "1800"))
PERIODIC_JOB_RETRY_CHECK_SECONDS = int(os.environ.get("PERIODIC_JOB_RETRY_CHECK_SECONDS", "60"))
PERIODIC_JOB_MISFIRE_SECONDS = int(os.environ.get("PERIODIC_JOB_MISFIRE_SECONDS", "300"))

# /healthz: the task queue fails its check when a due job has waited longer than this.
HEALTH_TASK_QUEUE_MAX_LAG_SECONDS = int(os.environ.get("HEALTH_TASK_QUEUE_MAX_LAG_SECONDS", "300"))

# One JSON object per line in production (LOG_FORMAT=json, the default with debug off), for a
# log collector; plain text for a person at a terminal.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "portal.request_log.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # One line per task state change is noise; failures are logged by the jobs themselves.
    # The request log replaces Django's own line per failed request.
    "loggers": {
        "django_tasks": {"level": "WARNING"},
        # APScheduler narrates each job it adds; the scheduler prints its timetable instead.
        "apscheduler": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
    },
}
