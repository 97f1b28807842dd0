"""The outbox every email goes through (portal.mail): written with the change that sends it
(a rolled-back change sends nothing), delivered at once without a broker, kept waiting and
never an error when the broker cannot be reached, handed over again by the beat task and the
send_queued_email command, and delivered once however often it is handed over."""

import datetime
import logging
import socket
import time

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.mail import EmailMessage, send_mail
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from portal import celery_app
from portal.audits.cycles import assignment_create
from portal.framework.management.commands.send_queued_email import (
    BROKER_DOWN,
    HANDED_OVER,
    NOT_SENT_HERE,
    NOTHING_WAITING,
    SENT_HERE,
)
from portal.framework.models import OutgoingEmail
from portal.framework.tasks import send_queued_email
from portal.mail import (
    ALREADY_SENT,
    BROKER_UNREACHABLE,
    HAND_OVER_GRACE,
    KEEP_SENT,
    LOST_AFTER,
    deliver_email,
    email_deliver,
    message_to_dict,
    outbox_prune,
    outbox_redrive,
    task_send,
    task_send_on_commit,
)

from .audits.factories import PlanFactory

pytestmark = pytest.mark.django_db

SMTP = "django.core.mail.backends.smtp.EmailBackend"
DUE = datetime.date(2026, 12, 18)


