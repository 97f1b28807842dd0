"""Scheduled work for framework pages, and for the outbox every app's mail goes through."""

from celery import shared_task
from django.core.management import call_command

from portal.mail import outbox_prune, outbox_redrive


@shared_task
def publish_scheduled_pages():
    """Publish revisions whose go-live time has come and unpublish expired pages."""
    call_command("publish_scheduled")


@shared_task
def send_queued_email():
    """Every minute: hand a worker again the mail a broker outage held back in the outbox,
    and forget delivered mail after a month. Returns how many messages it handed over."""
    handed = outbox_redrive()
    outbox_prune()
    return handed
