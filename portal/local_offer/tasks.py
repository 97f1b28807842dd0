"""Background work for the Local Offer: taking a report's figures when it is published."""

from celery import shared_task
from django.db import InterfaceError, OperationalError
from wagtail.models import Revision

from .snapshots import report_snapshot_take


@shared_task(bind=True, max_retries=5, default_retry_delay=30)
def report_snapshot(self, revision_id):
    """Freeze the figures of a published revision; a lost database connection is retried."""
    try:
        snapshot = report_snapshot_take(Revision.objects.get(pk=revision_id))
    except (OperationalError, InterfaceError) as error:
        raise self.retry(exc=error) from error
    return snapshot.pk