def free_port():
    """A local port nothing listens on (so connecting to it is refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def outbox_backend(settings):
    # The test runner swaps in a local-memory backend; use the portal's own, as in
    # production. Delivery (EMAIL_DELIVERY_BACKEND) is local memory in the test settings.
    settings.EMAIL_BACKEND = "portal.mail.CeleryEmailBackend"


@pytest.fixture
def broker_down(outbox_backend):
    """Celery publishing for real (not eager) to a Redis address where nothing listens."""
    conf = celery_app.conf
    previous = conf.task_always_eager, conf.broker_url
    conf.task_always_eager, conf.broker_url = False, f"redis://127.0.0.1:{free_port()}/0"
    yield
    conf.task_always_eager, conf.broker_url = previous


def waiting_email(subject="Hello", *, age=datetime.timedelta(minutes=1), queued=None, **fields):
    """An outbox row as the backend leaves it, made `age` ago (and handed over `queued` ago)."""
    message = EmailMessage(subject, "Body text.", None, ["auditor@example.gov.uk"])
    email = OutgoingEmail.objects.create(
        subject=subject, message=message_to_dict(message), **fields
    )
    now = timezone.now()
    OutgoingEmail.objects.filter(pk=email.pk).update(
        created_at=now - age, queued_at=None if queued is None else now - queued
    )
    email.refresh_from_db()
    return email


def subjects():
    return sorted(message.subject for message in mail.outbox)


# Written with the change; delivered once it commits


def test_a_message_waits_for_the_commit_then_is_delivered_and_its_text_forgotten(
    outbox_backend, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        send_mail("Your new plan", "Audit EHC-1 by Friday.", None, ["auditor@example.gov.uk"])
        email = OutgoingEmail.objects.get()
        assert email.status == OutgoingEmail.Status.PENDING
        assert email.message["body"] == "Audit EHC-1 by Friday."
        assert mail.outbox == []

    for callback in callbacks:
        callback()

    assert [(m.subject, m.to) for m in mail.outbox] == [
        ("Your new plan", ["auditor@example.gov.uk"])
    ]
    email.refresh_from_db()
    assert email.status == OutgoingEmail.Status.SENT
    assert (email.attempts, email.last_error) == (1, "")
    assert email.sent_at is not None
    # A message can carry a one-time link (an invitation): none of it is kept once sent.
    assert email.message is None


def test_a_rolled_back_change_sends_nothing_and_leaves_nothing_in_the_outbox(
    outbox_backend, django_capture_on_commit_callbacks, auditor, qa_lead
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        send_mail("Never", "Never sent.", None, ["auditor@example.gov.uk"])
        raise RuntimeError("the request failed after sending")

    assert callbacks == []
    assert mail.outbox == []
    assert not OutgoingEmail.objects.exists()


def test_without_a_broker_a_services_mail_goes_out_as_soon_as_the_change_commits(
    outbox_backend, django_capture_on_commit_callbacks, auditor, qa_lead
):
    with django_capture_on_commit_callbacks(execute=True):
        assignment_create(
            PlanFactory(system_id="EHC-515151"), auditor, datetime.date.today(), qa_lead
        )

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [auditor.email]
    assert "EHC-515151" in mail.outbox[0].subject + mail.outbox[0].body
    assert OutgoingEmail.objects.get().status == OutgoingEmail.Status.SENT


def test_a_message_without_recipients_is_not_queued(outbox_backend):
    assert EmailMessage("Nobody", "No one to send to.").send() == 0
    assert not OutgoingEmail.objects.exists()


# The broker cannot be reached


def test_an_unreachable_broker_leaves_the_message_waiting_and_raises_nothing(
    broker_down, django_capture_on_commit_callbacks, caplog
):
    started = time.monotonic()
    with (
        caplog.at_level(logging.WARNING, logger="portal.mail"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        sent = send_mail("Waiting", "Sent later.", None, ["auditor@example.gov.uk"])
    took = time.monotonic() - started

    assert sent == 1  # accepted, as far as the sender is concerned
    assert took < 3
    email = OutgoingEmail.objects.get()
    assert (email.status, email.queued_at, email.attempts) == (
        OutgoingEmail.Status.PENDING,
        None,
        0,
    )
    assert email.message["body"] == "Sent later."
    assert mail.outbox == []
    warning = caplog.records[-1]
    assert warning.levelno == logging.WARNING
    assert warning.msg == BROKER_UNREACHABLE
    assert warning.args[0] == deliver_email.name


def test_task_send_reports_an_unreachable_broker_instead_of_raising(
    broker_down, caplog, django_capture_on_commit_callbacks
):
    with caplog.at_level(logging.WARNING, logger="portal.mail"):
        assert task_send(send_queued_email) is False
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            task_send_on_commit(send_queued_email)
    assert len(callbacks) == 1
    assert [record.msg for record in caplog.records] == [BROKER_UNREACHABLE] * 2


def test_without_a_broker_task_send_runs_the_task_here(outbox_backend):
    waiting_email("Held back")
    assert task_send(send_queued_email) is True
    assert subjects() == ["Held back"]


# Handed over again


def test_the_redrive_hands_over_only_what_the_broker_never_took_or_lost(outbox_backend):
    never_taken = waiting_email("Never taken")
    lost = waiting_email("Lost", age=2 * LOST_AFTER, queued=LOST_AFTER * 1.5)
    waiting_email("Just written", age=HAND_OVER_GRACE / 5)
    waiting_email("With a worker", age=datetime.timedelta(minutes=10), queued=LOST_AFTER / 6)
    waiting_email("Sent before", status=OutgoingEmail.Status.SENT)

    assert outbox_redrive() == 2
    assert outbox_redrive() == 0

    assert subjects() == ["Lost", "Never taken"]
    for email in (never_taken, lost):
        email.refresh_from_db()
        assert (email.status, email.attempts) == (OutgoingEmail.Status.SENT, 1)
    assert OutgoingEmail.objects.filter(status=OutgoingEmail.Status.PENDING).count() == 2


def test_a_message_handed_over_twice_is_delivered_once(outbox_backend, caplog):
    email = waiting_email("Once only")

    with caplog.at_level(logging.INFO, logger="portal.mail"):
        assert deliver_email.delay(email.message, email.pk).get() == 1
        assert deliver_email.delay(email.message, email.pk).get() == 0

    assert subjects() == ["Once only"]
    assert ALREADY_SENT in [record.msg for record in caplog.records]
    email.refresh_from_db()
    assert (email.status, email.attempts) == (OutgoingEmail.Status.SENT, 1)


def test_a_message_queued_before_the_outbox_existed_is_still_delivered(outbox_backend):
    message = EmailMessage("From the old queue", "Body.", None, ["auditor@example.gov.uk"])
    deliver_email.delay(message_to_dict(message)).get()
    assert subjects() == ["From the old queue"]


def test_the_beat_task_is_scheduled_every_minute():
    entry = django_settings.CELERY_BEAT_SCHEDULE["send-queued-email"]
    assert entry["task"] == send_queued_email.name
    assert entry["task"] in celery_app.tasks
    assert entry["schedule"] == 60.0


def test_delivered_messages_are_forgotten_after_a_month(outbox_backend):
    old = waiting_email("Old", status=OutgoingEmail.Status.SENT)
    recent = waiting_email("Recent", status=OutgoingEmail.Status.SENT)
    still_waiting = waiting_email("Waiting", age=2 * KEEP_SENT)
    OutgoingEmail.objects.filter(pk=old.pk).update(sent_at=timezone.now() - KEEP_SENT * 1.1)
    OutgoingEmail.objects.filter(pk=recent.pk).update(sent_at=timezone.now())

    assert outbox_prune() == 1
    assert set(OutgoingEmail.objects.values_list("pk", flat=True)) == {
        recent.pk,
        still_waiting.pk,
    }


# The mail server cannot be reached


@pytest.fixture
def eager_failures_returned():
    """Eager tasks return their failure instead of raising it, so that (as on a worker) a
    task's retries run to the end."""
    previous = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_eager_propagates = previous


