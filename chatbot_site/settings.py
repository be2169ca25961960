"""Hafen settings: one environment reader, safe embedded defaults, loud production.

Every setting comes from the environment (see .env.example). In development the
secrets are generated once into var/dev-secrets.env; in production a missing
secret stops start-up with one line that names it.
"""

import os
import secrets
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

HAFEN_ENV = env("HAFEN_ENV", default="development")
if HAFEN_ENV not in ("production", "development"):
    raise ImproperlyConfigured(
        f"HAFEN_ENV must be 'production' or 'development', not {HAFEN_ENV!r}"
    )
PRODUCTION = HAFEN_ENV == "production"
VAR_DIR = Path(env("HAFEN_VAR_DIR", default=str(BASE_DIR / "var")))
# The erasure ledger's file: keep it outside the database and its backups (docs/deploy.md).
HAFEN_ERASURE_LEDGER_PATH = env(
    "HAFEN_ERASURE_LEDGER_PATH", default=str(VAR_DIR / "erasure-ledger.jsonl")
)

SECRET_NAMES = ("SECRET_KEY", "FIELD_ENCRYPTION_KEY", "BLIND_INDEX_KEY", "RECEIPT_SIGNING_KEY")


def _dev_secrets() -> None:
    """Generate development secrets once into var/ and load the missing ones."""
    path = VAR_DIR / "dev-secrets.env"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        values = {
            "SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "BLIND_INDEX_KEY": secrets.token_urlsafe(32),
            "RECEIPT_SIGNING_KEY": secrets.token_urlsafe(32),
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)  # atomic: a concurrent process keeps the first file
        except FileExistsError:
            pass
        tmp.unlink(missing_ok=True)
    for line in path.read_text().splitlines():
        key, _sep, value = line.partition("=")
        os.environ.setdefault(key, value)


if PRODUCTION:
    for name in (*SECRET_NAMES, "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"):
        if not env(name, default=""):
            raise ImproperlyConfigured(
                f"{name} is not set; HAFEN_ENV=production needs it (see .env.example)."
            )
else:
    _dev_secrets()

SECRET_KEY = env("SECRET_KEY")
DEBUG = env.bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# First key encrypts, every key decrypts (rotation: prepend the new key, then
# run `manage.py rotate_encryption_keys`).
FIELD_ENCRYPTION_KEY = [k.strip() for k in env("FIELD_ENCRYPTION_KEY").split(",") if k.strip()]
for _key in FIELD_ENCRYPTION_KEY:
    try:
        Fernet(_key)
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY holds a value that is not a Fernet key "
            "(32 url-safe base64-encoded bytes)."
        ) from exc
BLIND_INDEX_KEY = env("BLIND_INDEX_KEY")
RECEIPT_SIGNING_KEY = env("RECEIPT_SIGNING_KEY")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "guardian",
    "auditlog",
    "encrypted_model_fields",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "channels",
    "chatbot_site",
    "accounts",
    "conversations",
    "consent",
    "retention",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside everything that reads a body or touches the database: body caps
    # (413), 503 when the database is unreachable, JSON errors under /api/.
    "chatbot_site.middleware.FaultMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.SessionSecurityMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "chatbot_site.middleware.NoStoreMiddleware",
    "accounts.middleware.CurrentCompanyMiddleware",
    "accounts.middleware.TwoFactorRequiredMiddleware",
    "chatbot_site.middleware.AuditlogMiddleware",
    # Pages: NotAllowed is the 403 page, another ServiceError a message (lib/errors.py).
    "chatbot_site.middleware.ServiceErrorMiddleware",
]

ROOT_URLCONF = "chatbot_site.urls"
WSGI_APPLICATION = "chatbot_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.tenancy",
            ],
        },
    },
]

# --- database -------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'hafen.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # web, worker and beat share the file: WAL and immediate transactions keep
    # them from tripping over each other's locks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        # psycopg's default; only chatbot_site.lib.db.prepared_cursor() uses it
        # (Django's own cursors bind on the client and are never prepared).
        # Turn off behind a pooler in transaction mode that cannot keep
        # prepared statements (PgBouncer before 1.21).
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache (rate limits) and Celery ----------------------------------------
REDIS_URL = env("REDIS_URL", default="")
# Seconds to connect to / wait for the Redis cache. The cache sits in the request
# path (rate limits): when Redis is gone a call must fail fast, and the caller
# falls back (chatbot_site/lib/ratelimit.py) instead of holding the request.
HAFEN_CACHE_TIMEOUT = env.float("HAFEN_CACHE_TIMEOUT", default=0.5)
# Seconds to connect to the broker and the result backend when a request queues
# a task; a task that cannot be queued is logged and left to beat.
HAFEN_BROKER_TIMEOUT = env.float("HAFEN_BROKER_TIMEOUT", default=2.0)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": HAFEN_CACHE_TIMEOUT,
                "socket_timeout": HAFEN_CACHE_TIMEOUT,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

