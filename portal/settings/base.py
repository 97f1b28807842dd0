"""Settings safe for production: no secret, DEBUG off. Everything site-specific comes from
the environment; dev and test loosen these explicitly."""

import os
from datetime import timedelta
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
    # Staff sign-in: a second factor (an authenticator app, with recovery codes), throttling
    # of failed sign-ins, and a Content-Security-Policy header.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
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
    "portal.framework.security.ContentSecurityPolicyMiddleware",
    "portal.framework.security.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before sessions and authentication: a cached public page costs no database query.
    "portal.local_offer.public_cache.PublicPageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "portal.framework.security.SessionLifetimeMiddleware",
    "portal.framework.two_factor.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
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
# django-axes first, so a locked-out username and address is refused before the password is
# checked; then model permissions, then django-guardian's per-object ones (an auditor and
# *their* assignments and audits).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
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
    # Fails open (a miss) while Redis is down, giving up on a connection within a second,
    # so an outage slows pages a little instead of failing them (portal.framework.cache).
    CACHES = {
        "default": {
            "BACKEND": "portal.framework.cache.FailOpenRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
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
    # Mail the broker could not take (Redis was down when the change committed) waits in
    # the outbox; this hands it to a worker again (portal.mail).
    "send-queued-email": {
        "task": "portal.framework.tasks.send_queued_email",
        "schedule": 60.0,
    },
    # Figures of a report published while the broker was down are taken once it is back.
    "report-snapshots-missing": {
        "task": "portal.local_offer.tasks.report_snapshots_missing",
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
    # Monthly, at night: anonymises what passed PORTAL_RETENTION_YEARS (idempotent).
    "apply-retention": {
        "task": "portal.audits.tasks.retention_apply_scheduled",
        "schedule": crontab(day_of_month=1, hour=3, minute=15),
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
# Plans with no activity for this many years are anonymised with their audits, moderation
# and actions (manage.py apply_retention, monthly by Celery beat); docs/data-protection.md
# explains the default.
PORTAL_RETENTION_YEARS = int(env.get("PORTAL_RETENTION_YEARS", 6))

# Staff sign-in. Every signed-in person is council or partner staff, so everyone gives a
# second factor (portal.framework.two_factor); dev and test switch it off explicitly, and
# production settings insist on it.
PORTAL_REQUIRE_SECOND_FACTOR = True
OTP_TOTP_ISSUER = WAGTAIL_SITE_NAME
# django-otp's exponential back-off on wrong codes (1, 2, 4, 8... seconds after each failure
# in a row); 0 would switch it off, so it is set here rather than left to a default.
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
# django-axes: a username tried from one address is locked for the cool-off after this many
# failures in a row. Locking the combination (not the username alone) stops a stranger from
# locking a colleague out from elsewhere; the lockout page says the same for any username.
AXES_FAILURE_LIMIT = int(env.get("PORTAL_SIGN_IN_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = timedelta(minutes=int(env.get("PORTAL_SIGN_IN_COOLOFF_MINUTES", 15)))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_LOCKOUT_CALLABLE = "portal.framework.security.sign_in_locked_out"
AXES_CLIENT_IP_CALLABLE = "portal.framework.security.sign_in_address"
# How many reverse proxies (each adding to X-Forwarded-For) stand in front of the portal:
# without this, every sign-in would seem to come from the proxy's address.
PORTAL_TRUSTED_PROXY_COUNT = int(env.get("PORTAL_TRUSTED_PROXY_COUNT", 0))

# Sessions on shared office computers: a session ends when the browser closes, after
# PORTAL_SESSION_IDLE_MINUTES without a request, and in any case PORTAL_SESSION_MAX_HOURS
# after signing in, because an open admin editor pings the server every few seconds and would
# otherwise keep an unattended session alive for ever. SessionLifetimeMiddleware pushes the
# idle expiry on at most once a minute rather than saving the session on every request
# (SESSION_SAVE_EVERY_REQUEST), which would write to the database for every page and asset.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_AGE = 60 * int(env.get("PORTAL_SESSION_IDLE_MINUTES", 30))
PORTAL_SESSION_MAX_HOURS = int(env.get("PORTAL_SESSION_MAX_HOURS", 10))
SESSION_COOKIE_HTTPONLY = True
# Neither Wagtail's admin nor the portal's scripts read the CSRF cookie (they take the token
# from the page), so scripts need not see it.
CSRF_COOKIE_HTTPONLY = True

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Browser features no page of the portal uses (PermissionsPolicyMiddleware sends it).
PORTAL_PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)
# No inline script or style anywhere on the public site and the portal's own pages; Wagtail's
# admin is loosened only as far as it needs (portal.framework.security).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
# Wagtail would show staff avatars from Gravatar: that sends a hash of every signed-in
# person's email address to a third party, and needs the admin's policy to allow it.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
# Nor does the admin's dashboard ask wagtail.org for the latest release: upgrades come through
# pyproject.toml, and the request would need the policy to allow another origin.
WAGTAIL_ENABLE_UPDATE_CHECK = False

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


# --- Read replica for reporting (docs/deployment.md, "Scaling out") -------------------------
# With REPORTING_DATABASE_URL set (a streaming replica of DATABASE_URL), the dashboard's and
# reports' aggregates over AuditFact are read from it; writes, every other read and reads
# inside a transaction (a report's snapshot) stay on the primary. Tests mirror it onto the
# test database instead of creating one on the replica.
REPORTING_DATABASE_URL = env.get("REPORTING_DATABASE_URL", "")
if REPORTING_DATABASE_URL:
    DATABASES["reporting"] = {
        **dj_database_url.parse(
            REPORTING_DATABASE_URL,
            conn_max_age=DATABASES["default"]["CONN_MAX_AGE"],
            conn_health_checks=True,
        ),
        "OPTIONS": dict(DATABASES["default"].get("OPTIONS", {})),
        "TEST": {"MIRROR": "default"},
    }
    DATABASE_ROUTERS = ["portal.database_routers.ReportingReplicaRouter"]
# --- end of read replica for reporting -------------------------------------------------------
