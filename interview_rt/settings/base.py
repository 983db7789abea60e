"""Settings shared by every environment; everything deployment-specific comes from env vars."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# Known-insecure placeholder: production.py refuses to start with it.
INSECURE_DEFAULT_SECRET = "insecure-dev-secret-change-me"


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    return default if raw is None else raw.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


SECRET_KEY = os.environ.get("SECRET_KEY", INSECURE_DEFAULT_SECRET)
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "interview_rt.interviews",
    "interview_rt.review",
    "interview_rt.delivery",
    "interview_rt.privacy",
]

MIDDLEWARE = [
    # Outermost: every error under /api/ leaves as JSON with a code, whatever produced it.
    "interview_rt.interviews.api.http.api_json_errors",
    "django.middleware.security.SecurityMiddleware",
    "interview_rt.interviews.api.http.rate_limits",
    # Static files (the Django admin's styles, the pages' scripts) served by the app itself, so
    # daphne alone serves a styled admin: from the apps' folders on the embedded default, from
    # `collectstatic`'s compressed, hashed copies in production.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

# Content-Security-Policy (django-csp) on every page but the Django admin's (its templates are
# Django's, with inline styles this policy would refuse): the candidate page and the dashboard
# load only their own scripts and styles and open sockets to their own host ('self' covers ws:
# and wss: there); the staff report and analytics pages' inline <style> carries the request's
# nonce. tests/e2e/test_browser.py and test_admin_browser.py fail on any violation in Chromium.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/admin/"],
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

ROOT_URLCONF = "interview_rt.urls"
ASGI_APPLICATION = "interview_rt.asgi.application"

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
                "csp.context_processors.nonce",
            ],
        },
    },
]


SQLITE_OPTIONS = {
    # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of deadlocking on a
    # lock upgrade; WAL lets readers run beside the writer; NORMAL syncs at checkpoints only.
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}


def database_config(url: str | None) -> dict[str, Any]:
    """DATABASE_URL when set, else a SQLite file; SQLite is tuned for concurrent async access
    either way, and its connection (a file handle) is kept open instead of reopened per call."""
    config: dict[str, Any]
    if url:
        config = dict(dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True))
    else:
        config = {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}
    if config["ENGINE"].endswith("sqlite3"):
        config["OPTIONS"] = {**SQLITE_OPTIONS, **(config.get("OPTIONS") or {})}
        config["CONN_MAX_AGE"] = None
        config["CONN_HEALTH_CHECKS"] = False
    return config


DATABASES = {"default": database_config(os.environ.get("DATABASE_URL"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
# Which channels-redis layer: "core" (RedisChannelLayer: lists, one BZPOPMIN per message) or
# "pubsub" (RedisPubSubChannelLayer, beta: Redis pub/sub). Measured side by side in
# docs/performance.md; the default is the one that measured better.
REDIS_LAYER = os.environ.get("REDIS_LAYER", "core").strip().lower()
if REDIS_LAYER not in {"core", "pubsub"}:
    raise ImproperlyConfigured(f"REDIS_LAYER must be core or pubsub, not {REDIS_LAYER!r}")
if REDIS_URL and REDIS_LAYER == "pubsub":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": os.environ.get("CHANNELS_REDIS_PREFIX", "asgi")},
        }
    }
elif REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "capacity": 1500,
                "expiry": 60,
                "prefix": os.environ.get("CHANNELS_REDIS_PREFIX", "asgi"),
            },
        }
    }
else:
    # channels' in-memory layer with its O(open sockets) sweep amortised (interview_rt/runtime/layers.py).
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "interview_rt.runtime.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles"
# Serve straight from the apps' static folders (no collectstatic needed); production.py turns
# this off and serves collectstatic's output.
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", True)
# Without collectstatic, STATIC_ROOT does not exist; that is expected when serving from finders.
warnings.filterwarnings("ignore", message=r"No directory at: .*", category=UserWarning)
LOGIN_URL = "/staff/login/"
LOGIN_REDIRECT_URL = "/staff/"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "interview_rt.interviews.api.openapi.AutoSchema",
    # Token first: its WWW-Authenticate header makes a missing login a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Basic auth with its password checks rate-limited per address. First, so a request
        # without credentials is a 401 with WWW-Authenticate (DRF answers 403 when the first
        # class names no challenge), as the table of codes says.
        "interview_rt.interviews.api.http.ThrottledBasicAuthentication",
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Staff views use StaffRole (roles and jobs); anything else is closed by default.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "EXCEPTION_HANDLER": "interview_rt.interviews.api.errors.exception_handler",
    # No NaN/Infinity, and deep nesting is invalid_json rather than a RecursionError (a 500).
    "DEFAULT_PARSER_CLASSES": ["interview_rt.interviews.api.http.StrictJSONParser"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "interview-rt API",
    "VERSION": "1.0.0",
    # 3.1: its schemas are JSON Schema, which the pydantic-declared candidate bodies are.
    "OAS_VERSION": "3.1.0",
    # The schema lists every staff endpoint: staff only, unless API_SCHEMA_PUBLIC=1.
    "SERVE_PERMISSIONS": (
        ["rest_framework.permissions.AllowAny"]
        if env_bool("API_SCHEMA_PUBLIC", False)
        else ["rest_framework.permissions.IsAdminUser"]
    ),
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "interview_rt.interviews.api.openapi.add_public_endpoints",
    ],
}

# --- Interview links -------------------------------------------------------------------------
INTERVIEW_LINK_SECRET = os.environ.get("INTERVIEW_LINK_SECRET", SECRET_KEY)
FRONTEND_URL = os.environ.get("FRONTEND_URL", "http://127.0.0.1:8000/interview/")
# The deployment's consent and AI notice (a UTF-8 text file); unset: the built-in one. A job's own
# notice comes first (interviews/notices.py).
CONSENT_NOTICE_FILE = os.environ.get("CONSENT_NOTICE_FILE", "")
INTERVIEW_LINK_DEFAULT_DAYS = int(os.environ.get("INTERVIEW_LINK_DEFAULT_DAYS", "7"))
# Seconds past a question's time limit before an answer counts as late (network, typing lag).
INTERVIEW_LATE_GRACE_SECONDS = int(os.environ.get("INTERVIEW_LATE_GRACE_SECONDS", "5"))
# New invitations require the consent and AI notice before the first question.
INTERVIEW_REQUIRE_CONSENT = env_bool("INTERVIEW_REQUIRE_CONSENT", True)
# Follow-up questions the interview asks per planned question when a provider proposes one.
INTERVIEW_MAX_FOLLOW_UPS = int(os.environ.get("AI_MODEL_MAX_FOLLOW_UPS", "1") or 1)

# --- Reviews, calibration, analytics ----------------------------------------------------------
# Reviewed answers of a question handed to the grader as graded examples (it picks the nearest).
GRADED_EXAMPLES_LIMIT = int(os.environ.get("GRADED_EXAMPLES_LIMIT", "50"))
# Reviewed answers needed before a team calibration is fitted.
CALIBRATION_MIN_PAIRS = int(os.environ.get("CALIBRATION_MIN_PAIRS", "20"))
# The leniency fit (dotted path): (raw AI scores, human scores) -> mapping table or monotone function.
# The grader's own leniency fit (ai_service.grading), so the embedded grader applies it itself.
CALIBRATION_FIT = os.environ.get("CALIBRATION_FIT", "interview_rt.review.reviews.grading_leniency_fit")
# Where grading reads the team's standard (graded examples, the active calibration): a class, by
# dotted path, implementing interviews.standard.GradingStandard (the lifecycle imports no app above it).
GRADING_STANDARD = "interview_rt.review.selectors.ReviewStandard"
# Bootstrap resamples behind each confidence interval on the analytics page.
ANALYTICS_BOOTSTRAP_RESAMPLES = int(os.environ.get("ANALYTICS_BOOTSTRAP_RESAMPLES", "1000"))

# --- Privacy -----------------------------------------------------------------------------------
# Days after a candidate's last activity before `manage.py purge` erases them (0: never).
INTERVIEW_RETENTION_DAYS = int(os.environ.get("INTERVIEW_RETENTION_DAYS", "180"))
# The self-reported groups a candidate may choose from (comma-separated); empty: free text.
INTERVIEW_DEMOGRAPHIC_GROUPS = env_list("INTERVIEW_DEMOGRAPHIC_GROUPS", "")

# --- Webhooks ----------------------------------------------------------------------------------
WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("WEBHOOK_MAX_ATTEMPTS", "10"))
# Wait after the n-th failure: base * 2**(n-1) seconds, at most the max (30 s ... 6 h).
WEBHOOK_RETRY_BASE_SECONDS = float(os.environ.get("WEBHOOK_RETRY_BASE_SECONDS", "30"))
WEBHOOK_RETRY_MAX_SECONDS = float(os.environ.get("WEBHOOK_RETRY_MAX_SECONDS", str(6 * 3600)))
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10"))
# A sender's claim on a delivery; a crashed sender's claim lapses after this.
WEBHOOK_LEASE_SECONDS = int(os.environ.get("WEBHOOK_LEASE_SECONDS", "60"))
# The runtime's AI worker also sends due webhooks, checking this often.
WEBHOOK_POLL_SECONDS = float(os.environ.get("WEBHOOK_POLL_SECONDS", "2"))
WEBHOOKS_INPROCESS = env_bool("WEBHOOKS_INPROCESS", True)
# Periodic tasks the runtime starts beside the AI worker: name -> dotted path of a function of the
# runtime returning a coroutine (or None: off); the runtime imports none of the apps that add one.
RUNTIME_TASKS = {"webhooks": "interview_rt.delivery.sender.webhook_sender"}
# The background AI worker the runtime runs (in the web process, or `manage.py ai_worker`): a
# class built as Worker(runtime, concurrency=...) (runtime.core.Worker); the lifecycle's.
RUNTIME_WORKER = "interview_rt.interviews.worker.AIWorker"

# --- AI providers ------------------------------------------------------------------------------
AI_PROVIDER = os.environ.get("AI_PROVIDER", "embedded")
AI_MODEL_NAME = os.environ.get("AI_MODEL_NAME", "")
AI_MODEL_VERSION = os.environ.get("AI_MODEL_VERSION", "")
AI_MODEL_API_ENDPOINT = os.environ.get("AI_MODEL_API_ENDPOINT", "")
AI_MODEL_API_KEY = os.environ.get("AI_MODEL_API_KEY", "")

PROVIDER_BACKENDS = {
    "embedded": "ai_service.providers.embedded.EmbeddedProvider",
    "http": "ai_service.providers.http_model.HTTPModelProvider",
    "openai": "ai_service.providers.openai_compat.OpenAICompatProvider",
}


# Optional transport tuning of the external model, passed to the provider's OPTIONS when set.
AI_MODEL_TUNING_ENV = {
    "AI_MODEL_MAX_CONCURRENCY": ("max_concurrency", int),
    "AI_MODEL_CONNECT_TIMEOUT": ("connect_timeout", float),
    "AI_MODEL_READ_TIMEOUT": ("read_timeout", float),
    "AI_MODEL_TOTAL_TIMEOUT": ("total_timeout", float),
    "AI_MODEL_MAX_RETRIES": ("max_retries", int),
    "AI_MODEL_MAX_FOLLOW_UPS": ("max_follow_ups", int),
}


def ai_model_tuning() -> dict[str, Any]:
    tuning: dict[str, Any] = {}
    for env_name, (option, cast) in AI_MODEL_TUNING_ENV.items():
        raw = os.environ.get(env_name)
        if raw:
            try:
                tuning[option] = cast(raw)
            except ValueError:
                tuning[option] = raw  # left as text so `manage.py check` names the bad value
    return tuning


def build_ai_providers(kind: str) -> dict[str, dict[str, Any]]:
    """AI_PROVIDERS from the seed's env vars: `default` is the chosen kind, embedded its fallback."""
    # AI_EMBEDDED_GRADER=lexical: grade without the sentence-embedding model (small hosts, tests).
    grader = os.environ.get("AI_EMBEDDED_GRADER", "")
    embedded = {"BACKEND": PROVIDER_BACKENDS["embedded"], "OPTIONS": {"grader": grader} if grader else {}}
    if kind == "embedded":
        return {"default": embedded, "embedded": embedded}
    return {
        "default": {
            "BACKEND": PROVIDER_BACKENDS.get(kind, kind),
            "OPTIONS": {
                "endpoint": AI_MODEL_API_ENDPOINT,
                "api_key": AI_MODEL_API_KEY,
                "model_name": AI_MODEL_NAME,
                "model_version": AI_MODEL_VERSION,
                **ai_model_tuning(),
            },
            "FALLBACK": "embedded",
        },
        "embedded": embedded,
    }


