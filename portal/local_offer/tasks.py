"""Background work for the Local Offer: taking a report's figures when it is published, and
drafting the next governance report when one is due."""

from celery import shared_task
from django.db import InterfaceError, OperationalError
from wagtail.models import Revision

from .governance import governance_report_draft_create
from .snapshots import report_snapshot_take, report_snapshots_missing_take


@shared_task(bind=True, max_retries=5, default_retry_delay=30)
def report_snapshot(self, revision_id):
    """Freeze the figures of a published revision; a lost database connection is retried."""
    try:
        snapshot = report_snapshot_take(Revision.objects.get(pk=revision_id))
    except (OperationalError, InterfaceError) as error:
        raise self.retry(exc=error) from error
    return snapshot.pk


@shared_task
def governance_report_draft():
    """Run daily by Celery beat: draft the next governance report if it is due (see
    governance.next_draft_period) and tell the QA leads. Returns the draft's id or None."""
    draft = governance_report_draft_create()
    return draft.pk if draft else None


@shared_task
def report_snapshots_missing():
    """Run by Celery beat: take the figures of any published report revision that has none
    (its task was never queued, say because the broker was down when it was published).
    Returns how many were taken."""
    return len(report_snapshots_missing_take())
