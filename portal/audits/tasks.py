"""Background work for the audits app: checking and importing large plan register files."""

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .plan_register import plan_import_execute, plan_import_fail

logger = logging.getLogger(__name__)

DATABASE_UNREACHABLE = "the database could not be reached"
UNEXPECTED_ERROR = "an unexpected error, logged for the portal's administrator"


@shared_task(bind=True, max_retries=3, default_retry_delay=30)
def plan_import_run(self, import_id, dry_run=False):
    """Check (dry_run) or import a stored register upload. The import is one transaction, so
    a failure at any point leaves the register as it was; a lost database connection is
    retried by the worker, anything else marks the import failed."""
    try:
        plan_import = plan_import_execute(import_id, dry_run)
    except (OperationalError, InterfaceError) as error:
        # Run eagerly (no broker) there is no worker to retry later: fail at once.
        if not self.request.is_eager and self.request.retries < self.max_retries:
            logger.warning("Plan import %s: database unreachable, retrying", import_id)
            raise self.retry(exc=error) from error
        plan_import_fail(import_id, DATABASE_UNREACHABLE)
        raise
    except Exception:
        logger.exception("Plan import %s failed", import_id)
        plan_import_fail(import_id, UNEXPECTED_ERROR)
        raise
    return {"status": plan_import.status, "rows": plan_import.rows_total}


@shared_task(autoretry_for=(ConnectionError,), max_retries=3, default_retry_delay=60)
def action_digests():
    """Daily: each owner's digest of actions due within 7 days or overdue, and the QA leads'
    overdue summary. Returns how many owners were emailed."""
    from .actions import action_digests_send

    emailed, _ = action_digests_send()
    return emailed


@shared_task
def retention_apply_scheduled():
    """Monthly: anonymise what passed the retention period (never a forced date), so the
    policy holds without anyone remembering to run it. Returns the counts."""
    from .retention import retention_apply

    return retention_apply().counts
