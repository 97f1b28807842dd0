"""Accreditation: only accredited auditors are given plans (one at a time or a cycle at
once); expiry reminders go out once, 30 days before; a lapsed auditor's open assignments are
reported to QA leads and kept. The daily jobs run on a real Celery worker."""

import datetime
import os

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateformat import format as date_format

from portal.audits.cycles import assignment_create, cycle_assign
from portal.audits.models import Assignment
from portal.training.models import Accreditation, TrainingSettings
from portal.training.selectors import (
    ACCREDITATION_EXPIRED,
    NOT_ACCREDITED,
    accreditation_current,
)
from portal.training.services import (
    LAPSE_SUBJECT,
    accreditation_lapses_report,
    accreditation_reminders_send,
)
from portal.training.tasks import accreditation_lapses, accreditation_reminders

from ..audits.factories import AuditCycleFactory, PlanFactory, SampledPlanFactory
from ..factories import UserFactory
from ..test_celery_worker import (  # noqa: F401 - `worker` is a fixture
    REDIS_URL,
    test_database_url,
    wait_for_files,
    worker,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate
DUE = datetime.date(2026, 12, 18)


def expire(user, days_ago=1):
    """Make `user`'s accreditation run out `days_ago` days ago."""
    Accreditation.objects.filter(auditor=user).update(
        expires_on=TODAY() - datetime.timedelta(days=days_ago)
    )


def test_an_unaccredited_auditor_is_refused_a_plan_with_a_clear_message(qa_lead):
    newcomer = UserFactory(roles=["Auditor"], accredited=False)
    with pytest.raises(ValidationError) as refused:
        assignment_create(PlanFactory(), newcomer, DUE, qa_lead)
    assert refused.value.messages == [NOT_ACCREDITED]
    assert not Assignment.objects.exists()


def test_an_expired_auditor_is_refused_with_the_date_it_expired(qa_lead, auditor):
    expire(auditor, days_ago=3)
    expired_on = TODAY() - datetime.timedelta(days=3)
    with pytest.raises(ValidationError) as refused:
        assignment_create(PlanFactory(), auditor, DUE, qa_lead)
    assert refused.value.messages == [
        ACCREDITATION_EXPIRED.format(date=date_format(expired_on, "j F Y"))
    ]


def test_accreditation_lasts_to_the_end_of_its_expiry_day(auditor):
    Accreditation.objects.filter(auditor=auditor).update(expires_on=TODAY())
    assert accreditation_current(auditor) is not None
    assert accreditation_current(auditor, on=TODAY() + datetime.timedelta(days=1)) is None


def test_expired_auditors_drop_out_of_a_cycle_assignment(rubric_page, auditor, qa_lead):
    cycle = AuditCycleFactory(rubric=rubric_page)
    for number in range(3):
        SampledPlanFactory(cycle=cycle, plan=PlanFactory(system_id=f"EHC-C{number}"))
    lapsed = UserFactory(username="lapsed", roles=["Auditor"])
    expire(lapsed)
    result = cycle_assign(cycle, [auditor, lapsed], DUE, qa_lead)
    assert {a.auditor for a in result.created} == {auditor}
    assert len(result.created) == 3
    [(refused, message)] = result.refused
    assert refused == lapsed
    assert message.startswith("This auditor's accreditation expired on")


def days_from_today(days):
    return TODAY() + datetime.timedelta(days=days)


def test_a_reminder_goes_once_to_each_auditor_expiring_within_the_period(
    django_capture_on_commit_callbacks,
):
    soon = UserFactory(username="soon", roles=["Auditor"])
    later = UserFactory(username="later", roles=["Auditor"])
    renewed = UserFactory(username="renewed", roles=["Auditor"])
    Accreditation.objects.filter(auditor=soon).update(expires_on=days_from_today(30))
    Accreditation.objects.filter(auditor=later).update(expires_on=days_from_today(31))
    Accreditation.objects.filter(auditor=renewed).update(expires_on=days_from_today(10))
    Accreditation.objects.create(auditor=renewed, expires_on=days_from_today(375))

    with django_capture_on_commit_callbacks(execute=True):
        assert accreditation_reminders_send() == 1
    [message] = mail.outbox
    assert message.to == [soon.email]
    assert date_format(days_from_today(30), "j F Y") in message.subject
    assert "/training/" in message.body

    with django_capture_on_commit_callbacks(execute=True):
        assert accreditation_reminders_send() == 0  # not twice
    assert len(mail.outbox) == 1


def test_qa_leads_set_how_early_the_reminder_comes(django_capture_on_commit_callbacks):
    rules = TrainingSettings.load()
    rules.reminder_days = 60
    rules.save()
    auditor = UserFactory(roles=["Auditor"])
    Accreditation.objects.filter(auditor=auditor).update(expires_on=days_from_today(45))
    with django_capture_on_commit_callbacks(execute=True):
        assert accreditation_reminders_send() == 1


def test_a_lapsed_auditors_open_assignments_are_reported_to_qa_leads_and_kept(
    django_capture_on_commit_callbacks, qa_lead, second_qa_lead, auditor
):
    plan = PlanFactory(system_id="EHC-777001", locality="Riverside")
    assignment = assignment_create(plan, auditor, DUE, qa_lead)
    idle = UserFactory(username="idle", roles=["Auditor"])
    expire(auditor)
    expire(idle)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        reported = accreditation_lapses_report()
    assert reported == [auditor]
    [message] = mail.outbox
    assert sorted(message.to) == sorted([qa_lead.email, second_qa_lead.email])
    assert message.subject == LAPSE_SUBJECT
    assert auditor.get_full_name() in message.body
    assert "1 plan to audit" in message.body
    assert idle.get_full_name() not in message.body
    # No child details, not even the plan's pseudonymous ID.
    assert "EHC-777001" not in message.body and "Riverside" not in message.body
    assert Assignment.objects.filter(pk=assignment.pk).exists()

    with django_capture_on_commit_callbacks(execute=True):
        assert accreditation_lapses_report() == []  # reported once
    assert len(mail.outbox) == 1


@pytest.mark.worker
@pytest.mark.skipif(
    not REDIS_URL and not os.environ.get("CI"),
    reason="needs REDIS_URL (a real Redis) for a real Celery worker",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_daily_jobs_run_on_a_real_worker(settings, worker, qa_lead):  # noqa: F811
    """Beat sends the tasks; a real worker runs them against the database and delivers the
    reminder to the auditor and the lapse report to the QA lead."""
    if test_database_url() is None:
        pytest.skip("the worker reaches the test database on PostgreSQL only")
    expiring = UserFactory(username="expiring", roles=["Auditor"])
    Accreditation.objects.filter(auditor=expiring).update(expires_on=days_from_today(20))
    lapsed = UserFactory(username="lapsedone", roles=["Auditor"])
    assignment_create(PlanFactory(), lapsed, DUE, qa_lead)
    expire(lapsed)
    # From here on mail goes through Celery, as in production (the test runner swaps in a
    # local-memory backend, which took the assignment email above).
    settings.EMAIL_BACKEND = "portal.mail.CeleryEmailBackend"

    accreditation_reminders.delay()
    accreditation_lapses.delay()

    files = wait_for_files(worker, count=2)
    delivered = "\n".join(path.read_text() for path in files)
    assert f"To: {expiring.email}" in delivered
    assert "accreditation expires on" in delivered
    assert f"To: {qa_lead.email}" in delivered
    assert lapsed.get_full_name() in delivered
    assert Accreditation.objects.get(auditor=expiring).reminder_sent_at is not None
    assert Accreditation.objects.get(auditor=lapsed).lapse_reported_at is not None