CELERY_QUEUE_DIR = VAR_DIR / "celery"
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    for _sub in ("queue", "processed", "control", "results"):
        (CELERY_QUEUE_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_QUEUE_DIR / "queue"),
        "data_folder_out": str(CELERY_QUEUE_DIR / "queue"),
        "processed_folder": str(CELERY_QUEUE_DIR / "processed"),
        "control_folder": str(CELERY_QUEUE_DIR / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = env(
    "CELERY_RESULT_BACKEND", default=REDIS_URL or f"file://{CELERY_QUEUE_DIR / 'results'}"
)
# Queuing a task from a request gives up after a few quick attempts
# (chatbot_site.lib.tasks.enqueue_or_defer logs it; beat picks the work up).
CELERY_BROKER_CONNECTION_TIMEOUT = HAFEN_BROKER_TIMEOUT
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": HAFEN_BROKER_TIMEOUT}
# A Redis result backend: its consumer subscribes when a task is sent, and its
# default is 20 reconnection attempts a second apart, which would hold the request.
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = HAFEN_BROKER_TIMEOUT
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "retry_policy": {"max_retries": 2, "interval_start": 0, "interval_step": 0.2}
}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_EXPIRES = 3600
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# retention: select the companies whose deletion window is due, every 15 minutes
CELERY_BEAT_SCHEDULE["retention-run-due"] = {"task": "retention.run_due", "schedule": 15 * 60.0}

# --- auth, guardian, audit -------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row
GUARDIAN_RAISE_403 = False
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"

AUDITLOG_DISABLE_REMOTE_ADDR = True  # no IP addresses, not even of staff
AUDITLOG_STORE_JSON_CHANGES = True
AUDITLOG_MASK_CALLABLE = "chatbot_site.lib.audit.mask_entirely"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- i18n ------------------------------------------------------------------
LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("German")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

# --- static ----------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- transport security ----------------------------------------------------
# Behind a reverse proxy that sets X-Forwarded-Proto and X-Forwarded-For (it must
# overwrite X-Forwarded-For with the client's address, not append to it): HTTPS
# is taken from the header, and rate limits count the first X-Forwarded-For hop.
HAFEN_BEHIND_PROXY = env.bool("HAFEN_BEHIND_PROXY", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"  # the chat page opts out and sends CSP frame-ancestors
SESSION_COOKIE_HTTPONLY = True
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if HAFEN_BEHIND_PROXY:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- logging: ids, counts and durations only; no access log with addresses --
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # runserver's request log prints client addresses; silence it.
        "django.server": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
    },
}

# --- product ---------------------------------------------------------------
HAFEN_PUBLIC_URL = env("HAFEN_PUBLIC_URL", default="")

# --- chat API: body cap and rate limits ---------------------------------------
# Read once here; chatbot_site/lib/ratelimit.py and conversations/api.py use them.
# Bodies above this many bytes get 413 under /api/ (other pages: Django's
# DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB).
HAFEN_API_MAX_BODY_BYTES = env.int("HAFEN_API_MAX_BODY_BYTES", default=64 * 1024)
# Requests per minute; 0 switches one off. Counted most specific first, and a
# refused request does not count against the broader budgets.
# Per client (a keyed hash of the address, daily salt, only in the cache):
HAFEN_RATE_CLIENT_PER_MINUTE = env.int("HAFEN_RATE_CLIENT_PER_MINUTE", default=1200)
HAFEN_RATE_CLIENT_PUBLIC_PER_MINUTE = env.int("HAFEN_RATE_CLIENT_PUBLIC_PER_MINUTE", default=120)
# Per visitor token, and per conversation (messages):
HAFEN_RATE_VISITOR_PER_MINUTE = env.int("HAFEN_RATE_VISITOR_PER_MINUTE", default=240)
HAFEN_RATE_POLLS_PER_MINUTE = env.int("HAFEN_RATE_POLLS_PER_MINUTE", default=120)
HAFEN_RATE_CONVERSATION_PER_MINUTE = env.int("HAFEN_RATE_CONVERSATION_PER_MINUTE", default=20)
HAFEN_RATE_SELF_SERVICE_PER_MINUTE = env.int("HAFEN_RATE_SELF_SERVICE_PER_MINUTE", default=5)
# Everyone together, per inbox: a guard against a distributed flood, far above
# normal traffic (500 busy visitors make about 25,000 calls a minute).
HAFEN_RATE_INBOX_PER_MINUTE = env.int("HAFEN_RATE_INBOX_PER_MINUTE", default=100_000)
HAFEN_RATE_KEY_PREFIX = env("HAFEN_RATE_KEY_PREFIX", default="hafen:rl")
