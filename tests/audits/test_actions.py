"""Action plans: who may raise them, owners and their agency (and no one else) holding them
by object permission, moving them on with a dated history, stale and closed actions refused,
the re-audit loop closed by a new assignment, and the daily digest — one per person, with no
child details — delivered by a real Celery worker."""

import datetime

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from wagtail.models import ModelLogEntry

from portal.audits.action_selectors import actions_filtered, actions_visible_to, my_actions
from portal.audits.actions import (
    ACTION_CHANGED,
    ACTION_CLOSED,
    CANCEL_REASON_MISSING,
    DUE_IN_THE_PAST,
    NO_REAUDITOR,
    NOT_ALLOWED_TO_RAISE,
    NOT_YOURS,
    OWNER_NOT_ELIGIBLE,
    REAUDIT_NEEDS_PLAN,
    action_digests_send,
    action_raise,
    action_update,
)
from portal.audits.cycles import assignment_create
from portal.audits.models import Action, Assignment
from portal.audits.tasks import action_digests
from portal.training.models import Accreditation

from ..factories import UserFactory
from ..test_celery_worker import (  # noqa: F401 - `worker` is a fixture
    REDIS_URL,
    test_database_url,
    wait_for_files,
    worker,
)
from ..training.factories import audit_complete
from .factories import AuditCycleFactory, PlanFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate
SECRET_NOTE = "Sam's mother says the school refused the visit"


def days(n):
    return TODAY() + datetime.timedelta(days=n)


@pytest.fixture
def owner(db):
    return UserFactory(username="owner1", roles=["Action owner"], agency="health")


@pytest.fixture
def audit(rubric_page, auditor, qa_lead):
    cycle = AuditCycleFactory(rubric=rubric_page)
    plan = PlanFactory(system_id="EHC-555001")
    assignment = assignment_create(plan, auditor, days(10), qa_lead, cycle=cycle)
    return audit_complete(assignment, auditor, {"A": ["A1"], "J": None})


def raise_action(qa_lead, owner, audit=None, kind=Action.Kind.AMEND_PLAN, due=7, agency="health"):
    return action_raise(
        raised_by=qa_lead,
        description=f"Amend section A. {SECRET_NOTE}.",
        kind=kind,
        agency=agency,
        owner=owner,
        due_on=days(due),
        audit=audit,
    )


def test_qa_leads_and_moderators_raise_actions_auditors_do_not(qa_lead, owner, audit, auditor):
    moderator = UserFactory(roles=["Moderator"])
    assert raise_action(qa_lead, owner, audit).plan == audit.assignment.plan
    assert raise_action(moderator, owner, audit).raised_by == moderator
    with pytest.raises(PermissionDenied) as refused:
        raise_action(auditor, owner, audit)
    assert str(refused.value) == NOT_ALLOWED_TO_RAISE
    assert Action.objects.count() == 2
    assert ModelLogEntry.objects.filter(action="portal.action.raise").count() == 2


def test_a_raised_action_is_checked_before_anything_is_written(qa_lead, auditor):
    with pytest.raises(ValidationError) as refused:
        action_raise(
            raised_by=qa_lead,
            description="Re-audit",
            kind=Action.Kind.REAUDIT,
            agency="health",
            owner=auditor,  # an auditor is not an action owner
            due_on=days(-1),
        )
    assert refused.value.message_dict == {
        "owner": [OWNER_NOT_ELIGIBLE],
        "due_on": [DUE_IN_THE_PAST],
        "kind": [REAUDIT_NEEDS_PLAN],
    }
    assert not Action.objects.exists()


