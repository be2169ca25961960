"""Hafen settings: one environment reader, safe embedded defaults, loud production.

Every setting comes from the environment (see .env.example). In development the
secrets are generated once into var/dev-secrets.env; in production a missing
secret stops start-up with one line that names it.
"""

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

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
    "accounts.middleware.StaffLocaleMiddleware",
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
    # Tests too use a file (pytest-xdist adds the worker to its name), not the
    # shared-cache in-memory database: there a live-server thread still busy
    # when a test ends makes the flush fail at once ("table is locked") instead
    # of waiting for it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
elif env.bool("HAFEN_DB_POOL", default=False):
    # The web process (chatbot_site/asgi.py turns this on): under ASGI each
    # request's sync code runs in a thread of its own, so persistent per-thread
    # connections would pile up ("too many clients"). Django's psycopg pool
    # keeps HAFEN_DB_POOL_MAX connections per process and lends them out.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("HAFEN_DB_POOL_MIN", default=2),
        "max_size": env.int("HAFEN_DB_POOL_MAX", default=20),
        "timeout": env.float("HAFEN_DB_POOL_TIMEOUT", default=10.0),
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        # psycopg's default; only chatbot_site.lib.db.prepared_cursor() uses it
        # (Django's own cursors bind on the client and are never prepared).
        # Turn off behind a pooler in transaction mode that cannot keep
        # prepared statements (PgBouncer before 1.21).
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache (rate limits) and Celery ----------------------------------------
REDIS_URL = env("REDIS_URL", default="")
_xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if REDIS_URL and _xdist_worker and os.environ.get("HAFEN_REDIS_WORKER") != _xdist_worker:
    # `make test` runs pytest-xdist workers side by side on one Redis server:
    # each takes its own database number (base + 1 + worker), so their cache,
    # channel groups and Celery queues never meet. Put back in the environment
    # (marked, so it shifts once) for the web and worker processes a test starts.
    _parts = urlsplit(REDIS_URL)
    _db = int(_parts.path.strip("/") or 0) + 1 + int(_xdist_worker.removeprefix("gw"))
    REDIS_URL = os.environ["REDIS_URL"] = urlunsplit(_parts._replace(path=f"/{_db}"))
    os.environ["HAFEN_REDIS_WORKER"] = _xdist_worker
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
            # Culling (a third of the files once MAX_ENTRIES is reached) would drop
            # sign-in throttle counters and locks: keep the bound far above use.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
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

# --- real time (issue 13) -----------------------------------------------------
# Pushed updates over WebSocket (Django Channels, served by uvicorn through
# chatbot_site/asgi.py). Events carry ids and status only (conversations/events.py).
ASGI_APPLICATION = "chatbot_site.asgi.application"
# Redis when REDIS_URL is set: every web process shares it, so an event raised
# in one reaches a socket held by another. Without it (the embedded run) the
# in-memory layer, which only works within ONE process (bin/run starts one).
HAFEN_CHANNEL_PREFIX = env("HAFEN_CHANNEL_PREFIX", default="hafen:ws:")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # A socket's receive loop blocks 5 s in Redis (BZPOPMIN); redis-py's
                # default read timeout is 5 s as well, and the two raced: an idle
                # socket died. Reads get 15 s; connecting stays quick.
                "hosts": [
                    {"address": REDIS_URL, "socket_timeout": 15, "socket_connect_timeout": 2}
                ],
                "prefix": HAFEN_CHANNEL_PREFIX,
                # An event is fresh or useless: drop what a client did not read in time.
                "expiry": 30,
                "group_expiry": 24 * 3600,
                "capacity": 200,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- content security policy (issue 12) -----------------------------------------
