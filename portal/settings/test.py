"""The test suite: the embedded default unless DATABASE_URL / REDIS_URL switch PostgreSQL and
Redis on (as .ci/run does)."""

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = "test-only-key"  # noqa: S105
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
EMAIL_DELIVERY_BACKEND = env.get(
    "EMAIL_DELIVERY_BACKEND", "django.core.mail.backends.locmem.EmailBackend"
)
# Tests run in-process unless a test starts a real worker itself.
CELERY_TASK_ALWAYS_EAGER = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PORTAL_DEMO_CONTENT_ALLOWED = True
# Close connections after each request so no test-server thread keeps the test database open.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# Most tests sign in with force_login or through the sign-in page and test something else;
# the tests of the second factor switch it back on.
PORTAL_REQUIRE_SECOND_FACTOR = False
# Client.login() authenticates without a request, which django-axes refuses; the tests of
# sign-in throttling switch it back on.
AXES_ENABLED = False
