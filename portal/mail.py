"""Email goes out through an outbox. The backend that Django (and Wagtail's workflow
notifications) send through writes each message to OutgoingEmail in the current transaction,
so a rolled-back change sends nothing, and hands the row to Celery once that commits;
deliver_email sends it with the real backend, retrying while the mail server cannot be
reached, and marks it sent. A broker that cannot be reached never fails the request: the row
waits, and the send_queued_email beat task (or the command of that name) hands it over again
once Redis is back."""

import base64
import logging
from datetime import timedelta
from functools import partial

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import KombuError

from portal.framework.models import OutgoingEmail

logger = logging.getLogger(__name__)

# Handing work to the broker gives up at once when Redis is down (connection refused: about
# 15 ms) and within six seconds at worst otherwise (two tries, each with a 1 s connect and a
# 2 s read timeout; a hung Redis takes 4 s), where kombu's defaults have no socket timeout.
HAND_OVER_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
HAND_OVER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 2}
# A message the broker never took is handed over again once it is this old (a younger one
# may still be on its way from its on-commit hand-over) ...
HAND_OVER_GRACE = timedelta(seconds=5)
# ... and one the broker took but no worker has touched for this long is taken as lost (Redis
# restarted without its data). deliver_email never waits longer than 30 minutes to retry.
LOST_AFTER = timedelta(hours=1)
REDRIVE_BATCH = 500
# Delivered messages are emptied at once and their rows forgotten after this long.
KEEP_SENT = timedelta(days=30)

BROKER_UNREACHABLE = "The task queue could not be reached, so %s waits for the next try: %s"
ALREADY_SENT = "Outgoing email %s was sent already; not sending it again."
DELIVERED = "Delivered email %r to %d recipient(s)"
LAST_ERROR_LENGTH = 2000


def message_to_dict(message):
    """A JSON-safe copy of an EmailMessage, so it can be kept in the outbox and travel
    through the broker."""
    return {
        "subject": str(message.subject),
        "body": str(message.body),
        "from_email": message.from_email,
        "to": list(message.to),
        "cc": list(message.cc),
        "bcc": list(message.bcc),
        "reply_to": list(message.reply_to),
        "headers": dict(message.extra_headers),
        "alternatives": [
            [str(content), mimetype] for content, mimetype in getattr(message, "alternatives", [])
        ],
        "attachments": [
            [
                name,
                base64.b64encode(
                    content if isinstance(content, bytes) else content.encode()
                ).decode("ascii"),
                mimetype,
            ]
            for name, content, mimetype in (
                attachment for attachment in message.attachments if isinstance(attachment, tuple)
            )
        ],
    }


def message_from_dict(data):
    """The EmailMessage message_to_dict copied."""
    message = EmailMultiAlternatives(
        subject=data["subject"],
        body=data["body"],
        from_email=data["from_email"],
        to=data["to"],
        cc=data["cc"],
        bcc=data["bcc"],
        reply_to=data["reply_to"],
        headers=data["headers"],
    )
    for content, mimetype in data["alternatives"]:
        message.attach_alternative(content, mimetype)
    for name, content, mimetype in data["attachments"]:
        message.attach(name, base64.b64decode(content), mimetype)
    return message


# Handing work to Celery


def task_send(task, *args, **kwargs):
    """Hand `task` to the broker now, giving up within seconds if it cannot be reached:
    True if the broker took it, False (logged) if not. Never raises a broker error, so a
    Redis outage cannot fail the request that asked for the work; the caller decides how the
    work is tried again. Without a broker (eager mode) the task simply runs here."""
    app = task.app
    if app.conf.task_always_eager:
        task.apply_async(args, kwargs)
        return True
    # A connection of its own, with socket timeouts: the shared producer pool has none, so a
    # hung Redis would hold the request for as long as the operating system lets it.
    connection = app.connection_for_write(
        transport_options={**app.conf.broker_transport_options, **HAND_OVER_TRANSPORT_OPTIONS}
    )
    try:
        task.apply_async(
            args,
            kwargs,
            connection=connection,
            retry=True,
            retry_policy=HAND_OVER_RETRY_POLICY,
        )
    except (KombuError, *connection.connection_errors, *connection.channel_errors) as error:
        logger.warning(BROKER_UNREACHABLE, task.name, error)
        return False
    finally:
        connection.release()
    return True


def task_send_on_commit(task, *args, **kwargs):
    """task_send once the current transaction commits (at once outside one): the way to
    queue work from a request, which neither a rollback nor a broker outage can then upset."""
    transaction.on_commit(partial(task_send, task, *args, **kwargs))


