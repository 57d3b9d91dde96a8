"""Settings for LLMTest, read only from the environment through django-environ.

Every variable is listed, with its default, in `.env.example` and the README. With no
environment at all the gateway runs on its embedded defaults: a SQLite file, no Redis,
background jobs on an in-process runner.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG: bool = env.bool("DEBUG", default=False)

# Production must bring its own secret; only DEBUG gets a throwaway one.
SECRET_KEY: str = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (see .env.example)."
        )
    SECRET_KEY = "insecure-development-only-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS: list[str] = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"]
)
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    # The admin, with the dashboard as its index (llmtest.admin_site.GatewayAdminSite).
    "llmtest.apps.GatewayAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_eventstream",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "flows",
    "proxy",
    "benchmarks",
    "suggestions",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves STATIC_ROOT (the admin's CSS and JS, gathered by collectstatic) when
    # no web server in front does; early, so static files skip the rest.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "llmtest.urls"
ASGI_APPLICATION = "llmtest.asgi.application"
WSGI_APPLICATION = None

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

DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    ),
}
# Reuse connections between requests; each is checked before reuse.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The call recorder writes from its own thread while requests read: WAL and a
    # busy timeout keep SQLite from failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    # Tests serve the gateway from other threads: a file (not the shared in-memory
    # database) lets them all connect.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test_db.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- Redis, cache and Celery -------------------------------------------------------

REDIS_URL: str = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Background jobs (benchmarks): Celery workers on Redis when REDIS_URL is set, else an
# in-process pool of threads running the same task code ("threads").
JOBS_RUNNER: str = env.str("JOBS_RUNNER", default="celery" if REDIS_URL else "threads")
if JOBS_RUNNER not in ("celery", "threads"):
    raise ImproperlyConfigured("JOBS_RUNNER must be 'celery' or 'threads'.")
if JOBS_RUNNER == "celery" and not REDIS_URL:
    raise ImproperlyConfigured("JOBS_RUNNER=celery needs REDIS_URL.")
# The Celery queue benchmark tasks go to (a worker consumes it by default).
JOBS_QUEUE: str = env.str("JOBS_QUEUE", default="llmtest")
CELERY_TASK_DEFAULT_QUEUE = JOBS_QUEUE
# Threads of the in-process runner (each runs one task, i.e. one model call, at a time).
JOBS_THREADS: int = env.int("JOBS_THREADS", default=8)

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 600  # seconds: hard kill of a stuck task
CELERY_TASK_SOFT_TIME_LIMIT = 540  # seconds: lets the task record its failure
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
# Workers log through LOGGING below (one line, fields kept, secrets redacted), not
# through Celery's own root handler, which drops the fields.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Live benchmark progress: workers store each event with django-eventstream (in the
# database) and, with Redis, publish a wake-up that the web process's relays hear.
# EVENTSTREAM_REDIS must stay undefined without Redis: the library reads its mere
# presence as "use Redis".
EVENTSTREAM_STORAGE_CLASS = "django_eventstream.storage.DjangoModelStorage"
if REDIS_URL:
    _redis = env.url("REDIS_URL")
    EVENTSTREAM_REDIS = {
        "host": _redis.hostname or "127.0.0.1",
        "port": _redis.port or 6379,
        "db": int((_redis.path or "/0").strip("/") or 0),
        "password": _redis.password,
        "socket_connect_timeout": 5,
    }

# --- REST framework ----------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["llmtest.parsers.SafeJSONParser"],
    "EXCEPTION_HANDLER": "llmtest.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# The OpenAPI schema (/api/schema/) and its Swagger UI (/api/docs/), public like any
# documentation; the UI's files come from the sidecar package, so no CDN is needed.
SPECTACULAR_SETTINGS = {
    "TITLE": "LLMTest",
    "DESCRIPTION": "The gateway's REST API (/api) and its OpenAI- and "
    "Anthropic-compatible endpoints (/v1).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "llmtest.openapi.add_gateway_endpoints",
    ],
}

# --- The gateway ---------------------------------------------------------------------

# Seconds to wait for a provider to connect, and between two reads of its answer.
UPSTREAM_CONNECT_TIMEOUT_S: float = env.float(
    "UPSTREAM_CONNECT_TIMEOUT_S", default=10.0
)
UPSTREAM_TIMEOUT_S: float = env.float("UPSTREAM_TIMEOUT_S", default=300.0)
# Seconds a stream whose client left is still read, for the usage the provider
# reports at its end (so the call can be charged), before it is cut off.
ABANDONED_STREAM_DRAIN_S: float = env.float("ABANDONED_STREAM_DRAIN_S", default=30.0)
# Bytes: a request body above this gets 413 before anything is forwarded.
MAX_REQUEST_BYTES: int = env.int("MAX_REQUEST_BYTES", default=20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES

OPENAI_API_KEY: str = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL: str = env.str("OPENAI_BASE_URL", default="https://api.openai.com/v1")
ANTHROPIC_API_KEY: str = env.str("ANTHROPIC_API_KEY", default="")
ANTHROPIC_BASE_URL: str = env.str(
    "ANTHROPIC_BASE_URL", default="https://api.anthropic.com"
)
ANTHROPIC_VERSION: str = env.str("ANTHROPIC_VERSION", default="2023-06-01")
# OpenAI-compatible providers: "name=base_url,name2=base_url2"; each one's key is read
# from <NAME>_API_KEY (e.g. GROQ_API_KEY). More can be added in the admin.
OPENAI_COMPATIBLE_PROVIDERS: dict[str, str] = env.dict(
    "OPENAI_COMPATIBLE_PROVIDERS", default={}
)
# Provider for model ids that no known family claims ("" = refuse them with 400).
DEFAULT_PROVIDER: str = env.str("DEFAULT_PROVIDER", default="")

# Seconds a process keeps an authenticated key, a balance or the provider table
# before reading them again. Revocations and top-ups clear the shared cache at once.
AUTH_CACHE_TTL_S: int = env.int("AUTH_CACHE_TTL_S", default=60)
CONFIG_CACHE_TTL_S: float = env.float("CONFIG_CACHE_TTL_S", default=5.0)
# Call records are written in batches off the response path: at most this many
# milliseconds after the call, or as soon as this many are waiting.
RECORDER_FLUSH_MS: int = env.int("RECORDER_FLUSH_MS", default=50)
RECORDER_BATCH_SIZE: int = env.int("RECORDER_BATCH_SIZE", default=500)
# Seconds the recorder keeps retrying a batch while the database is unreachable,
# before it gives those calls up (logging their ids).
RECORDER_RETRY_FOR_S: float = env.float("RECORDER_RETRY_FOR_S", default=300.0)

# --- Samples, benchmarks and suggestions ------------------------------------------

# Samples a flow needs before it can be benchmarked.
SAMPLES_MIN_FOR_BENCHMARK: int = env.int("SAMPLES_MIN_FOR_BENCHMARK", default=10)
# Samples one POST /api/samples may carry, and the size of one sample (JSON bytes).
SAMPLES_MAX_PER_REQUEST: int = env.int("SAMPLES_MAX_PER_REQUEST", default=200)
SAMPLE_MAX_BYTES: int = env.int("SAMPLE_MAX_BYTES", default=64 * 1024)
SAMPLE_MAX_MESSAGES: int = env.int("SAMPLE_MAX_MESSAGES", default=100)
# Share of each flow's proxied calls kept as samples, and the most kept per flow
# (both can be set per flow in the admin). 0 turns capture off.
SAMPLE_CAPTURE_RATE: float = env.float("SAMPLE_CAPTURE_RATE", default=0.05)
SAMPLE_CAPTURE_CAP: int = env.int("SAMPLE_CAPTURE_CAP", default=200)
# Captured samples have e-mail addresses, phone and card numbers and API keys
# replaced before they are stored.
SAMPLE_REDACT: bool = env.bool("SAMPLE_REDACT", default=True)

# The model that compares answers, and how often an unreadable verdict is asked again.
JUDGE_MODEL: str = env.str("JUDGE_MODEL", default="gpt-4o-mini")
JUDGE_RETRIES: int = env.int("JUDGE_RETRIES", default=1)
# A JSON `response_format` sent with every judge request, for judges that can be held
# to the verdict's shape: {"type": "json_object"} (OpenAI's JSON mode), or llama.cpp's
# {"type": "json_object", "schema": {...}}. Empty: none is sent.
JUDGE_RESPONSE_FORMAT: dict | None = env.json("JUDGE_RESPONSE_FORMAT", default=None)
if JUDGE_RESPONSE_FORMAT is not None and not isinstance(JUDGE_RESPONSE_FORMAT, dict):
    raise ImproperlyConfigured("JUDGE_RESPONSE_FORMAT must be a JSON object.")
# Samples one benchmark replays at most (the most recent ones).
BENCHMARK_MAX_SAMPLES: int = env.int("BENCHMARK_MAX_SAMPLES", default=100)
BENCHMARK_MAX_CHALLENGERS: int = env.int("BENCHMARK_MAX_CHALLENGERS", default=5)
# Output tokens each benchmark answer may use.
BENCHMARK_MAX_TOKENS: int = env.int("BENCHMARK_MAX_TOKENS", default=1024)
# A challenger is recommended only when the lower bound of the 95% interval of its
# win-or-tie rate against the current model clears the bar for the goal ("quality"
# uses the win rate instead: it must beat the current model, not just match it).
BENCHMARK_BAR_COST: float = env.float("BENCHMARK_BAR_COST", default=0.7)
BENCHMARK_BAR_SPEED: float = env.float("BENCHMARK_BAR_SPEED", default=0.7)
BENCHMARK_BAR_BALANCED: float = env.float("BENCHMARK_BAR_BALANCED", default=0.75)
BENCHMARK_BAR_QUALITY: float = env.float("BENCHMARK_BAR_QUALITY", default=0.5)
# Seconds a running benchmark may go without any step finishing before it is marked
# failed (a worker died), and a queued one without any worker picking it up.
BENCHMARK_STALL_TIMEOUT_S: float = env.float(
    "BENCHMARK_STALL_TIMEOUT_S", default=UPSTREAM_TIMEOUT_S + 60
)
BENCHMARK_START_TIMEOUT_S: float = env.float("BENCHMARK_START_TIMEOUT_S", default=120)
# Seconds between two checks of every unfinished benchmark by each gateway process
# and Celery worker (0: only the runs a client follows or lists are checked).
BENCHMARK_WATCH_S: float = env.float("BENCHMARK_WATCH_S", default=30)
# Seconds between two heartbeat comments on a benchmark's event stream, and between
# two reads of stored events when no wake-up came (a Redis restart loses wake-ups).
SSE_HEARTBEAT_S: float = env.float("SSE_HEARTBEAT_S", default=15.0)
SSE_POLL_S: float = env.float("SSE_POLL_S", default=1.0)

# --- The model catalog and trending models -----------------------------------------

# Seconds a process keeps each configured provider's /models list (a failed one too),
# and the most any catalog fetch (a list, the models.dev document) may take.
PROVIDER_MODELS_TTL_S: float = env.float("PROVIDER_MODELS_TTL_S", default=300.0)
CATALOG_FETCH_TIMEOUT_S: float = env.float("CATALOG_FETCH_TIMEOUT_S", default=10.0)
# Release dates and capabilities from models.dev: `manage.py syncmodels` at any time,
# and with MODELS_DEV_SYNC on, a Celery beat job every MODELS_DEV_SYNC_INTERVAL_S.
MODELS_DEV_SYNC: bool = env.bool("MODELS_DEV_SYNC", default=False)
MODELS_DEV_URL: str = env.str("MODELS_DEV_URL", default="https://models.dev/api.json")
MODELS_DEV_SYNC_INTERVAL_S: float = env.float(
    "MODELS_DEV_SYNC_INTERVAL_S", default=24 * 3600.0
)
CELERY_BEAT_SCHEDULE = (
    {
        "sync-models-dev": {
            "task": "proxy.sync_models",
            "schedule": MODELS_DEV_SYNC_INTERVAL_S,
            "options": {"queue": JOBS_QUEUE},
        }
    }
    if MODELS_DEV_SYNC
    else {}
)
# GET /api/models/trending: models released or first seen in the last
# TRENDING_NEW_DAYS days; models whose proxied calls grew most this week against the
# last, among those with at least TRENDING_MIN_CALLS calls this week; at most
# TRENDING_LIMIT of each.
TRENDING_NEW_DAYS: int = env.int("TRENDING_NEW_DAYS", default=30)
TRENDING_MIN_CALLS: int = env.int("TRENDING_MIN_CALLS", default=20)
TRENDING_LIMIT: int = env.int("TRENDING_LIMIT", default=20)

# --- The admin dashboard -------------------------------------------------------------

# An account's credits are shown as low (on the dashboard and its page) below this
# many USD, or when they last fewer than this many days at the last 7 days' burn.
CREDIT_WARNING_USD: float = env.float("CREDIT_WARNING_USD", default=5.0)
CREDIT_WARNING_DAYS: float = env.float("CREDIT_WARNING_DAYS", default=7.0)

# --- Logging -------------------------------------------------------------------------

LOG_LEVEL: str = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "llmtest.logging.SafeFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django first installs its own logging defaults, which give "django" a
        # console handler of their own (active under DEBUG, with full tracebacks)
        # and "django.server" another. Naming both here replaces those handlers,
        # so each line is written once, by ours; their children (daphne's
        # "django.channels.server", "django.request") reach them by propagation.
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django.server": {
            "handlers": ["console"],
            "level": LOG_LEVEL,
            "propagate": False,
        },
        # Failed requests are logged by our handlers with the error's name; Django's
        # own warning for every 4xx adds nothing.
        "django.request": {"level": "ERROR"},
        # Logs every listener added and removed: one line per SSE client.
        "django_eventstream": {"level": "WARNING"},
    },
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
