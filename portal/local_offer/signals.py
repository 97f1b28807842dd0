"""When a report page is published, its figures are taken (after the publication commits,
by a Celery task) and frozen with that revision; a governance report's board members are
told it is there."""

from functools import partial

from django.db import transaction
from django.dispatch import receiver
from wagtail.signals import page_published

from portal.mail import task_send

from .governance import governance_report_announce
from .models import GovernanceReportPage, QualitySummaryPage
from .tasks import report_snapshot


@receiver(page_published, dispatch_uid="portal.local_offer.snapshot")
def _take_snapshot(sender, instance, revision, **kwargs):
    if isinstance(instance, QualitySummaryPage | GovernanceReportPage) and revision is not None:
        # If the broker cannot take it, the publication still stands and beat's
        # report_snapshots_missing takes the figures once it can.
        # Robust: in eager mode (no broker) a failure to take them is logged, not raised into
        # the publication.
        transaction.on_commit(partial(task_send, report_snapshot, revision.pk), robust=True)


@receiver(page_published, dispatch_uid="portal.local_offer.governance_announce")
def _announce_governance_report(sender, instance, **kwargs):
    if isinstance(instance, GovernanceReportPage):
        governance_report_announce(instance)