# The outbox


def email_queue(message):
    """Put `message` in the outbox, in the current transaction, and hand it to a worker once
    that commits."""
    data = message_to_dict(message)
    email = OutgoingEmail.objects.create(subject=data["subject"][:255], message=data)
    transaction.on_commit(partial(email_hand_over, email.pk, data))
    return email


def email_hand_over(email_id, data):
    """Give outbox row `email_id` to a worker; True if the broker took it. The row stays
    waiting either way until the worker marks it sent."""
    if not task_send(deliver_email, data, email_id):
        return False
    OutgoingEmail.objects.filter(pk=email_id, status=OutgoingEmail.Status.PENDING).update(
        queued_at=timezone.now()
    )
    return True


def _send(data):
    connection = get_connection(settings.EMAIL_DELIVERY_BACKEND)
    sent = connection.send_messages([message_from_dict(data)])
    logger.info(DELIVERED, data["subject"], len(data["to"]))
    return sent


def email_deliver(email_id, data=None, *, last_try=False):
    """Send outbox row `email_id` unless it was sent already, and mark it sent. Its row lock
    is held meanwhile, so a message handed over twice is sent once. A mail server error is
    recorded on the row (failed for good on the last try) and raised for the caller to retry.
    If the row cannot be found (removed by hand), the `data` that travelled with it is sent."""
    try:
        with transaction.atomic():
            email = OutgoingEmail.objects.select_for_update().filter(pk=email_id).first()
            if email is not None and email.status == OutgoingEmail.Status.SENT:
                logger.info(ALREADY_SENT, email_id)
                return 0
            sent = _send(email.message if email is not None and email.message else data)
            OutgoingEmail.objects.filter(pk=email_id).update(
                status=OutgoingEmail.Status.SENT,
                sent_at=timezone.now(),
                message=None,
                attempts=F("attempts") + 1,
                last_error="",
            )
    except OSError as error:
        OutgoingEmail.objects.filter(pk=email_id).exclude(status=OutgoingEmail.Status.SENT).update(
            status=OutgoingEmail.Status.FAILED if last_try else OutgoingEmail.Status.PENDING,
            attempts=F("attempts") + 1,
            last_error=f"{type(error).__name__}: {error}"[:LAST_ERROR_LENGTH],
            # The worker will retry it itself: not lost, so the re-drive leaves it be.
            queued_at=timezone.now(),
        )
        raise
    return sent


def outbox_redrive(*, now=None, grace=HAND_OVER_GRACE, lost_after=LOST_AFTER, limit=REDRIVE_BATCH):
    """Hand to a worker again each waiting message the broker never took (it was down when
    the change committed) or seems to have lost, oldest first; stop at the first refusal, the
    broker being still down, and leave the rest for the next run. Returns how many it handed
    over."""
    now = now or timezone.now()
    waiting = (
        OutgoingEmail.objects.filter(status=OutgoingEmail.Status.PENDING)
        .filter(
            Q(queued_at__isnull=True, created_at__lte=now - grace)
            | Q(queued_at__lte=now - lost_after)
        )
        .order_by("pk")
        .values_list("pk", "message")
    )
    handed = 0
    for email_id, data in waiting[:limit] if limit else waiting:
        if not email_hand_over(email_id, data):
            break
        handed += 1
    return handed


def outbox_prune(*, now=None):
    """Forget delivered messages after KEEP_SENT (their text is gone already); returns how
    many rows went."""
    cutoff = (now or timezone.now()) - KEEP_SENT
    deleted, _ = OutgoingEmail.objects.filter(
        status=OutgoingEmail.Status.SENT, sent_at__lt=cutoff
    ).delete()
    return deleted


@shared_task(
    bind=True,
    autoretry_for=(OSError,),
    retry_backoff=30,
    retry_backoff_max=30 * 60,
    max_retries=12,
)
def deliver_email(self, data, email_id=None):
    """Deliver one queued message with the configured delivery backend, at most once per
    outbox row. `data` travels with the row's id so that messages queued before the outbox
    existed (no id) are still delivered."""
    if email_id is None:
        return _send(data)
    return email_deliver(email_id, data, last_try=self.request.retries >= self.max_retries)


class CeleryEmailBackend(BaseEmailBackend):
    """Puts each message in the outbox for deliver_email, so a rolled-back change never sends
    mail, a slow mail server never slows a request, and a broker outage only delays it."""

    def send_messages(self, email_messages):
        queued = 0
        for message in email_messages:
            if not message.recipients():
                continue
            email_queue(message)
            queued += 1
        return queued
