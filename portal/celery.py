"""The Celery app: Redis broker in production, eager in-process execution when no broker is
configured (see CELERY_* in settings)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The email delivery task lives beside the project's email backend, not in an app.
app.autodiscover_tasks(["portal"], related_name="mail")
