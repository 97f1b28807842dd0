"""Production: everything from the environment; refuses to start without a secret key,
allowed hosts or a database."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import REDIS_URL, SECRET_KEY, env, env_bool, require_secret_key

SECRET_KEY = require_secret_key(SECRET_KEY)
if not ALLOWED_HOSTS:  # noqa: F405
    raise ImproperlyConfigured("Set ALLOWED_HOSTS in the environment.")
if not env.get("DATABASE_URL"):
    raise ImproperlyConfigured("Set DATABASE_URL (PostgreSQL) in the environment.")
if not REDIS_URL:
    raise ImproperlyConfigured("Set REDIS_URL (Celery broker and cache) in the environment.")

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = int(env.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# The preload directive only takes effect if the domain is submitted to browsers' list.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
PORTAL_DEMO_CONTENT_ALLOWED = False
# Every signed-in person gives a second factor in production; deliberately not read from the
# environment, and `check --deploy` warns if it is ever set otherwise (portal.framework.security).
PORTAL_REQUIRE_SECOND_FACTOR = True