AI_PROVIDERS = build_ai_providers(AI_PROVIDER)

# The background service runs inside the web process unless a separate worker is deployed
# (`python manage.py ai_worker` over a shared channel layer).
AI_WORKER_INPROCESS = env_bool("AI_WORKER_INPROCESS", not REDIS_URL)
AI_WORKER_CHANNEL = "ai-worker"
# Load the grading model when the process starts (off in tests: each test loads it on use).
AI_WARM_UP = env_bool("AI_WARM_UP", True)
# Run the AI provider (grading, question ranking) in a child process, so it uses another core:
# "auto" (None: on where the worker runs inside a web process and the machine has more than one
# core; off in `manage.py ai_worker`, which is a process of its own: measured, the child only
# added IPC there), "1" or "0".
_ai_process = os.environ.get("AI_PROCESS", "auto").strip().lower()
AI_PROCESS: bool | None = None if _ai_process == "auto" else env_bool("AI_PROCESS", False)
# The child's niceness (added to the server's): sockets preempt grading, so an ack or a staff
# frame never waits for a model batch on a machine whose cores grading fills (0: same priority).
AI_PROCESS_NICE = int(os.environ.get("AI_PROCESS_NICE", "10"))
# Graceful shutdown (SIGTERM): jobs in hand get SHUTDOWN_GRACE_SECONDS to finish before their
# leases are given back; the whole stop is bounded by SHUTDOWN_TIMEOUT_SECONDS (keep it under the
# orchestrator's kill timeout, typically 30 s).
SHUTDOWN_GRACE_SECONDS = float(os.environ.get("SHUTDOWN_GRACE_SECONDS", "10"))
SHUTDOWN_TIMEOUT_SECONDS = float(os.environ.get("SHUTDOWN_TIMEOUT_SECONDS", "25"))
# Seconds an evaluation may stay claimed by a live worker before another takes it over (a job
# stuck in a live process). A dead process's leases go sooner: each worker writes a heartbeat every
# AI_WORKER_HEARTBEAT_SECONDS, and one silent for AI_WORKER_DEAD_AFTER_SECONDS is dead, its leases
# free. With the sweep every AI_WORKER_SWEEP_SECONDS a crashed worker's jobs restart within ~4 s.
AI_JOB_LEASE_SECONDS = int(os.environ.get("AI_JOB_LEASE_SECONDS", "60"))
AI_WORKER_HEARTBEAT_SECONDS = float(os.environ.get("AI_WORKER_HEARTBEAT_SECONDS", "1"))
AI_WORKER_DEAD_AFTER_SECONDS = float(os.environ.get("AI_WORKER_DEAD_AFTER_SECONDS", "3"))
AI_WORKER_SWEEP_SECONDS = float(os.environ.get("AI_WORKER_SWEEP_SECONDS", "1"))
# Longest pause between retries while the channel layer or the database is down.
AI_WORKER_MAX_BACKOFF_SECONDS = float(os.environ.get("AI_WORKER_MAX_BACKOFF_SECONDS", "5"))
# Jobs the worker runs at once (each mostly waits on a provider; providers have their own limit).
AI_WORKER_CONCURRENCY = int(os.environ.get("AI_WORKER_CONCURRENCY", "256"))
# Threads for the worker's database calls, apart from the one that serves candidate sockets, so
# an acknowledgement never queues behind a batch of evaluation writes. SQLite has one writer
# anyway, so one thread there.
CANDIDATE_DB_THREADS = int(os.environ.get("CANDIDATE_DB_THREADS", "4"))  # ignored on SQLite
# Sessions one staff socket may watch at once (a tool watching a hiring drive may want many).
STAFF_MAX_WATCHED = int(os.environ.get("STAFF_MAX_WATCHED", "200"))
# Staff sockets' database calls (PostgreSQL; on SQLite they run last on the one thread).
STAFF_DB_THREADS = int(os.environ.get("STAFF_DB_THREADS", "2"))
AI_WORKER_DB_THREADS = int(
    os.environ.get("AI_WORKER_DB_THREADS", "1" if DATABASES["default"]["ENGINE"].endswith("sqlite3") else "4")
)

