"""When a report page is published, its figures are taken (after the publication commits,
by a Celery task) and frozen with that revision."""

from django.db import transaction
from django.dispatch import receiver
from wagtail.signals import page_published

from .models import QualitySummaryPage
from .tasks import report_snapshot


@receiver(page_published, dispatch_uid="portal.local_offer.snapshot")
def _take_snapshot(sender, instance, revision, **kwargs):
    if isinstance(instance, QualitySummaryPage) and revision is not None:

        def take():
            report_snapshot.delay(revision.pk)

        transaction.on_commit(take, robust=True)
