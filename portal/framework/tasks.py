"""Scheduled work for framework pages."""

from celery import shared_task
from django.core.management import call_command


@shared_task
def publish_scheduled_pages():
    """Publish revisions whose go-live time has come and unpublish expired pages."""
    call_command("publish_scheduled")