# --- Rate limits (interview_rt/runtime/ratelimit.py; docs/protocol.md#rate-limits) --------------
# "burst/per_second" token buckets; shared through Redis when REDIS_URL is set.
RATE_LIMITS_ENABLED = env_bool("RATE_LIMITS_ENABLED", True)
RATE_LIMIT_PREFIX = os.environ.get("RATE_LIMIT_PREFIX", "interview_rt:rl")
RATE_LIMITS = {
    name: os.environ.get(f"RATE_LIMIT_{name.upper()}", default)
    for name, default in {
        # A candidate answers every few minutes and pings every few seconds at most.
        "socket_frame": "30/5",
        # Reconnects back off from 1 s; a reloaded tab is a handful.
        "socket_connect_token": "10/0.5",
        "socket_connect_ip": "60/2",
        # The candidate REST endpoints, per client address.
        "public_ip": "60/2",
        # Staff password checks (each a deliberately slow hash), per client address.
        "login_ip": "10/0.2",
    }.items()
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # No interview token or session key in any log line (django.request logs 4xx paths, daphne
    # logs socket paths at debug): interview_rt/redact.py.
    # And one line per channel-layer outage instead of a traceback per socket: interview_rt/outages.py.
    "filters": {
        "redact": {"()": "interview_rt.redact.RedactSecrets"},
        "outage": {"()": "interview_rt.outages.ChannelLayerOutage"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["outage", "redact"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Django's DEFAULT_LOGGING puts handlers of its own on "django" (a console one when DEBUG,
    # mail_admins) and "django.server"; they would write django.request's "Method Not Allowed:
    # /api/interviews/access/<token>/" unredacted. Replaced here, so every record reaches the one
    # redacting handler (tests/test_settings.py checks that no handler lacks the filter).
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
        "django.channels.server": {"level": "WARNING"},
    },
}
