"""Email goes out through Celery: the backend Django (and Wagtail's workflow notifications)
send through queues each message after the transaction commits, and a task delivers it with
the real backend, retrying while the mail server cannot be reached."""

import base64
import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend

logger = logging.getLogger(__name__)


def message_to_dict(message):
    """A JSON-safe copy of an EmailMessage, so it can travel through the broker."""
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


@shared_task(
    bind=True,
    autoretry_for=(OSError,),
    retry_backoff=30,
    retry_backoff_max=30 * 60,
    max_retries=12,
)
def deliver_email(self, data):
    """Deliver one queued message with the configured delivery backend."""
    connection = get_connection(settings.EMAIL_DELIVERY_BACKEND)
    sent = connection.send_messages([message_from_dict(data)])
    logger.info("Delivered email %r to %d recipient(s)", data["subject"], len(data["to"]))
    return sent


class CeleryEmailBackend(BaseEmailBackend):
    """Queues each message for deliver_email once the current transaction commits, so a
    rolled-back change never sends mail and a slow mail server never slows a request."""

    def send_messages(self, email_messages):
        queued = 0
        for message in email_messages:
            if not message.recipients():
                continue
            data = message_to_dict(message)
            deliver_email.delay_on_commit(data)
            queued += 1
        return queued
