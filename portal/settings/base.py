"""Settings safe for production: no secret, DEBUG off. Everything site-specific comes from
the environment; dev and test loosen these explicitly."""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = os.environ


def env_list(name, default=""):
    return [item.strip() for item in env.get(name, default).split(",") if item.strip()]


def env_bool(name, default=False):
    return env.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


DEBUG = False
SECRET_KEY = env.get("SECRET_KEY", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "portal.framework",
    "portal.audits",
    "portal.training",
    "portal.local_offer",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.routable_page",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "guardian",
    "import_export",
    "modelcluster",
    "taggit",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
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
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "wagtail.contrib.settings.context_processors.settings",
                "portal.framework.context_processors.site_navigation",
            ],
        },
    },
]

# PostgreSQL when DATABASE_URL is set; the embedded SQLite file otherwise.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(env.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Reports' aggregates are short queries PostgreSQL would JIT-compile on every run, which
    # costs more than it saves (docs/benchmarks.md).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Model permissions first, then django-guardian's per-object ones (an auditor and *their*
# assignments and audits).
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "my_audits"
LOGOUT_REDIRECT_URL = "/"
WAGTAIL_FRONTEND_LOGIN_URL = "/accounts/login/"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "static"
# GOV.UK Frontend comes from its npm package (installed at set-up, never committed) and
# the site's compiled stylesheet from static_src/ (built at set-up into build/).
STATICFILES_DIRS = [
    ("govuk", BASE_DIR / "node_modules" / "govuk-frontend" / "dist" / "govuk"),
    ("portal", BASE_DIR / "build"),
]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.get("MEDIA_ROOT", BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Cache and Celery: Redis when REDIS_URL is set, in-process otherwise.
REDIS_URL = env.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "publish-scheduled-pages": {
        "task": "portal.framework.tasks.publish_scheduled_pages",
        "schedule": 300.0,
    },
    "accreditation-reminders": {
        "task": "portal.training.tasks.accreditation_reminders",
        "schedule": crontab(hour=7, minute=0),
    },
    "accreditation-lapses": {
        "task": "portal.training.tasks.accreditation_lapses",
        "schedule": crontab(hour=7, minute=5),
    },
    "action-digests": {
        "task": "portal.audits.tasks.action_digests",
        "schedule": crontab(hour=7, minute=10),
    },
    # Daily, but it drafts only when the last governance report's period ended
    # PORTAL_GOVERNANCE_PERIOD_MONTHS or more ago: a missed day (or a late first report)
    # catches up the next morning, which a fixed crontab for the 1st would not.
    "governance-report-draft": {
        "task": "portal.local_offer.tasks.governance_report_draft",
        "schedule": crontab(hour=6, minute=30),
    },
}

# Email: every message is handed to Celery (portal.mail), which delivers it with
# EMAIL_DELIVERY_BACKEND, retrying while the mail server is unreachable.
EMAIL_BACKEND = "portal.mail.CeleryEmailBackend"
EMAIL_DELIVERY_BACKEND = env.get(
    "EMAIL_DELIVERY_BACKEND", "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = env.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_FILE_PATH = env.get("EMAIL_FILE_PATH", str(BASE_DIR / "sent-mail"))
DEFAULT_FROM_EMAIL = env.get("DEFAULT_FROM_EMAIL", "ehcp-quality@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Wagtail
WAGTAIL_SITE_NAME = env.get("PORTAL_AREA_NAME", "EHCP Quality Assurance")
WAGTAILADMIN_BASE_URL = env.get("PORTAL_BASE_URL", "http://127.0.0.1:8000")
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_EXTENSIONS = ["csv", "docx", "key", "odt", "pdf", "pptx", "rtf", "txt", "xlsx", "zip"]
WAGTAIL_WORKFLOW_REQUIRE_REAPPROVAL_ON_EDIT = True
WAGTAIL_FINISH_WORKFLOW_ACTION = "portal.framework.workflows.publish_approved_revision"
WAGTAILADMIN_NOTIFICATION_INCLUDE_SUPERUSERS = False

# Plan register imports: larger files are checked and imported by a Celery task with
# progress shown; files above the maximum are refused.
PORTAL_PLAN_IMPORT_ASYNC_BYTES = int(env.get("PORTAL_PLAN_IMPORT_ASYNC_BYTES", 512 * 1024))
PORTAL_PLAN_IMPORT_MAX_BYTES = int(env.get("PORTAL_PLAN_IMPORT_MAX_BYTES", 20 * 1024 * 1024))

# Demo users (and the command that makes them) exist only where a settings module says so.
PORTAL_DEMO_CONTENT_ALLOWED = False
# Disclosure control for published aggregates (DESIGN.md): counts from 1 to this are shown
# as "c", and a breakdown group with fewer audits than the minimum is not published.
PORTAL_DISCLOSURE_PRIMARY_MAX = int(env.get("PORTAL_DISCLOSURE_PRIMARY_MAX", 5))
PORTAL_DISCLOSURE_MIN_GROUP = int(env.get("PORTAL_DISCLOSURE_MIN_GROUP", 10))
# Governance reports go to the Partnership Board, not the public: smaller groups may be
# shown than on the Local Offer, but small numbers are still hidden (the board reads
# aggregates). A draft is made every PORTAL_GOVERNANCE_PERIOD_MONTHS months.
PORTAL_GOVERNANCE_PRIMARY_MAX = int(env.get("PORTAL_GOVERNANCE_PRIMARY_MAX", 2))
PORTAL_GOVERNANCE_MIN_GROUP = int(env.get("PORTAL_GOVERNANCE_MIN_GROUP", 5))
PORTAL_GOVERNANCE_PERIOD_MONTHS = int(env.get("PORTAL_GOVERNANCE_PERIOD_MONTHS", 2))
# How long a public report page is served from the cache (a new publication replaces it).

PORTAL_REPORT_CACHE_SECONDS = int(env.get("PORTAL_REPORT_CACHE_SECONDS", 3600))

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 60 * 60
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Wagtail's search and reference-index tasks log every run at INFO.
        "django_tasks": {"level": "WARNING"},
    },
}


def require_secret_key(secret_key):
    if not secret_key:
        raise ImproperlyConfigured("Set SECRET_KEY in the environment.")
    return secret_key