def test_the_owner_is_told_without_child_details(
    qa_lead, owner, audit, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        action = raise_action(qa_lead, owner, audit)
    [message] = mail.outbox
    assert message.to == [owner.email]
    assert action.reference in message.subject
    assert SECRET_NOTE not in message.body and "EHC-555001" not in message.body
    assert f"/actions/{action.pk}/" in message.body


def test_owners_and_their_agency_see_and_update_their_actions_and_no_one_else(
    qa_lead, owner, audit
):
    action = raise_action(qa_lead, owner, audit)
    colleague = UserFactory(roles=["Action owner"], agency="health")
    stranger = UserFactory(roles=["Action owner"], agency="education")
    assert list(my_actions(owner)) == [action]
    assert list(my_actions(colleague)) == [action]
    assert list(my_actions(stranger)) == []
    assert list(actions_visible_to(qa_lead)) == [action]

    with pytest.raises(PermissionDenied) as refused:
        action_update(action, stranger, action.version, status="done")
    assert str(refused.value) == NOT_YOURS
    action = action_update(action, colleague, action.version, status="in_progress", note="On it.")
    assert action.status == Action.Status.IN_PROGRESS


def test_the_history_records_each_change_with_date_and_author(qa_lead, owner, audit):
    action = raise_action(qa_lead, owner, audit)
    action = action_update(action, owner, action.version, status="in_progress", note="Drafted.")
    action = action_update(action, owner, action.version, status="in_progress", note="Sent.")
    action = action_update(action, owner, action.version, status="done", note="Issued.")
    history = list(action.updates.values_list("author__username", "status", "note"))
    assert history == [
        ("qalead1", "open", ""),
        ("owner1", "in_progress", "Drafted."),
        ("owner1", "in_progress", "Sent."),
        ("owner1", "done", "Issued."),
    ]
    assert action.closed_at is not None
    assert ModelLogEntry.objects.filter(action="portal.action.update").count() == 3


def test_cancelling_needs_a_reason_and_closed_actions_cannot_change(qa_lead, owner, audit):
    action = raise_action(qa_lead, owner, audit)
    with pytest.raises(ValidationError) as refused:
        action_update(action, owner, action.version, status="cancelled")
    assert refused.value.message_dict == {"cancel_reason": [CANCEL_REASON_MISSING]}
    action = action_update(
        action, owner, action.version, status="cancelled", cancel_reason="Plan withdrawn."
    )
    assert action.cancel_reason == "Plan withdrawn."
    with pytest.raises(PermissionDenied) as closed:
        action_update(action, owner, action.version, status="open", note="Reopen?")
    assert str(closed.value) == ACTION_CLOSED


def test_a_stale_update_is_refused_and_loses_nothing(qa_lead, owner, audit):
    action = raise_action(qa_lead, owner, audit)
    opened_at = action.version
    action_update(action, owner, opened_at, status="in_progress", note="First.")
    with pytest.raises(ValidationError) as changed:
        action_update(action, qa_lead, opened_at, status="done", note="Second.")
    assert changed.value.messages == [ACTION_CHANGED]
    action.refresh_from_db()
    assert action.status == Action.Status.IN_PROGRESS
    assert list(action.updates.values_list("note", flat=True)) == ["", "First."]


def test_a_done_reaudit_action_assigns_the_plan_again(qa_lead, owner, audit, auditor):
    action = raise_action(qa_lead, owner, audit, kind=Action.Kind.REAUDIT, due=30)
    action = action_update(action, owner, action.version, status="done", note="Amended.")
    reaudit = action.reaudit_assignment
    assert reaudit is not None and action.reaudit_problem is None
    assert (reaudit.plan, reaudit.auditor, reaudit.due_on) == (
        audit.assignment.plan,
        auditor,
        days(30),
    )
    assert reaudit.auditor.has_perm("audits.view_assignment", reaudit)
    assert action.updates.last().changes["reaudit_assignment"] == reaudit.pk


def test_the_reaudit_goes_to_another_accredited_auditor_or_is_reported(
    qa_lead, owner, audit, auditor
):
    Accreditation.objects.filter(auditor=auditor).update(expires_on=days(-1))
    other = UserFactory(username="auditor9", roles=["Auditor"])
    action = raise_action(qa_lead, owner, audit, kind=Action.Kind.REAUDIT, due=3)
    action = action_update(action, owner, action.version, status="done")
    assert action.reaudit_assignment.auditor == other
    assert action.reaudit_assignment.due_on == days(14)  # at least two weeks to do it

    Accreditation.objects.filter(auditor=other).update(expires_on=days(-1))
    again = raise_action(qa_lead, owner, audit, kind=Action.Kind.REAUDIT)
    again = action_update(again, owner, again.version, status="done")
    assert again.reaudit_assignment is None
    assert again.reaudit_problem == NO_REAUDITOR.format(system_id="EHC-555001")
    assert again.status == Action.Status.DONE
    assert Assignment.objects.filter(plan=audit.assignment.plan).count() == 2


def test_filters_narrow_the_list(qa_lead, owner, audit):
    late = raise_action(qa_lead, owner, audit, due=1)
    Action.objects.filter(pk=late.pk).update(due_on=days(-2))
    other = raise_action(qa_lead, qa_lead, None, kind=Action.Kind.TRAINING, agency="education")
    everything = actions_visible_to(qa_lead)
    assert list(actions_filtered(everything, overdue=True)) == [late]
    assert list(actions_filtered(everything, agency="education")) == [other]
    assert list(actions_filtered(everything, kind="training")) == [other]
    assert list(actions_filtered(everything, cycle=audit.assignment.cycle)) == [late]


def test_one_digest_per_person_and_an_overdue_summary_for_qa_leads(
    qa_lead, owner, audit, django_capture_on_commit_callbacks
):
    soon = raise_action(qa_lead, owner, audit, due=5)
    late = raise_action(qa_lead, owner, audit, due=1)
    Action.objects.filter(pk=late.pk).update(due_on=days(-3))
    raise_action(qa_lead, owner, audit, due=20)  # not due yet
    done = raise_action(qa_lead, owner, audit, due=2)
    action_update(done, owner, done.version, status="done")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert action_digests_send() == (1, 1)
    digest, summary = sorted(mail.outbox, key=lambda message: message.to != [owner.email])
    assert digest.to == [owner.email]
    assert soon.reference in digest.body and late.reference in digest.body
    assert done.reference not in digest.body
    assert "OVERDUE" in digest.body
    assert summary.to == [qa_lead.email]
    assert late.reference in summary.body and "Health: 1" in summary.body
    for message in (digest, summary):
        assert SECRET_NOTE not in message.body
        assert "EHC-555001" not in message.body


@pytest.mark.worker
@pytest.mark.skipif(
    not REDIS_URL and not __import__("os").environ.get("CI"),
    reason="needs REDIS_URL (a real Redis) for a real Celery worker",
)
# Serialized rollback puts back the rows migrations made, after this transactional test.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_digest_is_delivered_by_a_real_worker(
    settings,
    worker,  # noqa: F811 - the fixture imported above
    rubric_page,
    qa_lead,
    auditor,
):
    if test_database_url() is None:
        pytest.skip("the worker reaches the test database on PostgreSQL only")
    owner = UserFactory(username="owner2", roles=["Action owner"], agency="education")
    cycle = AuditCycleFactory(rubric=rubric_page)
    assignment = assignment_create(
        PlanFactory(system_id="EHC-777777"), auditor, days(9), qa_lead, cycle=cycle
    )
    audit = audit_complete(assignment, auditor, {"A": ["A1"], "J": None})
    first = raise_action(qa_lead, owner, audit, due=2, agency="education")
    second = raise_action(qa_lead, owner, audit, due=6, agency="education")
    settings.EMAIL_BACKEND = "portal.mail.CeleryEmailBackend"

    action_digests.delay()

    files = wait_for_files(worker)
    delivered = [path.read_text() for path in files]
    to_owner = [text for text in delivered if f"To: {owner.email}" in text]
    assert len(to_owner) == 1  # one digest per person
    assert first.reference in to_owner[0] and second.reference in to_owner[0]
    assert SECRET_NOTE not in to_owner[0] and "EHC-777777" not in to_owner[0]
