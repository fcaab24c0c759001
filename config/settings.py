"""Canopy settings: one file, driven by environment variables (see README, "Configuration").

Without DATABASE_URL / REDIS_URL it runs embedded: a SQLite file and a Celery broker kept in
files under CANOPY_DATA_DIR, so a fresh machine needs no server.
"""

import os
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


def env_list(name: str, default: str = "") -> list[str]:
    return [v.strip() for v in os.environ.get(name, default).split(",") if v.strip()]


DATA_DIR = Path(os.environ.get("CANOPY_DATA_DIR", BASE_DIR / "var"))
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", default=True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off")
    SECRET_KEY = "canopy-insecure-development-key"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "catalog",
    "licenses",
    "approvals",
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
    "approvals.middleware.LoginRequiredMiddleware",
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

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        # psycopg prepares a statement after its 5th run on a connection, but only through a
        # server-binding cursor: Django's default client-binding one never prepares, so this
        # only reaches the pipeline check (approvals/check.py), whose planning costs several
        # times its run. Poolers in transaction mode need PgBouncer >= 1.21 (or None here).
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)

else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "canopy.sqlite3"),
            # Web, worker and beat write to one file: WAL lets readers run beside a writer,
            # IMMEDIATE takes the write lock up front instead of failing half-way.
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
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

FORMS_URLFIELD_ASSUME_HTTPS = True  # Django 6's default, today

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]

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
    "resume-stalled-crawls": {
        "task": "catalog.tasks.resume_stalled_crawls",
        "schedule": 60,
    },
}

# --- Hub and crawler ----------------------------------------------------------------------
HF_ENDPOINT = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
HF_TOKEN = os.environ.get("HF_TOKEN") or None
# Requests per window per bucket, kept below the Hub's anonymous 500 API / 3,000 resolver calls
# per 5 minutes; shared by every worker (Redis in production, the database when embedded).
CANOPY_HUB_API_BUDGET = env_int("CANOPY_HUB_API_BUDGET", 450)
CANOPY_HUB_RESOLVERS_BUDGET = env_int("CANOPY_HUB_RESOLVERS_BUDGET", 2700)
CANOPY_HUB_WINDOW_SECONDS = env_int("CANOPY_HUB_WINDOW_SECONDS", 300)
CANOPY_HUB_PAGE_SIZE = env_int("CANOPY_HUB_PAGE_SIZE", 1000)
# Read timeout of one Hub request (connect: at most 10 s); a request past it is retried.
CANOPY_HUB_TIMEOUT_SECONDS = float(os.environ.get("CANOPY_HUB_TIMEOUT_SECONDS") or 60)
# A full crawl of the live Hub lists this many models, most downloaded first (0: all).
CANOPY_CRAWL_LIMIT = env_int("CANOPY_CRAWL_LIMIT", 5000)
# Detail fetches (model_info + files) per run; the rest wait for the next run.
CANOPY_DETAILS_PER_RUN = env_int("CANOPY_DETAILS_PER_RUN", 5000)
# Pages (or detail batches) one task handles before it checkpoints and re-queues itself.
CANOPY_PAGES_PER_TASK = env_int("CANOPY_PAGES_PER_TASK", 20)
# Re-assess the licenses of the models a crawl writes, as it goes (off: only the nightly pass).
CANOPY_ASSESS_ON_CRAWL = env_bool("CANOPY_ASSESS_ON_CRAWL", default=True)
# Fill the search facet columns (relation, family, format, memory) when a listing ends
# (off: only `manage.py refresh_catalog`).
CANOPY_DERIVE_ON_CRAWL = env_bool("CANOPY_DERIVE_ON_CRAWL", default=True)
# A running crawl whose heartbeat is older than this is resumed by the next sweep.
CANOPY_STALL_SECONDS = env_int("CANOPY_STALL_SECONDS", 300)

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
LOGOUT_REDIRECT_URL = "catalog:model_list"
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
