"""Canopy settings: one file, driven by environment variables (see README, "Configuration").

Without DATABASE_URL / REDIS_URL it runs embedded: a SQLite file and a Celery broker kept in
files under CANOPY_DATA_DIR, so a fresh machine needs no server.
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from exc


def env_seconds(name: str, default: float) -> float:
    """A wait or timeout in seconds: a finite number, 0 or more (time.sleep refuses the rest,
    and only when the first retry comes)."""
    value = os.environ.get(name, "")
    try:
        seconds = float(value) if value else default
    except ValueError:
        seconds = -1.0
    if not (0 <= seconds < float("inf")):
        raise ImproperlyConfigured(f"{name} must be a number of seconds, 0 or more, not {value!r}")
    return seconds


def env_optional_int(name: str) -> int | None:
    """An integer the environment may leave unset: None then, so code can tell it from a default."""
    return env_int(name, 0) if os.environ.get(name, "") else None


def env_list(name: str, default: str = "") -> list[str]:
    return [v.strip() for v in os.environ.get(name, default).split(",") if v.strip()]


DATA_DIR = Path(os.environ.get("CANOPY_DATA_DIR", BASE_DIR / "var"))
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", default=True)
DEVELOPMENT_SECRET_KEY = "canopy-insecure-development-key"
# Keys published in this repository (the development key, compose's old fallback, the
# examples): anyone could sign sessions and password-reset links with them.
KNOWN_SECRET_KEYS = frozenset(
    {DEVELOPMENT_SECRET_KEY, "insecure-compose-placeholder-change-me", "change-me", "changeme"}
)


def production_secret_key(key: str) -> str:
    """The key, if it may sign a production site's sessions; else ImproperlyConfigured. The
    strength rule is Django's own (security.W009: 50 characters, 5 distinct, no insecure
    prefix), made an error: a weak key in production is a broken deployment, not a warning."""
    if not key:
        problem = "is not set"
    elif key in KNOWN_SECRET_KEYS or key.startswith("django-insecure"):
        problem = "is a placeholder published in the repository"
    elif len(key) < 50 or len(set(key)) < 5:
        problem = "is too weak (fewer than 50 characters or 5 distinct ones)"
    else:
        return key
    raise ImproperlyConfigured(
        f"DJANGO_SECRET_KEY {problem}; with DJANGO_DEBUG off set your own: "
        'python -c "import secrets; print(secrets.token_urlsafe(50))"'
    )


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not DEBUG:
    SECRET_KEY = production_secret_key(SECRET_KEY)
elif not SECRET_KEY:
    SECRET_KEY = DEVELOPMENT_SECRET_KEY
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")


def env_proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """`X-Forwarded-Proto` (or `X-Forwarded-Proto=https`, the default value) as Django's
    SECURE_PROXY_SSL_HEADER: ("HTTP_X_FORWARDED_PROTO", "https")."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    header, _, expected = value.partition("=")
    header = header.strip()
    if not re.fullmatch(r"[A-Za-z0-9-]+", header):
        raise ImproperlyConfigured(f"{name} must be a header name like X-Forwarded-Proto")
    return "HTTP_" + header.upper().replace("-", "_"), expected.strip() or "https"


# --- HTTPS --------------------------------------------------------------------------------
# Behind TLS (directly or through a proxy): redirect http to https, Secure cookies, HSTS.
# Only trust the proxy's header when the proxy always sets it (and strips a client's own).
SECURE_PROXY_SSL_HEADER = env_proxy_ssl_header("DJANGO_SECURE_PROXY_SSL_HEADER")
HTTPS = env_bool("DJANGO_HTTPS", default=False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", default=False)
if HTTPS and not SECURE_HSTS_PRELOAD:
    # Preloading puts the domain in the browsers' built-in lists, which takes months to undo:
    # the operator's choice (DJANGO_HSTS_PRELOAD=1), not a default that check --deploy nags for.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
# The number of proxies in front that append the client's address to X-Forwarded-For: login
# throttling (django-axes) counts that address, not the proxy's (config/clientip.py).
PROXY_COUNT = env_int("DJANGO_PROXY_COUNT", 0)

# --- Content-Security-Policy (django-csp) -------------------------------------------------
# No inline script or style anywhere (htmx's indicator style is off: base.html's htmx-config,
# the rule is in app.css), so 'self' suffices. Images also load over https: because model
# cards embed them from anywhere (badges, diagrams), as on the Hub, and data: for the icons
# of the API docs (Swagger UI's CSS); an image cannot run script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "https:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "csp",
    # Installed, ninja serves the API docs' Swagger UI from its own static files with no inline
    # script (else from a CDN, with one: blocked by the policy, and unreachable offline).
    "ninja",
    "django_htmx",
    "template_partials",
    "catalog",
    "licenses",
    "usage",
    "approvals",
    "portal",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.errors.RejectBadInput",
    "config.head.HeadAsGet",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "approvals.middleware.LoginRequiredMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as axes asks: turns a lockout into its page
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
            ],
        },
    },
]

