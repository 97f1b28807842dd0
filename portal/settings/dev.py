"""Local development: the embedded default (SQLite, eager Celery, console email) with demo
content allowed. Never use in production."""

from .base import *  # noqa: F403
from .base import env, env_list

DEBUG = True
SECRET_KEY = env.get("SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
EMAIL_DELIVERY_BACKEND = env.get(
    "EMAIL_DELIVERY_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PORTAL_DEMO_CONTENT_ALLOWED = True
# Demo sign-ins go straight in, without setting up an authenticator app; production asks
# every signed-in person for a second factor.
PORTAL_REQUIRE_SECOND_FACTOR = False
