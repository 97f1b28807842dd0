"""Background work for training, run daily by Celery beat: expiry reminders to auditors and
lapsed accreditations reported to QA leads."""

from celery import shared_task

from .services import accreditation_lapses_report, accreditation_reminders_send


@shared_task(autoretry_for=(ConnectionError,), max_retries=3, default_retry_delay=60)
def accreditation_reminders():
    """Remind auditors whose accreditation expires soon (each once)."""
    return accreditation_reminders_send()


@shared_task(autoretry_for=(ConnectionError,), max_retries=3, default_retry_delay=60)
def accreditation_lapses():
    """Tell QA leads about lapsed auditors who still hold plans to audit (each once)."""
    return len(accreditation_lapses_report())