# Web, worker and beat write to one file: WAL lets readers run beside a writer, IMMEDIATE takes
# the write lock up front instead of failing half-way ("database is locked" on a page).
SQLITE_OPTIONS = {
    "timeout": 30,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        # psycopg prepares a statement after its 5th run on a connection, but only through a
        # server-binding cursor: Django's default client-binding one never prepares, so this
        # only reaches the pipeline check (approvals/check.py), whose planning costs several
        # times its run. Poolers in transaction mode need PgBouncer >= 1.21 (or None here).
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)
    elif DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        # A SQLite file named by URL gets the same options as the embedded default.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "canopy.sqlite3"),
            "OPTIONS": dict(SQLITE_OPTIONS),
            # A file (not memory) so a test can share it with a real worker process.
            "TEST": {"NAME": DATA_DIR / f"test-canopy-{os.getpid()}.sqlite3"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

# --- Login throttling (django-axes) -------------------------------------------------------
# Failed logins are counted per username and client address together, so an attacker guessing
# one account locks out only themselves, and a colleague elsewhere still logs in. Axes'
# backend goes first: it refuses a locked-out pair before any password is checked (the site's
# login page and the admin's alike). Failures and lockouts go to the audit log
# (approvals/receivers.py); a locked-out login gets the login page saying until when.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("CANOPY_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("CANOPY_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "approvals.views.locked_out"
AXES_CLIENT_IP_CALLABLE = "config.clientip.client_ip"
AXES_USERNAME_CALLABLE = "config.clientip.username"
AXES_VERBOSE = False

FORMS_URLFIELD_ASSUME_HTTPS = True  # Django 6's default, today

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
# WhiteNoise also serves from the apps' and static/ folders, not only a collectstatic'd
# STATIC_ROOT: with DJANGO_DEBUG=0 and no collectstatic (make run, a quick check) the API docs'
# Swagger UI and app.css would 404 and the docs be blank. The image collects them anyway.
WHITENOISE_USE_FINDERS = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CANOPY_LOG_LEVEL", "INFO")},
    "loggers": {"httpx2": {"level": "WARNING"}, "huggingface_hub": {"level": "WARNING"}},
}

# --- Celery -------------------------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # A task taken by a worker that died unacknowledged goes back to the queue after this long
    # (longer than any task runs; the chaos benchmark, which kills workers, shortens it).
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {
        "visibility_timeout": env_int("CANOPY_BROKER_VISIBILITY_SECONDS", 3600)
    }
else:
    # kombu's filesystem transport: a broker that is just a folder, shared by web and worker.
    _broker_dir = DATA_DIR / "broker"
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CANOPY_QUEUE", "celery")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 600
CELERY_TASK_TIME_LIMIT = 900
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "incremental-crawl": {
        "task": "catalog.tasks.start_crawl",
        "schedule": env_int("CANOPY_INCREMENTAL_EVERY_MINUTES", 30) * 60,
        "kwargs": {"kind": "incremental"},
    },
    "weekly-full-crawl": {
        "task": "catalog.tasks.start_crawl",
        "schedule": crontab(
            minute=0, hour=3, day_of_week=os.environ.get("CANOPY_FULL_CRAWL_DAY", "sun")
        ),
        "kwargs": {"kind": "full"},
    },
    "nightly-assess-licenses": {
        "task": "licenses.tasks.assess_all",
        "schedule": crontab(minute=30, hour=4),
    },
    # After the nightly assessment: every profile over the catalog (writes only what moved).
    "nightly-evaluate-profiles": {
        "task": "usage.tasks.evaluate_all",
        "schedule": crontab(minute=30, hour=5),
    },
    "resume-stalled-crawls": {
        "task": "catalog.tasks.resume_stalled_crawls",
        "schedule": 60,
    },
}

