"""Settings for every environment, read from the environment (django-environ).

Development (`make run`) needs nothing set: SQLite and an embedded broker under var/, keys generated
once into var/. Production sets DJANGO_DEBUG=false and must then provide SECRET_KEY and
FIELD_ENCRYPTION_KEYS; the app refuses to start without them.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("HUB_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=True)


def _dev_secret(name: str, make) -> str:
    """A secret generated once into var/ for development; production must set it explicitly."""
    if not DEBUG:
        raise ImproperlyConfigured(f"{name} must be set when DJANGO_DEBUG is false")
    path = VAR_DIR / f"{name.lower()}.txt"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def _new_django_key() -> str:
    from django.core.management.utils import get_random_secret_key

    return get_random_secret_key()


def _new_fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


SECRET_KEY = env.str("SECRET_KEY", default="") or _dev_secret("SECRET_KEY", _new_django_key)
if not DEBUG and (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure")):
    # The same rule as Django's security.W009, but refused at start instead of warned about.
    raise ImproperlyConfigured("SECRET_KEY is too weak for production: use at least 50 random characters "
                               "(python -c 'import secrets; print(secrets.token_urlsafe(50))').")
# Comma-separated Fernet keys; the first encrypts, all decrypt (rotation).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[]) or [
    _dev_secret("FIELD_ENCRYPTION_KEY", _new_fernet_key)
]
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "csp",
    "warehouse",
    "integrations",
    "billing",
    "pii",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",       # last, as django-axes asks
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
                "warehouse.context_processors.tenancy",
            ],
        },
    },
]

# --- database -----------------------------------------------------------------------------
SQLITE_PATH = VAR_DIR / "hub.sqlite3"
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{SQLITE_PATH}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: WAL lets readers run beside the writer, IMMEDIATE makes a
    # writer wait for the lock up front instead of failing half way through a transaction.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "warehouse.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",     # refuses a locked-out account or address before the password
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-au"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)   # WhiteNoise warns on every request when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- cache (shared rate-limit buckets and locks live in Redis when it is configured) --------
REDIS_URL = env.str("REDIS_URL", default="")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
elif CELERY_BROKER_URL.startswith("redis"):
    # A task taken by a worker that died (acks_late) goes back to the queue after this many seconds.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Confirmations (the marketplace hears that a package shipped) and push intake (an Etsy webhook's order)
# have queues of their own, so an import storm's hundreds of polls in the default queue never stand in
# front of them. A worker started without -Q consumes every queue here, and Redis serves them in turn
# (kombu BRPOPs them all and moves the one just served to the back), as the filesystem broker of
# `make run` does: the next free slot of any worker takes a waiting confirmation. A worker started with
# `-Q confirmations,push` keeps slots for them alone (docker-compose.yml's `worker-priority`).
CELERY_TASK_DEFAULT_QUEUE = "celery"
# Each queue's own routing key: left empty, Celery binds all three to the default exchange under "celery".
CELERY_TASK_QUEUES = tuple(Queue(name, routing_key=name) for name in ("celery", "confirmations", "push"))
CELERY_TASK_ROUTES = {
    "integrations.tasks.confirmations_send_task": {"queue": "confirmations"},
    "integrations.tasks.confirmation_send_task": {"queue": "confirmations"},
    "integrations.tasks.confirmations_sweep_task": {"queue": "confirmations"},
    "integrations.tasks.push_import_task": {"queue": "push"},
}
# Amazon: getOrders' plan sustains a call a minute, so a poll every 2 minutes leaves half of it for
# "import missing orders" and resumes, and an order waits 2 minutes at most for its poll.
ORDERS_POLL_MINUTES = env.float("ORDERS_POLL_MINUTES", default=2.0)
# Etsy: its quota is per app and per day, shared by every shop connected: each poll of each shop spends it.
ETSY_ORDERS_POLL_MINUTES = env.float("ETSY_ORDERS_POLL_MINUTES", default=5.0)
# While an integration's push channel is healthy the poll is only the backstop: less often.
ORDERS_POLL_MINUTES_WITH_PUSH = env.float("ORDERS_POLL_MINUTES_WITH_PUSH", default=30.0)
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "warehouse.tasks.heartbeat", "schedule": env.float("HEARTBEAT_SECONDS", default=60.0)},
    # Beat tasks only fan out, one task per integration that is due.
    "orders-import-due": {"task": "integrations.tasks.orders_import_due",
                          "schedule": env.float("ORDERS_IMPORT_TICK_SECONDS", default=60.0)},
    "confirmations-sweep": {"task": "integrations.tasks.confirmations_sweep_task",
                            "schedule": env.float("CONFIRMATIONS_SWEEP_SECONDS", default=300.0)},
    "inventory-push-due": {"task": "integrations.tasks.inventory_push_due",
                           "schedule": env.float("INVENTORY_TICK_SECONDS", default=300.0)},
    # Amazon stock feeds whose outcome is due a check (their notification has not come).
    "inventory-feeds-due": {"task": "integrations.tasks.inventory_feeds_due_task",
                            "schedule": env.float("INVENTORY_FEED_TICK_SECONDS", default=60.0)},
    "connection-log-prune": {"task": "integrations.tasks.connection_log_prune", "schedule": 6 * 3600.0},
    # Daily: Amazon addresses whose orders are done lose their personal fields (pii/services.py).
    "pii-purge-due": {"task": "pii.tasks.pii_purge_due",
                      "schedule": crontab(hour=env.int("PII_PURGE_HOUR_UTC", default=3), minute=17)},
    "alerts-due": {"task": "integrations.tasks.alerts_due_task",
                   "schedule": env.float("ALERTS_TICK_SECONDS", default=300.0)},
}

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "warehouse.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["warehouse.api.permissions.HasTenantScope"],
    "DEFAULT_PAGINATION_CLASS": "warehouse.api.pagination.DefaultCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "warehouse.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "warehouse.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer",
                                 "rest_framework.renderers.BrowsableAPIRenderer"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Integration hub warehouse API",
    "DESCRIPTION": "REST API for warehouse systems. Authenticate with `Authorization: Api-Key <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the installed sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "APPEND_COMPONENTS": {
        "securitySchemes": {"ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "Authorization",
                                           "description": "`Api-Key <key>`"}}
    },
    "SECURITY": [{"ApiKeyAuth": []}],
}

# --- marketplaces (real endpoints by default; `make run` points them at the sandboxes) -------
AMAZON_SPAPI_ENDPOINT = env.str("AMAZON_SPAPI_ENDPOINT", default="")  # empty: the marketplace's region
AMAZON_LWA_TOKEN_URL = env.str("AMAZON_LWA_TOKEN_URL", default="https://api.amazon.com/auth/o2/token")
AMAZON_SELLER_CENTRAL_URL = env.str("AMAZON_SELLER_CENTRAL_URL", default="")  # empty: per marketplace
AMAZON_LWA_APP_ID = env.str("AMAZON_LWA_APP_ID", default="")
AMAZON_LWA_CLIENT_SECRET = env.str("AMAZON_LWA_CLIENT_SECRET", default="")
AMAZON_APPLICATION_ID = env.str("AMAZON_APPLICATION_ID", default="")
AMAZON_APP_IS_DRAFT = env.bool("AMAZON_APP_IS_DRAFT", default=False)
# A stock feed is finished by its FEED_PROCESSING_FINISHED notification; getFeed is only the backstop:
# after this many seconds while notifications are on, else after AMAZON_FEED_POLL_SECONDS, doubling each
# time up to 10 minutes. A feed with no outcome after AMAZON_FEED_GIVE_UP_MINUTES is sent again.
AMAZON_FEED_NOTIFICATION_WAIT_SECONDS = env.float("AMAZON_FEED_NOTIFICATION_WAIT_SECONDS", default=900.0)
AMAZON_FEED_POLL_SECONDS = env.float("AMAZON_FEED_POLL_SECONDS", default=60.0)
AMAZON_FEED_GIVE_UP_MINUTES = env.float("AMAZON_FEED_GIVE_UP_MINUTES", default=240.0)
# Push: Amazon ORDER_CHANGE notifications go to this SQS queue (empty: polling only). The consumer reads
# AMAZON_NOTIFICATIONS_QUEUE_URL with boto3's usual credentials (AWS_ACCESS_KEY_ID, ...); SQS_ENDPOINT_URL
# points it at an SQS-compatible server (moto on loopback for `make run` and the tests).
AMAZON_NOTIFICATIONS_SQS_ARN = env.str("AMAZON_NOTIFICATIONS_SQS_ARN", default="")
AMAZON_NOTIFICATIONS_QUEUE_URL = env.str("AMAZON_NOTIFICATIONS_QUEUE_URL", default="")
AMAZON_NOTIFICATIONS_DESTINATION_NAME = env.str("AMAZON_NOTIFICATIONS_DESTINATION_NAME", default="integration-hub")
SQS_ENDPOINT_URL = env.str("SQS_ENDPOINT_URL", default="")
SQS_REGION = env.str("SQS_REGION", default="us-east-1")
SQS_WAIT_SECONDS = env.int("SQS_WAIT_SECONDS", default=20)          # long poll
SQS_VISIBILITY_SECONDS = env.int("SQS_VISIBILITY_SECONDS", default=60)
# The consumer gathers ORDER_CHANGE messages this long after the first one of a round and reads their
# orders together (one getOrders per 50 ids): a burst of orders stays within Amazon's usage plans.
AMAZON_PUSH_BATCH_SECONDS = env.float("AMAZON_PUSH_BATCH_SECONDS", default=2.0)
# Etsy ORDER_PAID webhooks: the signing secret (whsec_...) Etsy shows for the app's webhook endpoint.
ETSY_WEBHOOK_SIGNING_SECRET = env.str("ETSY_WEBHOOK_SIGNING_SECRET", default="")
ETSY_API_BASE_URL = env.str("ETSY_API_BASE_URL", default="https://api.etsy.com")
ETSY_OAUTH_CONNECT_URL = env.str("ETSY_OAUTH_CONNECT_URL", default="https://www.etsy.com/oauth/connect")
ETSY_TOKEN_URL = env.str("ETSY_TOKEN_URL", default="https://api.etsy.com/v3/public/oauth/token")
ETSY_KEYSTRING = env.str("ETSY_KEYSTRING", default="")
ETSY_SHARED_SECRET = env.str("ETSY_SHARED_SECRET", default="")
MARKETPLACE_HTTP_TIMEOUT = env.float("MARKETPLACE_HTTP_TIMEOUT", default=20.0)
# Etsy's token endpoint gets longer: a refresh is rare, and Etsy retires the refresh token the moment it
# answers (reference/etsy-api.md §2.2), so an answer we gave up waiting for is a shop to reconnect.
ETSY_TOKEN_TIMEOUT = env.float("ETSY_TOKEN_TIMEOUT", default=60.0)
# Shared token buckets keep every worker together within the marketplaces' usage plans (Redis when
# REDIS_URL is set). SCALE multiplies every rate; MAX_WAIT is how long a worker waits for a token before
# handing its task back to be retried.
MARKETPLACE_RATE_LIMIT_SCALE = env.float("MARKETPLACE_RATE_LIMIT_SCALE", default=1.0)
MARKETPLACE_RATE_LIMIT_MAX_WAIT = env.float("MARKETPLACE_RATE_LIMIT_MAX_WAIT", default=30.0)
# The share of each published plan left unspent: clocks differ, and Amazon's buckets may be partly spent.
MARKETPLACE_RATE_LIMIT_MARGIN = env.float("MARKETPLACE_RATE_LIMIT_MARGIN", default=0.1)
# A 429, 5xx or timeout on one call: this many more tries, backing off from RETRY_BASE seconds (x2, jitter).
MARKETPLACE_RETRIES = env.int("MARKETPLACE_RETRIES", default=3)
MARKETPLACE_RETRY_BASE_SECONDS = env.float("MARKETPLACE_RETRY_BASE_SECONDS", default=1.0)
# A shipment confirmation that still failed after those tries waits this long times its attempts (the sweep
# sends it then).
CONFIRMATION_RETRY_SECONDS = env.float("CONFIRMATION_RETRY_SECONDS", default=120.0)
ETSY_REQUESTS_PER_SECOND = env.int("ETSY_REQUESTS_PER_SECOND", default=10)
ETSY_REQUESTS_PER_DAY = env.int("ETSY_REQUESTS_PER_DAY", default=10000)
# A new integration's first import: every open order of this many days.
ORDERS_FIRST_IMPORT_DAYS = env.int("ORDERS_FIRST_IMPORT_DAYS", default=30)

# How often an integration's page refreshes its sync panel when no import is running (seconds).
LIVE_REFRESH_SECONDS = env.int("LIVE_REFRESH_SECONDS", default=10)

# --- e-mail (setup links, alerts) -----------------------------------------------------------
# Development prints every e-mail on the console (`make run`); production sets EMAIL_URL, e.g.
# smtp+tls://user:password@smtp.example.com:587 (django-environ's email URL).
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Integration hub <hub@localhost>")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)

# --- security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SILENCED_SYSTEM_CHECKS: list[str] = []
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    # The proxy in front says which requests came over TLS; it must set (not pass on) this header.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    # A proxy that terminates TLS may redirect http to https itself: set SECURE_SSL_REDIRECT=false there.
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    if not SECURE_SSL_REDIRECT:
        SILENCED_SYSTEM_CHECKS.append("security.W008")      # the proxy redirects, as configured
# How many proxies sit in front of the app (X-Forwarded-For is trusted only that far); 0: none.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Content-Security-Policy (django-csp): scripts, styles, fonts and images only from our own static files;
# no inline script or style anywhere, Swagger UI included (its init script is served as a file).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Failed logins (django-axes): LOGIN_FAILURE_LIMIT failures lock the account, and separately the client
# address, for LOGIN_LOCKOUT_MINUTES; a tenant admin unlocks their own users in the admin (Users → action).
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("LOGIN_LOCKOUT_MINUTES", default=15.0))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "warehouse.security.client_ip"
AXES_VERBOSE = False
# Failed API keys: this many from one address within the window, and the address gets 429s until it ends.
API_KEY_FAILURE_LIMIT = env.int("API_KEY_FAILURE_LIMIT", default=20)
API_KEY_FAILURE_WINDOW = env.int("API_KEY_FAILURE_WINDOW_SECONDS", default=900)
# The API schema and docs: open in development, behind a login or an API key in production.
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=DEBUG)

# --- logging: event names, never buyer data ----------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # requests-oauthlib logs token bodies at DEBUG: keep it quiet.
    "loggers": {"httpx": {"level": "WARNING"}, "urllib3": {"level": "WARNING"},
                "requests_oauthlib": {"level": "WARNING"}, "oauthlib": {"level": "WARNING"}},
}