def test_a_mail_server_failure_is_recorded_retried_and_finally_marked_failed(
    settings, eager_failures_returned
):
    settings.EMAIL_DELIVERY_BACKEND = SMTP
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    settings.EMAIL_TIMEOUT = 2
    email = waiting_email("Server down")

    with pytest.raises(OSError):
        email_deliver(email.pk)
    email.refresh_from_db()
    assert (email.status, email.attempts) == (OutgoingEmail.Status.PENDING, 1)
    assert email.last_error.startswith("ConnectionRefusedError")

    # The task retries as before (run here, its twelve retries come one after another).
    result = deliver_email.apply((email.message, email.pk))
    assert result.failed()
    assert isinstance(result.result, ConnectionRefusedError)
    email.refresh_from_db()
    assert (email.status, email.attempts) == (OutgoingEmail.Status.FAILED, 1 + 1 + 12)
    assert email.message["subject"] == "Server down"  # kept, to try again by hand


# The send_queued_email command


def test_the_command_says_so_when_nothing_is_waiting(outbox_backend, capsys):
    waiting_email("Sent before", status=OutgoingEmail.Status.SENT)
    call_command("send_queued_email")
    assert capsys.readouterr().out.strip() == NOTHING_WAITING


def test_the_command_hands_every_waiting_message_over_whatever_its_age(outbox_backend, capsys):
    waiting_email("Just written", age=datetime.timedelta(0))
    waiting_email("With a worker", queued=datetime.timedelta(seconds=1))

    call_command("send_queued_email")

    assert capsys.readouterr().out.strip() == HANDED_OVER.format(count=2, s="s")
    assert subjects() == ["Just written", "With a worker"]


def test_the_command_fails_loudly_while_the_broker_is_down_and_sends_with_now(broker_down, capsys):
    waiting_email("First")
    waiting_email("Second")

    with pytest.raises(CommandError) as refused:
        call_command("send_queued_email")
    assert str(refused.value) == BROKER_DOWN.format(count=2, s="s", verb_s="")
    assert mail.outbox == []

    call_command("send_queued_email", "--now")
    assert capsys.readouterr().out.strip() == SENT_HERE.format(count=2, s="s")
    assert subjects() == ["First", "Second"]
    assert not OutgoingEmail.objects.exclude(status=OutgoingEmail.Status.SENT).exists()


def test_the_command_tries_failed_messages_again_when_asked(settings, capsys):
    failed = waiting_email("Refused", status=OutgoingEmail.Status.FAILED)
    settings.EMAIL_DELIVERY_BACKEND = SMTP
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()

    call_command("send_queued_email", "--now")  # failed ones are left alone
    assert capsys.readouterr().out.strip() == NOTHING_WAITING
    with pytest.raises(CommandError) as refused:
        call_command("send_queued_email", "--now", "--failed")
    said = NOT_SENT_HERE.split("{error}")[0].format(count=1, s="", verb_s="s")
    assert str(refused.value).startswith(said)
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (OutgoingEmail.Status.PENDING, 1)

    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("send_queued_email", "--now")
    assert subjects() == ["Refused"]
