"""Send the mail waiting in the outbox by hand: hand it to the Celery worker now, without
waiting for the minute's beat task (say straight after Redis comes back), or with --now
deliver it from this process when the broker is down for long."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import pluralize

from portal.framework.models import OutgoingEmail
from portal.mail import email_deliver, outbox_redrive

NOTHING_WAITING = "No email is waiting to be sent."
FAILED_REQUEUED = "Put {count} failed email{s} back in the queue."
HANDED_OVER = "Handed {count} email{s} over for delivery."
BROKER_DOWN = (
    "The task queue could not be reached, so {count} email{s} still wait{verb_s}. Run this "
    "again when Redis is back, or with --now to send them from here."
)
SENT_HERE = "Sent {count} email{s}."
NOT_SENT_HERE = (
    "{count} email{s} could not be sent and still wait{verb_s} (the mail server said: "
    "{error}). They are tried again by the worker, or run this again."
)


def _counted(template, count, **values):
    return template.format(count=count, s=pluralize(count), verb_s=pluralize(count, "s,"), **values)


class Command(BaseCommand):
    help = (
        "Send the email waiting in the outbox: hand it to the Celery worker now, or with "
        "--now deliver it from this process."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--now",
            action="store_true",
            help="deliver from this process with the delivery backend, without the worker",
        )
        parser.add_argument(
            "--failed",
            action="store_true",
            help="also try again the email the mail server kept refusing",
        )

    def handle(self, *args, now=False, failed=False, **options):
        if failed:
            requeued = OutgoingEmail.objects.filter(status=OutgoingEmail.Status.FAILED).update(
                status=OutgoingEmail.Status.PENDING, queued_at=None
            )
            self.stdout.write(_counted(FAILED_REQUEUED, requeued))
        waiting = OutgoingEmail.objects.filter(status=OutgoingEmail.Status.PENDING)
        if not waiting.exists():
            self.stdout.write(NOTHING_WAITING)
            return
        if now:
            self._deliver_here(waiting)
            return
        count = waiting.count()
        handed = outbox_redrive(grace=timedelta(0), lost_after=timedelta(0), limit=None)
        if handed < count:
            raise CommandError(_counted(BROKER_DOWN, count - handed))
        self.stdout.write(_counted(HANDED_OVER, handed))

    def _deliver_here(self, waiting):
        sent, refused, error = 0, 0, None
        for email_id in waiting.order_by("pk").values_list("pk", flat=True):
            try:
                sent += 1 if email_deliver(email_id) else 0  # 0: a worker sent it meanwhile
            except OSError as problem:
                refused, error = refused + 1, problem
        self.stdout.write(_counted(SENT_HERE, sent))
        if refused:
            raise CommandError(_counted(NOT_SENT_HERE, refused, error=error))