# --- Hub and crawler ----------------------------------------------------------------------
HF_ENDPOINT = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
HF_TOKEN = os.environ.get("HF_TOKEN") or None
# Requests per bucket, shared by every worker (Redis in production, the database when embedded),
# follow 90% of the quota the Hub announces in RateLimit-Policy (catalog.budget); 450 API /
# 2,700 file calls per 5 minutes until it has. Set, a budget is a ceiling per window of
# CANOPY_HUB_WINDOW_SECONDS on whatever the Hub announces.
CANOPY_HUB_API_BUDGET = env_optional_int("CANOPY_HUB_API_BUDGET")
CANOPY_HUB_RESOLVERS_BUDGET = env_optional_int("CANOPY_HUB_RESOLVERS_BUDGET")
CANOPY_HUB_WINDOW_SECONDS = env_int("CANOPY_HUB_WINDOW_SECONDS", 300)
CANOPY_HUB_PAGE_SIZE = env_int("CANOPY_HUB_PAGE_SIZE", 1000)
# Read timeout of one Hub request (connect: at most 10 s); a request past it is retried.
CANOPY_HUB_TIMEOUT_SECONDS = float(os.environ.get("CANOPY_HUB_TIMEOUT_SECONDS") or 60)
# A full crawl of the live Hub lists this many models, most downloaded first (0: all).
CANOPY_CRAWL_LIMIT = env_int("CANOPY_CRAWL_LIMIT", 5000)
# Detail fetches (model_info + files) per run; the rest wait for the next run.
CANOPY_DETAILS_PER_RUN = env_int("CANOPY_DETAILS_PER_RUN", 5000)
# Detail fetches in flight at once: their waits (answers, backoff, timeouts) overlap, while the
# request budget, shared by all, bounds what is asked. 1 fetches one after another.
CANOPY_DETAIL_THREADS = env_int("CANOPY_DETAIL_THREADS", 4)
# Training data (catalog.datasets): a run reads the dataset records its models declare, asking
# again for one not checked for this many days; a full run lists every dataset first.
CANOPY_CRAWL_DATASETS = env_bool("CANOPY_CRAWL_DATASETS", default=True)
CANOPY_DATASET_MAX_AGE_DAYS = env_int("CANOPY_DATASET_MAX_AGE_DAYS", 7)
# Pages (or detail batches) one task handles before it checkpoints and re-queues itself.
CANOPY_PAGES_PER_TASK = env_int("CANOPY_PAGES_PER_TASK", 20)
# Re-assess the licenses of the models a crawl writes, as it goes (off: only the nightly pass).
CANOPY_ASSESS_ON_CRAWL = env_bool("CANOPY_ASSESS_ON_CRAWL", default=True)
# Fill the search facet columns (relation, family, format, memory) when a listing ends
# (off: only `manage.py refresh_catalog`).
CANOPY_DERIVE_ON_CRAWL = env_bool("CANOPY_DERIVE_ON_CRAWL", default=True)
# A running crawl whose heartbeat is older than this is resumed by the next sweep.
CANOPY_STALL_SECONDS = env_int("CANOPY_STALL_SECONDS", 300)
# A run resumed this many times with its worker dying each time at the same checkpoint (a step
# that kills its worker: out of memory, a segfault) is failed rather than resumed forever.
CANOPY_CRAWL_RESUMPTIONS = env_int("CANOPY_CRAWL_RESUMPTIONS", 5)
# A step stopped by a transient error (429, 5xx, network, lost database connection) is retried
# this many times in a row, after 1x, 2x, 4x... this many seconds (jittered, capped at half the
# stall timeout so that a run waiting for its retry is not taken for abandoned);
# then, or at once for any other error, the run fails with its reason.
CANOPY_CRAWL_RETRIES = env_int("CANOPY_CRAWL_RETRIES", 12)
CANOPY_CRAWL_BACKOFF_SECONDS = env_seconds("CANOPY_CRAWL_BACKOFF_SECONDS", 5)
# Tries huggingface_hub's own backoff makes inside one Hub request before the step gives up.
CANOPY_HUB_RETRIES = env_int("CANOPY_HUB_RETRIES", 5)
# The first wait of those retries, and of catalog.hub's own (a garbled answer, a failed file
# download), doubling each time; 1 s is huggingface_hub's default. A spent rate-limit window is
# waited out whatever this says.
CANOPY_HUB_BACKOFF_SECONDS = env_seconds("CANOPY_HUB_BACKOFF_SECONDS", 1)

# huggingface_hub reads these at import time: no telemetry call, no progress bars, a cache of
# our own (license files are read from it once and stored in the database).
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_HOME", str(DATA_DIR / "hf-home"))

# --- Approvals ----------------------------------------------------------------------------
# Reading the catalog needs a login when on (writes always need the right role).
CANOPY_LOGIN_REQUIRED = env_bool("CANOPY_LOGIN_REQUIRED", default=False)
LOGIN_URL = "approvals:login"
LOGIN_REDIRECT_URL = "approvals:request_list"
LOGOUT_REDIRECT_URL = "portal:model_list"
# Absolute site URL used in notification emails and webhooks.
CANOPY_SITE_URL = os.environ.get("CANOPY_SITE_URL", "http://127.0.0.1:8000")
# Days an approval or waiver lasts when the approver gives no expiry date.
APPROVALS_DEFAULT_DAYS = env_int("APPROVALS_DEFAULT_DAYS", 365)
# Optional webhook for re-review events, signed with HMAC-SHA256 (X-Canopy-Signature).
APPROVALS_WEBHOOK_URL = os.environ.get("APPROVALS_WEBHOOK_URL", "")
APPROVALS_WEBHOOK_SECRET = os.environ.get("APPROVALS_WEBHOOK_SECRET", "")
EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "canopy@localhost")