# django-csp (csp.middleware.CSPMiddleware) sends this on every response that
# has no Content-Security-Policy yet: console, login, public and error pages.
# No inline script and no inline event handlers anywhere (static/console/*.js
# binds them); no style attributes or <style> blocks (CSS files only). Inline
# SVG markup (the TOTP QR code) needs nothing; data: images are allowed for it.
# The chat page sends its own policy (frame-ancestors from the inbox's allowed
# origins; conversations/views/chat.py) and django-csp leaves a header that is
# already there alone.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- sign-in throttling (issue 12) --------------------------------------------
# accounts/throttle.py: per account (a keyed hash of the username, existing or not)
# and per client (a keyed hash of the address, daily salt), counted in the cache.
# After SLOWDOWN_AFTER failures each attempt waits 1, 2, 4 ... s (at most
# MAX_DELAY_SECONDS) after the last failure; after LOCKOUT_AFTER failures the
# account or client is locked for LOCKOUT_MINUTES, and counters expire that long
# after the last failure. A success clears the account's counter, not the client's.
# 0 switches a slow-down or a lockout off.
HAFEN_SIGNIN_SLOWDOWN_AFTER = env.int("HAFEN_SIGNIN_SLOWDOWN_AFTER", default=3)
HAFEN_SIGNIN_LOCKOUT_AFTER = env.int("HAFEN_SIGNIN_LOCKOUT_AFTER", default=10)
HAFEN_SIGNIN_CLIENT_SLOWDOWN_AFTER = env.int("HAFEN_SIGNIN_CLIENT_SLOWDOWN_AFTER", default=20)
HAFEN_SIGNIN_CLIENT_LOCKOUT_AFTER = env.int("HAFEN_SIGNIN_CLIENT_LOCKOUT_AFTER", default=50)
HAFEN_SIGNIN_LOCKOUT_MINUTES = env.float("HAFEN_SIGNIN_LOCKOUT_MINUTES", default=15)
HAFEN_SIGNIN_MAX_DELAY_SECONDS = env.int("HAFEN_SIGNIN_MAX_DELAY_SECONDS", default=60)

# --- e-mail (issue 12) ---------------------------------------------------------
# Invitations go out through Django's e-mail backend. In development the console
# backend prints each mail (with its link) to the web process's stdout, so
# `make run` works without a mail server; production defaults to SMTP.
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=587 if PRODUCTION else 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=PRODUCTION)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Hafen <hafen@localhost>")
# How long an invitation link works, in hours.
HAFEN_INVITATION_TTL_HOURS = env.int("HAFEN_INVITATION_TTL_HOURS", default=72)

# --- staff sessions and two-factor (issue 12) -----------------------------------
# A signed-in session ends after HAFEN_SESSION_IDLE_MINUTES without a request and
# HAFEN_SESSION_MAX_HOURS after sign-in, whatever happens in between
# (accounts.middleware.SessionSecurityMiddleware). The cookie lives no longer.
HAFEN_SESSION_IDLE_MINUTES = env.float("HAFEN_SESSION_IDLE_MINUTES", default=30)
HAFEN_SESSION_MAX_HOURS = env.float("HAFEN_SESSION_MAX_HOURS", default=12)
SESSION_COOKIE_AGE = max(int(HAFEN_SESSION_MAX_HOURS * 3600), 60)
# Between password and code a sign-in waits this long for step 2 (seconds).
HAFEN_SIGNIN_PENDING_SECONDS = env.int("HAFEN_SIGNIN_PENDING_SECONDS", default=300)
# django-otp: the issuer shown in authenticator apps (otpauth URI).
OTP_TOTP_ISSUER = "Hafen"

# --- audit retention floor (issue 15) ---------------------------------------------
# Audit entries (who opened, revealed, exported or erased what, and when) are kept
# at least this many days, whatever a company's retention policy says: the policy
# form and service refuse a shorter audit_days, and a retention run never purges an
# entry younger than this even if an older stored policy is shorter (Art. 5(2),
# Art. 17(3)(b)/(e) GDPR; see docs/privacy.md).
HAFEN_AUDIT_RETENTION_MIN_DAYS = env.int("HAFEN_AUDIT_RETENTION_MIN_DAYS", default=365)
