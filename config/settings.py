"""Settings, all from environment variables (see README). The embedded default is SQLite in
the project folder and tasks run in-process, so nothing needs a server."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_choice, env_float, env_int, env_list, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)

# --- Secret key and embedded mode (issue 18) -------------------------------------------------
# GRADER_EMBEDDED=1: a single-machine trial, the public embedded key is accepted.
# GRADER_EMBEDDED=0: a deployment: SECRET_KEY is required here, cookies are secure, HSTS.
# Unset: commands, tests and DEBUG servers run on the embedded key, but a WSGI server
# (gunicorn, runserver) without DEBUG refuses to start on it (config.wsgi), and
# `check --deploy` reports it as an error (exams.checks, grader.E001).
EMBEDDED_SECRET_KEY = "insecure-embedded-default-key-set-SECRET_KEY-in-production"
GRADER_EMBEDDED_EXPLICIT = env_bool("GRADER_EMBEDDED", False) if env_str("GRADER_EMBEDDED") else None
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG and GRADER_EMBEDDED_EXPLICIT is False:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off")
    SECRET_KEY = EMBEDDED_SECRET_KEY
# --- end secret key ---------------------------------------------------------------------------
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

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
    "drf_spectacular_sidecar",   # Swagger UI served from the installed package (no CDN)
    "exams",
    "rubrics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

_default_db = f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
try:
    # Connections are kept for a minute (a Celery task opening its own PostgreSQL connection
    # cost ~3 % of a typed submission's time) and checked before reuse, so a restarted
    # database costs one failed check, not a failed task.
    DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL", _default_db) or _default_db,
                                                  conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0),
                                                  conn_health_checks=True)}
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Workers and the web process share the file: wait for locks instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The student pages (exams.student_urls) sign in with Django's auth views; accounts made from a
# roster have no password until the student sets one through "Forgot your password?" (an email).
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "student-home"
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "") or ""
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "grader@localhost")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")) or "")
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")) or "")
MEDIA_URL = "media/"

# ---------------------------------------------------------------- files, static, health
# Uploaded files (submissions, blank exams) go to Django's default storage and are only ever
# opened through it (exams.files): the local folder MEDIA_ROOT by default, S3-compatible
# object storage when AWS_STORAGE_BUCKET_NAME is set, so workers on several machines need no
# shared disk. Static files are served by WhiteNoise: in a deployment (DEBUG off,
# GRADER_EMBEDDED=0) from STATIC_ROOT, filled by `collectstatic` (the image runs it), with
# hashed, compressed, forever-cacheable names; otherwise straight from the apps.
_DEPLOYED = not DEBUG and not env_bool("GRADER_EMBEDDED", True)
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME", "") or ""
_S3_ENDPOINT = env_url("AWS_S3_ENDPOINT_URL")
if AWS_STORAGE_BUCKET_NAME:
    from botocore.config import Config as _BotoConfig

    _S3_KEY, _S3_SECRET = env_str("AWS_ACCESS_KEY_ID") or None, env_str("AWS_SECRET_ACCESS_KEY") or None
    if bool(_S3_KEY) != bool(_S3_SECRET):
        raise ImproperlyConfigured("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set together "
                                   "(or neither, for the machine's own AWS credentials)")
    _S3_ADDRESSING = env_choice("AWS_S3_ADDRESSING_STYLE", "auto", ("auto", "path", "virtual"))
    _DEFAULT_STORAGE = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": AWS_STORAGE_BUCKET_NAME,
        "endpoint_url": _S3_ENDPOINT,                     # unset: AWS itself
        "access_key": _S3_KEY, "secret_key": _S3_SECRET,  # unset: boto3's own chain (roles)
        "region_name": env_str("AWS_S3_REGION_NAME") or None,
        "location": (env_str("AWS_LOCATION") or "").strip("/"),   # a key prefix in the bucket
        # Never overwrite: a stored name always means the same content (like the local
        # folder), so an exam reloaded with a new blank PDF cannot change old submissions'
        # template, and exams.files can cache copies by name and size.
        "file_overwrite": False,
        "default_acl": None,            # private: the bucket's policy; files are never linked
        "max_memory_size": 8 * 1024 * 1024,   # larger downloads spool to disk
        "client_config": _BotoConfig(
            s3={"addressing_style": _S3_ADDRESSING}, signature_version="s3v4",
            connect_timeout=env_int("AWS_S3_CONNECT_TIMEOUT", 5, minimum=1), read_timeout=60,
            retries={"max_attempts": 3, "mode": "standard"}),
    }}
elif _S3_ENDPOINT:
    raise ImproperlyConfigured("AWS_S3_ENDPOINT_URL is set but AWS_STORAGE_BUCKET_NAME is not: "
                               "uploads would silently stay in the local folder")
else:
    _DEFAULT_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _DEFAULT_STORAGE,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage" if _DEPLOYED
                    else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = not _DEPLOYED
# Local copies of stored files per worker/web process (exams.files), least recently used out.
GRADER_FILE_CACHE_MB = env_int("GRADER_FILE_CACHE_MB", 256, minimum=16)
# /health/ answers first (probes come with the container's address as Host, over HTTP);
# WhiteNoise right after SecurityMiddleware, as its documentation asks.
MIDDLEWARE.insert(0, "exams.health.HealthCheckMiddleware")
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                  "whitenoise.middleware.WhiteNoiseMiddleware")
# ---------------------------------------------------------------- end of files, static, health

# Uploads: the limit is enforced before the body is read in full (see exams.api).
MAX_UPLOAD_MB = env_int("MAX_UPLOAD_MB", 50, minimum=1)
MAX_PDF_PAGES = env_int("MAX_PDF_PAGES", 100, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Celery: Redis when configured, else tasks run in-process (the embedded default).
_BROKER = env_str("CELERY_BROKER_URL") or env_str("REDIS_URL") or ""
CELERY_TASK_ALWAYS_EAGER = not _BROKER
# In-process mode still builds a Celery app; the memory transport keeps it from probing AMQP.
CELERY_BROKER_URL = _BROKER or "memory://localhost/"
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or _BROKER or None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery closes the worker's database connections around every task unless this is set; with
# it, they are closed every N tasks and otherwise checked like Django's per request
# (worker.celery.reuse_healthy_db_connections; DB_CONN_MAX_AGE still applies).
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 100, minimum=1)
# Read by the worker from its own environment: tasks are published without limits
# (worker.celery), so the process that enqueues them does not decide.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360, minimum=1)
# Redis redelivers an unacked task after this long; must exceed the task time limit.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 900, minimum=60)}
# A submission in `processing` longer than this is considered abandoned and re-queued.
GRADER_STALE_AFTER_S = env_int("GRADER_STALE_AFTER_S", 900, minimum=10)
GRADER_MAX_ATTEMPTS = env_int("GRADER_MAX_ATTEMPTS", 3, minimum=1)
GRADER_OCR_TIMEOUT_S = env_int("GRADER_OCR_TIMEOUT_S", 60, minimum=1)
# How Tesseract runs (grader.tesseract reads the variable itself; checked here at start-up):
# auto = libtesseract in the worker process if it loads, else the `tesseract` command.
GRADER_OCR_ENGINE = env_choice("GRADER_OCR_ENGINE", "auto", ("auto", "library", "command"))
# Seconds of symbolic work (SymPy) one expression answer may take; grader.limits reads the
# variable itself, checked here at start-up. An answer over it is flagged `too_complex`.
GRADER_EXPRESSION_BUDGET_S = env_float("GRADER_EXPRESSION_BUDGET_S", 2.0, minimum=0.1)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SUBMISSION_UPLOAD_RATE = env_str("SUBMISSION_UPLOAD_RATE", "30/min")
SPECTACULAR_SETTINGS = {
    "TITLE": "Exam auto-grader API", "VERSION": "0.1.0",
    # Two models have a `status` with different choices: name their enums (else a warning).
    "ENUM_NAME_OVERRIDES": {"SubmissionStatusEnum": "exams.models.Submission.Status",
                            "RegradeRequestStatusEnum": "exams.models.RegradeRequest.Status"},
    # /api/docs/ loads Swagger UI from this server's static files (the drf-spectacular-sidecar
    # package), never from a CDN at @latest.
    "SWAGGER_UI_DIST": "SIDECAR", "SWAGGER_UI_FAVICON_HREF": "SIDECAR", "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}

if not DEBUG and GRADER_EMBEDDED_EXPLICIT is False:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 3600, minimum=0)
    # Opt-in: they bind every subdomain / the browser preload list, which only the operator
    # can decide. `check --deploy` reports them until set.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")



# ---------------------------------------------------------------- outages (issue 18, 3/4/8/10)
# A grading task that meets an outage (database, broker, file storage: exams.grading.OUTAGES)
# retries with exponential backoff, doubling from 1 s up to this cap (each delay drawn from
# its upper half): 10 retries capped at 60 s keep retrying for 2.5 to 5 minutes. An outage
# that outlasts them leaves the submission for the sweep (GRADER_STALE_AFTER_S), never failed.
GRADER_TASK_MAX_RETRIES = env_int("GRADER_TASK_MAX_RETRIES", 10, minimum=0)
GRADER_RETRY_BACKOFF_MAX_S = env_int("GRADER_RETRY_BACKOFF_MAX_S", 60, minimum=1)

# --- Logins: brute-force protection, token expiry, password policy (issue 18) ----------------
# Failed logins on /api/auth/token/ and /admin/login/ are counted per account and per client
# address (django-axes, database handler: works in every process, and admins see and clear
# lockouts under "Axes" in the admin). LOGIN_FAILURE_LIMIT failures within
# LOGIN_LOCKOUT_MINUTES lock the account or the address (429, even with the right password)
# until that many minutes have passed.
INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]   # last, as django-axes requires
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend",
                           "django.contrib.auth.backends.ModelBackend"]
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10, minimum=1)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
# Behind a reverse proxy: how many proxies append to X-Forwarded-For (0 = use REMOTE_ADDR).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]   # either one locks
# Not reset by a success: a student logging in to their own account between guesses at
# someone else's would otherwise wipe the count of the address (and of the guessed account).
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "exams.auth.lockout_response"
AXES_CLIENT_IP_CALLABLE = "exams.auth.client_ip"
AXES_VERBOSE = False
# API tokens older than this are refused; POST /api/auth/token/ then issues a new one.
API_TOKEN_TTL_HOURS = env_int("API_TOKEN_TTL_HOURS", 24 * 7, minimum=1)
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = [
    "rest_framework.authentication.SessionAuthentication",
    "exams.auth.ExpiringTokenAuthentication",
]
# Django's full password policy (admin forms, createsuperuser, changepassword).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# --- end logins -------------------------------------------------------------------------------

# --- Shared cache (issue 18) ------------------------------------------------------------------
# Throttle counts (uploads per student) must be shared by every web process: Redis when one is
# configured (CACHE_URL, else REDIS_URL, else a redis:// broker URL), per-process memory
# otherwise (the embedded default has one process). Unreachable Redis = an empty cache.
_CACHE_URL = env_str("CACHE_URL") or env_str("REDIS_URL") or (
    _BROKER if _BROKER.startswith(("redis://", "rediss://")) else "")
if _CACHE_URL:
    CACHES = {"default": {"BACKEND": "config.cache.FailOpenRedisCache", "LOCATION": _CACHE_URL,
                          "KEY_PREFIX": "grader-cache",
                          "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# --- end shared cache -------------------------------------------------------------------------
