"""The audit log is complete: every way audits, assignments, cycles, conflicts, moderation,
actions, the plan register, accreditation, rubrics and published reports are created, changed
or deleted leaves a Wagtail log entry for that object, naming who did it (or, for what the
portal does by itself on a rule or a schedule, no one, under a label that says so) and when,
under a label the admin's history shows. A guard fails as soon as a write service appears that
the table below does not cover, so a new write path cannot go unlogged unnoticed."""

import datetime
import importlib
import inspect
import io
import json
import pkgutil
import re
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlparse

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm
from wagtail.log_actions import registry
from wagtail.models import ModelLogEntry, PageLogEntry

from portal.audits.audit_log import AUTOMATIC
from portal.audits.cycles import assignment_create, cycle_draw_sample
from portal.audits.models import (
    Action,
    Assignment,
    Audit,
    AuditCycle,
    ConflictDeclaration,
    ModerationCase,
    Plan,
    PlanImport,
    SampledPlan,
)
from portal.audits.plan_register import PLANS_IMPORTED_ACTION
from portal.framework.models import RubricPage
from portal.framework.services import rubric_export, rubric_import
from portal.local_offer.audit_log import GOVERNANCE_DRAFT_ACTION, REPORT_SNAPSHOT_ACTION
from portal.local_offer.governance import governance_index_restrict
from portal.local_offer.models import (
    GovernanceReportIndexPage,
    GovernanceReportPage,
    QualitySummaryPage,
    ReportSnapshot,
)
from portal.local_offer.tasks import governance_report_draft
from portal.training.models import (
    Accreditation,
    CalibrationAttempt,
    CalibrationReference,
    Invitation,
    KnowledgeCheckAttempt,
    ModuleCompletion,
)
from portal.training.services import calibration_start, invitation_create
from portal.training.tasks import accreditation_lapses, accreditation_reminders

from .audits.factories import AuditCycleFactory, PlanFactory
from .factories import UserFactory
from .page_factories import LocalOfferIndexPageFactory
from .training.factories import (
    QUESTIONS,
    CalibrationCasePageFactory,
    TrainingIndexPageFactory,
    TrainingModulePageFactory,
    case_with_reference,
)

pytestmark = pytest.mark.django_db

# Free text that could say who a child is. Auditors, moderators and action owners type such
# things into notes; none of it may reach a log entry.
CHILD_TEXT = "Sam Jones, born 3 May 2015, at Elm Road School"
GOOD = {"A": ["A1"], "J": None}  # SMALL_RUBRIC: good
WEAK = {"A": [], "J": []}  # inadequate, so the plan is moderated
REFERENCE = {"A": ["A1", "A2"], "J": None}  # a calibration reference, matched to pass
DUE = datetime.date(2026, 12, 18)
PASSWORD = "trains-and-timetables-42"


# The world each write path runs in


@dataclass
class World:
    """The site, a published rubric, a cycle and one person in each role; `begin()` marks
    where the write under test starts (anything before it is setting the scene)."""

    home: object
    rubric: RubricPage
    cycle: AuditCycle
    qa_lead: object
    second_qa_lead: object
    auditor: object
    second_auditor: object
    moderator: object
    owner: object
    administrator: object
    tmp_path: object
    capture: object
    started: datetime.datetime | None = None
    client: Client = field(default_factory=Client)

    def begin(self):
        self.started = timezone.now()

    def after_commit(self):
        """Run what waits for the transaction to commit (Celery tasks, emails) at the end of
        the block, as it would run after a real request."""
        return self.capture(execute=True)

    def signed_in(self, user):
        self.client.force_login(user)
        return self.client

    def post(self, user, url, data=None, expect=302, **kwargs):
        """POST as `user`, as their browser would, and check the screen accepted it."""
        response = self.signed_in(user).post(url, data or {}, **kwargs)
        assert response.status_code == expect, response.content.decode()[:2000]
        return response

    def assignment(self, auditor=None, plan=None, cycle=None):
        """A plan given to an auditor by the QA lead, as the assignment service does it."""
        return assignment_create(
            plan or PlanFactory(), auditor or self.auditor, DUE, self.qa_lead, cycle or self.cycle
        )


@dataclass(frozen=True)
class Logged:
    """A log entry the path must leave: for `instance`, with `action`, by `actor` (None for
    the portal's own acts, whose label must then say so)."""

    instance: object
    action: str
    actor: object


@dataclass(frozen=True)
class WritePath:
    """One way of writing: a name, the service and view functions it goes through, and the
    function that performs it and names the entries it must leave."""

    name: str
    covers: tuple
    perform: object


@pytest.fixture
def world(home_page, rubric_page, tmp_path, settings, django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path / "media"
    return World(
        home=home_page,
        rubric=rubric_page,
        cycle=AuditCycleFactory(rubric=rubric_page, moderation_share=0),
        qa_lead=UserFactory(username="qalead1", roles=["QA lead"]),
        second_qa_lead=UserFactory(username="qalead2", roles=["QA lead"]),
        auditor=UserFactory(username="auditor1", roles=["Auditor"], agency="education"),
        second_auditor=UserFactory(username="auditor2", roles=["Auditor"], agency="health"),
        moderator=UserFactory(username="moderator1", roles=["Moderator"]),
        owner=UserFactory(username="owner1", roles=["Action owner"], agency="health"),
        administrator=UserFactory(username="admin1", is_superuser=True),
        tmp_path=tmp_path,
        capture=django_capture_on_commit_callbacks,
    )


# Steps shared by several paths


def audit_opened(world, assignment, user=None):
    """The auditor opens the audit form, which starts the audit."""
    user = user or assignment.auditor
    response = world.signed_in(user).get(reverse("audit_overview", args=[assignment.pk]))
    assert response.status_code == 200
    return Audit.objects.get(assignment=assignment)


def section_saved(world, audit, key, met):
    """One section ticked (None: not applicable) with a note, through the audit form."""
    audit.refresh_from_db()
    data = {"version": audit.version, "note": CHILD_TEXT, "then": "continue"}
    if met is None:
        data["not_applicable"] = "on"
    else:
        data["met"] = met
    assignment = audit.assignment
    world.post(assignment.auditor, reverse("audit_section", args=[assignment.pk, key]), data)


def audit_recorded(world, assignment, ticks):
    """Every section of the assignment's audit ticked through the form; not yet submitted."""
    audit = audit_opened(world, assignment)
    for key, met in ticks.items():
        section_saved(world, audit, key, met)
    audit.refresh_from_db()
    return audit


def audit_submitted_through_form(world, audit):
    audit.refresh_from_db()
    world.post(
        audit.assignment.auditor,
        reverse("audit_review", args=[audit.assignment_id]),
        {"version": audit.version},
    )
    audit.refresh_from_db()
    assert audit.status == Audit.Status.SUBMITTED
    return audit


def submitted_audit(world, ticks, auditor=None, plan=None):
    """A plan audited and submitted through the audit form, with recommendations."""
    assignment = world.assignment(auditor=auditor, plan=plan)
    audit = audit_recorded(world, assignment, ticks)
    world.post(
        assignment.auditor,
        reverse("audit_findings", args=[assignment.pk]),
        {
            "version": audit.version,
            "strengths": CHILD_TEXT,
            "recommendations": CHILD_TEXT,
            "summary": CHILD_TEXT,
            "then": "continue",
        },
    )
    return audit_submitted_through_form(world, audit)


def in_days(days):
    return timezone.localdate() + datetime.timedelta(days=days)


def action_raised(world, kind=Action.Kind.AMEND_PLAN, audit=None):
    """An action raised by the QA lead from an audit's recommendations, on the raise form."""
    audit = audit or submitted_audit(world, GOOD)
    due = in_days(30)
    world.post(
        world.qa_lead,
        f"{reverse('action_raise')}?audit={audit.pk}",
        {
            "description": CHILD_TEXT,
            "kind": kind,
            "agency": "health",
            "owner": world.owner.pk,
            "due_on_day": due.day,
            "due_on_month": due.month,
            "due_on_year": due.year,
        },
    )
    return Action.objects.get(audit=audit)


def action_moved_on(world, user, action, status, note="", cancel_reason=""):
    action.refresh_from_db()
    world.post(
        user,
        reverse("action_detail", args=[action.pk]),
        {
            "status": status,
            "note": note,
            "cancel_reason": cancel_reason,
            "version": action.version,
        },
    )
    action.refresh_from_db()
    assert action.status == status
    return action


def submitted_for_approval(page, user):
    """The page's latest draft sent to the approval workflow by `user` (a QA lead)."""
    page.get_latest_revision_as_object().save_revision(user=user)
    page.get_workflow().start(page, user)
    page.refresh_from_db()
    assert page.workflow_in_progress
    return page


def approved(world, page):
    """The other QA lead approves in the admin, which publishes the page."""
    task_state = page.current_workflow_task_state
    with world.after_commit():
        world.post(
            world.second_qa_lead,
            reverse("wagtailadmin_pages:workflow_action", args=[page.pk, "approve", task_state.pk]),
            {"comment": "Checked."},
        )
    page.refresh_from_db()
    assert page.live
    return page


def moderation_case(world):
    """A weakly graded audit, which put its plan in the moderation queue."""
    audit = submitted_audit(world, WEAK)
    return ModerationCase.objects.get(audits=audit)


def moderation_decided(world, case, then):
    case.refresh_from_db()
    world.post(
        world.moderator,
        reverse("moderation_case", args=[case.pk]),
        {"grade": "good", "rationale": CHILD_TEXT, "version": case.version, "then": then},
    )
    case.refresh_from_db()
    return case


def register_file(rows):
    header = "system_id,key_stage,primary_need,setting_type,locality,plan_stage,date_issued"
    return "\n".join([header, *(",".join(row) for row in rows)]).encode()


def plan_edit_form(plan, **changes):
    return {
        "system_id": plan.system_id,
        "key_stage": plan.key_stage,
        "primary_need": plan.primary_need,
        "setting_type": plan.setting_type,
        "locality": plan.locality,
        "plan_stage": plan.plan_stage,
        "date_issued": plan.date_issued.isoformat(),
        **changes,
    }


def cycle_form(world, **changes):
    return {
        "name": "Spring 2027: annual reviews",
        "tier": "annual_reviews",
        "theme": "",
        "starts_on": "2027-03-01",
        "ends_on": "2027-05-31",
        "rubric": str(world.rubric.pk),
        "sample_size": "20",
        "sample_share": "",
        "stratify_by": ["key_stage"],
        "double_audit_share": "0.2",
        **changes,
    }


def learner_with_case_ready(world):
    """An unaccredited auditor and a calibration case with the QA lead's reference."""
    index = TrainingIndexPageFactory(parent=world.home)
    case_with_reference(index, world.qa_lead, REFERENCE, title="Calibration case 1")
    return UserFactory(username="learner1", roles=["Auditor"], agency="education", accredited=False)


# Audits


def audit_started(world):
    assignment = world.assignment()
    world.begin()
    audit = audit_opened(world, assignment)
    return [Logged(audit, "portal.audit.start", world.auditor)]


def audit_section_saved(world):
    audit = audit_opened(world, world.assignment())
    world.begin()
    section_saved(world, audit, "A", ["A1"])
    return [Logged(audit, "portal.audit.save", world.auditor)]


def audit_findings_saved(world):
    assignment = world.assignment()
    audit = audit_opened(world, assignment)
    world.begin()
    world.post(
        world.auditor,
        reverse("audit_findings", args=[assignment.pk]),
        {
            "version": audit.version,
            "strengths": CHILD_TEXT,
            "recommendations": CHILD_TEXT,
            "summary": CHILD_TEXT,
            "then": "later",
        },
    )
    return [Logged(audit, "portal.audit.save", world.auditor)]


def audit_submitted(world):
    audit = audit_recorded(world, world.assignment(), GOOD)
    world.begin()
    audit_submitted_through_form(world, audit)
    return [Logged(audit, "portal.audit.submit", world.auditor)]


def audit_edited_by_an_administrator(world):
    audit = audit_opened(world, world.assignment())
    world.begin()
    world.post(world.administrator, reverse("audits:edit", args=[audit.pk]), {"summary": "Ok."})
    return [Logged(audit, "wagtail.edit", world.administrator)]


def audit_deleted_by_an_administrator(world):
    audit = audit_opened(world, world.assignment())
    world.begin()
    world.post(world.administrator, reverse("audits:delete", args=[audit.pk]))
    assert not Audit.objects.filter(pk=audit.pk).exists()
    return [Logged(audit, "wagtail.delete", world.administrator)]


# Assignments and cycles


def plan_assigned(world):
    plan = PlanFactory()
    world.begin()
    assignment = assignment_create(plan, world.auditor, DUE, world.qa_lead, world.cycle)
    return [Logged(assignment, "portal.assignment.create", world.qa_lead)]


def cycle_sample_assigned(world):
    PlanFactory.create_batch(world.cycle.sample_size, date_issued=world.cycle.starts_on)
    cycle_draw_sample(world.cycle, user=world.qa_lead)
    world.begin()
    world.post(
        world.qa_lead,
        reverse("cycles:assign", args=[world.cycle.pk]),
        {"auditors": [world.auditor.pk, world.second_auditor.pk], "due_on": DUE.isoformat()},
        expect=200,
    )
    assignments = list(Assignment.objects.filter(cycle=world.cycle))
    assert len(assignments) == world.cycle.sample_size
    return [Logged(item, "portal.assignment.create", world.qa_lead) for item in assignments]


def cycle_created(world):
    world.begin()
    world.post(world.qa_lead, reverse("cycles:add"), cycle_form(world))
    cycle = AuditCycle.objects.get(name="Spring 2027: annual reviews")
    return [Logged(cycle, "wagtail.create", world.qa_lead)]


def cycle_edited(world):
    world.begin()
    world.post(
        world.qa_lead,
        reverse("cycles:edit", args=[world.cycle.pk]),
        cycle_form(world, name=world.cycle.name, sample_size="30"),
    )
    world.cycle.refresh_from_db()
    assert world.cycle.sample_size == 30
    return [Logged(world.cycle, "wagtail.edit", world.qa_lead)]


def cycle_deleted_by_an_administrator(world):
    cycle = AuditCycleFactory(rubric=world.rubric)
    world.begin()
    world.post(world.administrator, reverse("cycles:delete", args=[cycle.pk]))
    assert not AuditCycle.objects.filter(pk=cycle.pk).exists()
    return [Logged(cycle, "wagtail.delete", world.administrator)]


def cycle_sample_drawn(world):
    PlanFactory.create_batch(5, date_issued=world.cycle.starts_on)
    world.begin()
    world.post(world.qa_lead, reverse("cycles:draw_sample", args=[world.cycle.pk]))
    assert SampledPlan.objects.filter(cycle=world.cycle).exists()
    return [Logged(world.cycle, "portal.cycle.draw_sample", world.qa_lead)]


def conflict_declared(world):
    plan = PlanFactory()
    world.begin()
    world.post(
        world.qa_lead,
        reverse("conflicts:add"),
        {"auditor": world.auditor.pk, "plan_system_id": plan.system_id, "reason": "contributed"},
    )
    declaration = ConflictDeclaration.objects.get(plan=plan)
    return [Logged(declaration, "portal.conflict.declare", world.qa_lead)]


def conflict_deleted_by_an_administrator(world):
    declaration = ConflictDeclaration.objects.create(
        auditor=world.auditor, plan=PlanFactory(), reason="contributed"
    )
    world.begin()
    world.post(world.administrator, reverse("conflicts:delete", args=[declaration.pk]))
    assert not ConflictDeclaration.objects.filter(pk=declaration.pk).exists()
    return [Logged(declaration, "wagtail.delete", world.administrator)]


# Moderation


def plan_queued_for_moderation(world):
    audit = audit_recorded(world, world.assignment(), WEAK)
    world.begin()
    audit_submitted_through_form(world, audit)
    case = ModerationCase.objects.get(audits=audit)
    # The portal's moderation rules queue the plan, not the auditor.
    return [Logged(case, "portal.moderation.queue", None)]


def second_audit_joins_the_case(world):
    plan = PlanFactory()
    SampledPlan.objects.create(cycle=world.cycle, plan=plan, double_audit=True)
    first = submitted_audit(world, WEAK, plan=plan)  # a weak grade opens the case at once
    case = ModerationCase.objects.get(audits=first)
    second = audit_recorded(world, world.assignment(auditor=world.second_auditor, plan=plan), GOOD)
    world.begin()
    audit_submitted_through_form(world, second)
    assert case.audits.filter(pk=second.pk).exists()
    return [Logged(case, "portal.moderation.audit_added", None)]


def moderation_recorded(world):
    case = moderation_case(world)
    world.begin()
    moderation_decided(world, case, "draft")
    assert case.status == ModerationCase.Status.IN_PROGRESS
    return [Logged(case, "portal.moderation.record", world.moderator)]


def moderation_closed(world):
    case = moderation_case(world)
    world.begin()
    moderation_decided(world, case, "close")
    assert case.status == ModerationCase.Status.CLOSED
    return [Logged(case, "portal.moderation.close", world.moderator)]


# Actions


def action_raised_from_an_audit(world):
    audit = submitted_audit(world, GOOD)
    world.begin()
    action = action_raised(world, audit=audit)
    return [Logged(action, "portal.action.raise", world.qa_lead)]


def action_updated(world):
    action = action_raised(world)
    world.begin()
    action_moved_on(world, world.owner, action, Action.Status.IN_PROGRESS, note=CHILD_TEXT)
    return [Logged(action, "portal.action.update", world.owner)]


def action_done(world):
    action = action_raised(world)
    world.begin()
    action_moved_on(world, world.owner, action, Action.Status.DONE)
    return [Logged(action, "portal.action.update", world.owner)]


def action_cancelled(world):
    action = action_raised(world)
    world.begin()
    action_moved_on(world, world.qa_lead, action, Action.Status.CANCELLED, cancel_reason=CHILD_TEXT)
    return [Logged(action, "portal.action.update", world.qa_lead)]


def reaudit_assigned(world):
    action = action_raised(world, kind=Action.Kind.REAUDIT)
    world.begin()
    action_moved_on(world, world.owner, action, Action.Status.DONE)
    assert action.reaudit_assignment is not None
    return [
        Logged(action, "portal.action.update", world.owner),
        Logged(action.reaudit_assignment, "portal.assignment.create", world.owner),
    ]


def reaudit_without_an_auditor(world):
    action = action_raised(world, kind=Action.Kind.REAUDIT)
    # Nobody may take the plan again: every auditor's account is switched off.
    for auditor in (world.auditor, world.second_auditor):
        auditor.is_active = False
        auditor.save(update_fields=["is_active"])
    world.begin()
    action_moved_on(world, world.owner, action, Action.Status.DONE)
    assert action.reaudit_assignment is None
    return [
        Logged(action, "portal.action.update", world.owner),
        Logged(action, "portal.action.reaudit_unassigned", world.owner),
    ]


# The plan register


def register_imported_in_the_admin(world):
    existing = PlanFactory(system_id="EHC-900001", locality="North")
    content = register_file(
        [
            ["EHC-900001", "KS2", "ASD", "mainstream", "South", "new_plan", "2025-03-14"],
            ["EHC-900002", "KS3", "SLCN", "special", "East", "annual_review", "2024-11-02"],
        ]
    )
    world.post(
        world.qa_lead,
        reverse("plan_import:upload"),
        {"file": SimpleUploadedFile("register.csv", content)},
    )
    plan_import = PlanImport.objects.get()
    world.begin()
    world.post(world.qa_lead, reverse("plan_import:confirm", args=[plan_import.pk]))
    existing.refresh_from_db()
    assert existing.locality == "South"  # updated
    assert Plan.objects.filter(system_id="EHC-900002").exists()  # created
    return [Logged(plan_import, PLANS_IMPORTED_ACTION, world.qa_lead)]


def register_imported_from_the_command_line(world):
    path = world.tmp_path / "register.csv"
    path.write_bytes(
        register_file(
            [["EHC-900003", "KS1", "ASD", "mainstream", "North", "new_plan", "2025-01-10"]]
        )
    )
    world.begin()
    call_command("import_plans", str(path), "--user", world.qa_lead.username, stdout=io.StringIO())
    assert Plan.objects.filter(system_id="EHC-900003").exists()
    return [Logged(PlanImport.objects.get(), PLANS_IMPORTED_ACTION, world.qa_lead)]


def plan_edited_by_an_administrator(world):
    plan = PlanFactory()
    world.begin()
    world.post(
        world.administrator,
        reverse("plans:edit", args=[plan.pk]),
        plan_edit_form(plan, locality="West"),
    )
    plan.refresh_from_db()
    assert plan.locality == "West"
    return [Logged(plan, "wagtail.edit", world.administrator)]


def plan_deleted_by_an_administrator(world):
    plan = PlanFactory()
    world.begin()
    world.post(world.administrator, reverse("plans:delete", args=[plan.pk]))
    assert not Plan.objects.filter(pk=plan.pk).exists()
    return [Logged(plan, "wagtail.delete", world.administrator)]


# Training and accreditation


def auditor_invited(world):
    world.begin()
    world.post(
        world.qa_lead,
        reverse("training_invite"),
        {
            "first_name": "Robin",
            "last_name": "Shaw",
            "email": "robin.shaw@example.gov.uk",
            "agency": "health",
        },
    )
    invitation = Invitation.objects.get(email="robin.shaw@example.gov.uk")
    return [Logged(invitation, "portal.training.invite", world.qa_lead)]


def invitation_accepted(world):
    invitation = invitation_create(
        email="robin.shaw@example.gov.uk",
        first_name="Robin",
        last_name="Shaw",
        agency="health",
        invited_by=world.qa_lead,
    )
    client = Client()
    link = urlparse(invitation.link).path
    assert client.get(link).status_code == 200
    world.begin()
    response = client.post(link, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert response.status_code == 302
    invitation.refresh_from_db()
    return [Logged(invitation, "portal.training.invitation_accept", invitation.user)]


def module_completed(world):
    module = TrainingModulePageFactory(parent=TrainingIndexPageFactory(parent=world.home))
    world.begin()
    world.post(world.auditor, reverse("module_complete", args=[module.pk]))
    completion = ModuleCompletion.objects.get(module=module, learner=world.auditor)
    return [Logged(completion, "portal.training.module_complete", world.auditor)]


def knowledge_check_taken(world):
    index = TrainingIndexPageFactory(parent=world.home)
    module = TrainingModulePageFactory(parent=index, questions=QUESTIONS, pass_mark=50)
    module.save_revision().publish()  # tries are recorded against the live revision
    first, second = (block.id for block in module.questions)
    world.begin()
    world.post(
        world.auditor, reverse("knowledge_check", args=[module.pk]), {first: ["1"], second: ["1"]}
    )
    attempt = KnowledgeCheckAttempt.objects.get(module=module, learner=world.auditor)
    assert attempt.passed
    completion = ModuleCompletion.objects.get(module=module, learner=world.auditor)
    return [
        Logged(attempt, "portal.training.knowledge_check", world.auditor),
        Logged(completion, "portal.training.module_complete", world.auditor),
    ]


def calibration_reference_started(world):
    case = CalibrationCasePageFactory(parent=TrainingIndexPageFactory(parent=world.home))
    world.begin()
    world.post(world.qa_lead, reverse("calibration_reference_record", args=[case.pk]))
    reference = CalibrationReference.objects.get(case=case)
    return [
        Logged(reference, "portal.training.reference_start", world.qa_lead),
        Logged(reference.assignment, "portal.training.calibration_assign", world.qa_lead),
    ]


def calibration_reference_recorded(world):
    case = CalibrationCasePageFactory(parent=TrainingIndexPageFactory(parent=world.home))
    world.post(world.qa_lead, reverse("calibration_reference_record", args=[case.pk]))
    reference = CalibrationReference.objects.get(case=case)
    audit = audit_recorded(world, reference.assignment, REFERENCE)
    world.begin()
    audit_submitted_through_form(world, audit)
    return [
        Logged(audit, "portal.audit.submit", world.qa_lead),
        Logged(reference, "portal.training.reference_record", world.qa_lead),
    ]


def calibration_started(world):
    learner = learner_with_case_ready(world)
    world.begin()
    world.post(learner, reverse("calibration_start"))
    attempt = CalibrationAttempt.objects.get(learner=learner)
    return [
        Logged(attempt, "portal.training.calibration_start", learner),
        Logged(attempt.assignment, "portal.training.calibration_assign", learner),
    ]


def accreditation_granted(world):
    learner = learner_with_case_ready(world)
    attempt = calibration_start(learner)
    audit = audit_recorded(world, attempt.assignment, REFERENCE)
    world.begin()
    audit_submitted_through_form(world, audit)
    accreditation = Accreditation.objects.get(auditor=learner)
    return [
        Logged(attempt, "portal.training.calibration_mark", learner),
        Logged(accreditation, "portal.training.accredit", learner),
    ]


def expiring_accreditation(world, **user_fields):
    auditor = UserFactory(roles=["Auditor"], accredited=False, **user_fields)
    return Accreditation.objects.create(auditor=auditor, expires_on=in_days(5))


def expiry_reminded(world):
    accreditation = expiring_accreditation(world)
    world.begin()
    accreditation_reminders.delay()  # the daily Celery beat job
    return [Logged(accreditation, "portal.training.reminder", None)]


def expiry_reminder_not_needed(world):
    accreditation = expiring_accreditation(world, is_active=False)
    world.begin()
    accreditation_reminders.delay()
    accreditation.refresh_from_db()
    assert accreditation.reminder_sent_at is not None
    return [Logged(accreditation, "portal.training.reminder_not_needed", None)]


def lapsed_accreditation(world, open_plans):
    auditor = UserFactory(roles=["Auditor"], accredited=False)
    for _ in range(open_plans):
        assignment = Assignment.objects.create(plan=PlanFactory(), auditor=auditor, due_on=DUE)
        assign_perm("audits.view_assignment", auditor, assignment)
    return Accreditation.objects.create(auditor=auditor, expires_on=in_days(-1))


def lapse_reported(world):
    accreditation = lapsed_accreditation(world, open_plans=2)
    world.begin()
    accreditation_lapses.delay()  # the daily Celery beat job
    return [Logged(accreditation, "portal.training.lapse", None)]


def lapse_noted(world):
    accreditation = lapsed_accreditation(world, open_plans=0)
    world.begin()
    accreditation_lapses.delay()
    accreditation.refresh_from_db()
    assert accreditation.lapse_reported_at is not None
    return [Logged(accreditation, "portal.training.lapse_noted", None)]


# Rubrics


def rubric_file(data, name="rubric.json"):
    return SimpleUploadedFile(name, json.dumps(data).encode(), content_type="application/json")


def rubric_imported(world):
    data = rubric_export(world.rubric)
    data["sections"][0]["criteria"][1]["weight"] = 2
    world.begin()
    world.post(
        world.qa_lead, reverse("rubric_import", args=[world.rubric.pk]), {"file": rubric_file(data)}
    )
    world.rubric.refresh_from_db()
    revision = world.rubric.get_latest_revision()
    entry = PageLogEntry.objects.get(page=world.rubric, action="wagtail.edit", revision=revision)
    assert entry.user == world.qa_lead
    return [Logged(world.rubric, "wagtail.edit", world.qa_lead)]


def rubric_created_by_import(world):
    world.begin()
    world.post(
        world.qa_lead,
        reverse("rubric_import_new"),
        {"title": "Shared rubric", "file": rubric_file(rubric_export(world.rubric))},
    )
    rubric = RubricPage.objects.get(title="Shared rubric")
    return [Logged(rubric, "wagtail.edit", world.qa_lead)]


def rubric_published_after_approval(world):
    data = rubric_export(world.rubric)
    data["thresholds"]["good"] = "0.70"
    rubric_import(world.rubric, data, user=world.qa_lead)
    page = submitted_for_approval(RubricPage.objects.get(pk=world.rubric.pk), world.qa_lead)
    world.begin()
    approved(world, page)
    assert page.threshold_good == Decimal("0.70")
    return [Logged(page, "wagtail.publish", world.second_qa_lead)]


# Reports


def summary_published(world):
    local_offer = LocalOfferIndexPageFactory(parent=world.home, slug="local-offer")
    page = QualitySummaryPage(
        title="Autumn 2026",
        slug="autumn-2026",
        period_start=datetime.date(2026, 9, 1),
        period_end=timezone.localdate(),
        summary="How good were the plans we checked this autumn?",
        what_we_found="<p>Most plans were good.</p>",
        what_we_are_doing="<p>Training for writers of section F.</p>",
        what_the_grades_mean="<p>Good means the plan does what the law asks.</p>",
        feedback="<p>Email the SEND team.</p>",
        live=False,
    )
    local_offer.add_child(instance=page)
    submitted_for_approval(page, world.qa_lead)
    world.begin()
    approved(world, page)
    snapshot = ReportSnapshot.objects.get(revision=page.live_revision)
    return [
        Logged(page, "wagtail.publish", world.second_qa_lead),
        Logged(snapshot, REPORT_SNAPSHOT_ACTION, None),
    ]


def governance_section(world):
    index = GovernanceReportIndexPage(title="Governance reports", slug="governance")
    world.home.add_child(instance=index)
    index.save_revision().publish()
    governance_index_restrict(index)
    return index


def governance_report_published(world):
    page = GovernanceReportPage(
        title="Autumn 2026 governance",
        slug="autumn-2026-governance",
        period_start=datetime.date(2026, 9, 1),
        period_end=datetime.date(2026, 11, 30),
        introduction="<p>For the board meeting in December.</p>",
        commentary="<p>Section F is still the weakest part of plans.</p>",
        live=False,
    )
    governance_section(world).add_child(instance=page)
    submitted_for_approval(page, world.qa_lead)
    world.begin()
    approved(world, page)
    snapshot = ReportSnapshot.objects.get(revision=page.live_revision)
    return [
        Logged(page, "wagtail.publish", world.second_qa_lead),
        Logged(snapshot, REPORT_SNAPSHOT_ACTION, None),
    ]


def governance_report_drafted(world):
    index = governance_section(world)
    world.begin()
    governance_report_draft.delay()  # the daily Celery beat job
    draft = GovernanceReportPage.objects.child_of(index).get()
    assert not draft.live
    return [Logged(draft, GOVERNANCE_DRAFT_ACTION, None)]


# The table: every write path, what it goes through, and the entries it must leave.

AUDITS = "portal.audits"
TRAINING = "portal.training"
WRITE_PATHS = [
    WritePath(
        "an auditor opens an audit, which starts it",
        (f"{AUDITS}.recording.audit_start",),
        audit_started,
    ),
    WritePath(
        "an auditor saves a section",
        (f"{AUDITS}.recording.audit_save_section",),
        audit_section_saved,
    ),
    WritePath(
        "an auditor saves the findings",
        (f"{AUDITS}.recording.audit_save_findings",),
        audit_findings_saved,
    ),
    WritePath("an auditor submits", (f"{AUDITS}.recording.audit_submit",), audit_submitted),
    WritePath("an administrator edits an audit", (), audit_edited_by_an_administrator),
    WritePath("an administrator deletes an audit", (), audit_deleted_by_an_administrator),
    WritePath(
        "a QA lead gives one plan to an auditor",
        (f"{AUDITS}.cycles.assignment_create",),
        plan_assigned,
    ),
    WritePath(
        "a QA lead shares a cycle's sample among auditors",
        (f"{AUDITS}.cycles.cycle_assign",),
        cycle_sample_assigned,
    ),
    WritePath("a QA lead creates a cycle", (), cycle_created),
    WritePath("a QA lead edits a cycle", (), cycle_edited),
    WritePath("an administrator deletes a cycle", (), cycle_deleted_by_an_administrator),
    WritePath(
        "a QA lead draws a cycle's sample",
        (f"{AUDITS}.cycles.cycle_draw_sample",),
        cycle_sample_drawn,
    ),
    WritePath(
        "a QA lead records a conflict of interest",
        (f"{AUDITS}.cycles.conflict_declare",),
        conflict_declared,
    ),
    WritePath(
        "an administrator deletes a conflict of interest",
        (),
        conflict_deleted_by_an_administrator,
    ),
    WritePath(
        "a weak audit puts its plan in the moderation queue",
        (f"{AUDITS}.moderation.moderation_queue_update",),
        plan_queued_for_moderation,
    ),
    WritePath(
        "the second audit of a double-audited plan joins its case",
        (f"{AUDITS}.moderation.moderation_queue_update",),
        second_audit_joins_the_case,
    ),
    WritePath(
        "a moderator saves a draft decision",
        (f"{AUDITS}.moderation.moderation_case_record",),
        moderation_recorded,
    ),
    WritePath(
        "a moderator closes a case",
        (f"{AUDITS}.moderation.moderation_case_record",),
        moderation_closed,
    ),
    WritePath(
        "a QA lead raises an action from an audit",
        (f"{AUDITS}.actions.action_raise", f"{AUDITS}.action_views.action_raise"),
        action_raised_from_an_audit,
    ),
    WritePath(
        "an owner moves an action on with a note",
        (f"{AUDITS}.actions.action_update",),
        action_updated,
    ),
    WritePath(
        "an owner closes an action as done", (f"{AUDITS}.actions.action_update",), action_done
    ),
    WritePath(
        "a QA lead cancels an action", (f"{AUDITS}.actions.action_update",), action_cancelled
    ),
    WritePath(
        "a done re-audit action gives the plan to an auditor again",
        (f"{AUDITS}.actions.action_update", f"{AUDITS}.cycles.assignment_create"),
        reaudit_assigned,
    ),
    WritePath(
        "a done re-audit action finds nobody to take the plan",
        (f"{AUDITS}.actions.action_update",),
        reaudit_without_an_auditor,
    ),
    WritePath(
        "a QA lead uploads a register file and confirms the import",
        (
            f"{AUDITS}.plan_register.plans_import_start",
            f"{AUDITS}.plan_register.plan_import_confirm",
            f"{AUDITS}.plan_register.plan_import_execute",
            f"{AUDITS}.plan_register.plans_import",
        ),
        register_imported_in_the_admin,
    ),
    WritePath(
        "a QA lead imports a register file from the command line",
        (f"{AUDITS}.plan_register.plans_import",),
        register_imported_from_the_command_line,
    ),
    WritePath("an administrator edits a plan", (), plan_edited_by_an_administrator),
    WritePath("an administrator deletes a plan", (), plan_deleted_by_an_administrator),
    WritePath(
        "a QA lead invites an auditor",
        (f"{TRAINING}.services.invitation_create",),
        auditor_invited,
    ),
    WritePath(
        "an invited auditor accepts",
        (f"{TRAINING}.services.invitation_accept", f"{TRAINING}.views.invitation_accept"),
        invitation_accepted,
    ),
    WritePath(
        "a learner completes a module",
        (f"{TRAINING}.services.module_complete", f"{TRAINING}.views.module_complete"),
        module_completed,
    ),
    WritePath(
        "a learner passes a knowledge check",
        (f"{TRAINING}.services.knowledge_check_take",),
        knowledge_check_taken,
    ),
    WritePath(
        "a QA lead starts a calibration reference",
        (f"{TRAINING}.services.calibration_reference_start",),
        calibration_reference_started,
    ),
    WritePath(
        "a QA lead submits a calibration reference",
        (f"{AUDITS}.recording.audit_submit",),
        calibration_reference_recorded,
    ),
    WritePath(
        "a learner starts calibration",
        (f"{TRAINING}.services.calibration_start", f"{TRAINING}.views.calibration_start"),
        calibration_started,
    ),
    WritePath(
        "a learner passes calibration and is accredited",
        (f"{TRAINING}.services.calibration_mark", f"{TRAINING}.services.accreditation_grant"),
        accreditation_granted,
    ),
    WritePath(
        "the daily job reminds an auditor of expiry",
        (f"{TRAINING}.services.accreditation_reminders_send",),
        expiry_reminded,
    ),
    WritePath(
        "the daily job finds no reminder is needed",
        (f"{TRAINING}.services.accreditation_reminders_send",),
        expiry_reminder_not_needed,
    ),
    WritePath(
        "the daily job reports a lapsed auditor holding plans",
        (f"{TRAINING}.services.accreditation_lapses_report",),
        lapse_reported,
    ),
    WritePath(
        "the daily job notes a lapse with nothing to report",
        (f"{TRAINING}.services.accreditation_lapses_report",),
        lapse_noted,
    ),
    WritePath(
        "a QA lead imports a rubric file as a new revision",
        ("portal.framework.services.rubric_import", "portal.framework.views.import_view"),
        rubric_imported,
    ),
    WritePath(
        "a QA lead imports a rubric file as a new rubric",
        ("portal.framework.services.rubric_create", "portal.framework.views.import_new_view"),
        rubric_created_by_import,
    ),
    WritePath(
        "another QA lead approves a rubric revision, publishing it",
        ("portal.framework.workflows.publish_approved_revision",),
        rubric_published_after_approval,
    ),
    WritePath(
        "another QA lead approves a quality summary, publishing it and taking its figures",
        (
            "portal.framework.workflows.publish_approved_revision",
            "portal.local_offer.snapshots.report_snapshot_take",
        ),
        summary_published,
    ),
    WritePath(
        "another QA lead approves a governance report, publishing it and taking its figures",
        (
            "portal.framework.workflows.publish_approved_revision",
            "portal.local_offer.snapshots.report_snapshot_take",
        ),
        governance_report_published,
    ),
    WritePath(
        "the daily job drafts the next governance report",
        ("portal.local_offer.governance.governance_report_draft_create",),
        governance_report_drafted,
    ),
]


def entries_for(instance):
    return registry.get_logs_for_instance(instance).select_related("user")


def new_entries(since):
    """Every log entry written since `since`, of models and of pages."""
    return [
        *ModelLogEntry.objects.filter(timestamp__gte=since),
        *PageLogEntry.objects.filter(timestamp__gte=since),
    ]


@pytest.mark.parametrize("path", WRITE_PATHS, ids=[path.name for path in WRITE_PATHS])
def test_every_write_path_leaves_a_log_entry_saying_who_and_when(path, world):
    expected = path.perform(world)
    ended = timezone.now()
    assert world.started is not None, "the path must mark where its write begins"
    assert expected

    for item in expected:
        entries = [
            entry
            for entry in entries_for(item.instance).filter(action=item.action)
            if world.started <= entry.timestamp <= ended
        ]
        found = sorted(entries_for(item.instance).values_list("action", flat=True))
        assert entries, f"{path.name}: no “{item.action}” entry for {item.instance!r}: {found}"

        # A label the admin's history and audit-log report show, and a message.
        assert registry.action_exists(item.action)
        label = registry.get_action_label(item.action)
        assert label and label != item.action
        for entry in entries:
            assert entry.formatter is not None
            assert entry.message
            if item.actor is None:
                assert entry.user is None, f"{path.name}: {item.action} names {entry.user}"
                assert AUTOMATIC in label, f"“{label}” does not say the portal did it"
            else:
                assert entry.user == item.actor, f"{path.name}: {item.action} by {entry.user}"
                assert AUTOMATIC not in label

    # Whatever free text people typed stays out of the log.
    for entry in new_entries(world.started):
        assert CHILD_TEXT not in json.dumps(entry.data, default=str)
        assert CHILD_TEXT not in entry.label


# The guard: a new write service must be in the table, or said here not to need a log entry.

WRITE_VERBS = (
    # The verbs of the project's service names (`<thing>_<verb>`) that write.
    *("create", "update", "delete", "record", "close", "raise", "cancel", "grant", "import"),
    *("submit", "save", "start", "remove", "reassign", "declare", "assign", "accept", "take"),
    *("draw", "mark", "complete", "publish", "invite", "send", "report", "set", "sync"),
    "restrict",
)
WRITE_NAME = re.compile(rf"(^|_)({'|'.join(WRITE_VERBS)})(_|$)")
APPS = ("portal.audits", "portal.training", "portal.framework", "portal.local_offer")

# Functions whose names sound like writes but that write nothing the log is for. Each says why.
NOT_A_LOGGED_WRITE = {
    # Permission checks and reads.
    f"{AUDITS}.actions.may_update": "asks whether a user may update an action; writes nothing",
    f"{AUDITS}.sampling.draw_sample": "a pure rule; cycle_draw_sample stores and logs the draw",
    f"{AUDITS}.plan_register.plan_import_progress": "reads an import's progress",
    f"{AUDITS}.plan_register.plan_import_state": "reads an import's state",
    f"{AUDITS}.plan_register.plan_import_can_confirm": "asks whether an import may be confirmed",
    # Bookkeeping of an upload that never reached the register; the import that does is logged.
    f"{AUDITS}.plan_register.plan_import_fail": (
        "marks a stored upload failed after its transaction rolled back: nothing reached the "
        "register"
    ),
    # Emails only.
    f"{AUDITS}.actions.action_digests_send": "emails digests; changes no record",
    "portal.local_offer.governance.governance_report_announce": "emails the board a link",
    "portal.local_offer.public_cache.public_cache_mark": (
        "marks a response the public page cache may keep; writes no record"
    ),
    "portal.local_offer.snapshots.report_snapshots_missing_take": (
        "calls report_snapshot_take for each report without figures, which logs each one"
    ),
    # Account and set-up data, not audit records; written by logged paths or by deployment.
    f"{TRAINING}.services.staff_agency_set": (
        "keeps a user's agency group; part of invitation_create, which is logged"
    ),
    "portal.framework.roles.roles_sync": "creates the role groups and permissions at migrate",
    "portal.framework.roles.roles_sync_after_migrate": "runs roles_sync after migrate",
    "portal.framework.two_factor.totp_device_start": (
        "keeps the authenticator app a person is setting up for their own sign-in: account "
        "security, not an audit record"
    ),
    "portal.local_offer.governance.governance_index_restrict": (
        "puts the page privacy on the governance section as it is created in the admin, "
        "where Wagtail logs the page's creation; later privacy changes Wagtail logs itself"
    ),
    "portal.local_offer.wagtail_hooks.restrict_governance_section": "calls the one above",
    # Reads for reports: figures are computed, the snapshot that stores them is logged.
    "portal.local_offer.snapshots.report_figures": "computes figures; the snapshot is logged",
    "portal.local_offer.governance.previous_report": "finds the previous report",
    # Admin wiring.
    f"{AUDITS}.wagtail_hooks.plan_import_permissions": "lists permissions for the admin",
    f"{AUDITS}.wagtail_hooks.register_plan_import_log_actions": "registers a log label",
    "portal.framework.wagtail_hooks.rubric_import_menu_item": "an admin menu item",
    # Synthetic data for benchmarks: refused on production settings, and deletes only itself.
    f"{AUDITS}.synthetic.synthetic_data_delete": "removes synthetic benchmark data",
}


def write_functions():
    """Every public function in the apps' modules whose name has a write verb in it."""
    found = set()
    for app in APPS:
        package = importlib.import_module(app)
        for module_info in pkgutil.walk_packages(package.__path__, f"{app}."):
            if ".migrations" in module_info.name:
                continue
            module = importlib.import_module(module_info.name)
            for name, function in inspect.getmembers(module, inspect.isfunction):
                if (
                    function.__module__ == module.__name__
                    and not name.startswith("_")
                    and WRITE_NAME.search(name)
                ):
                    found.add(f"{module.__name__}.{name}")
    return found


def test_every_write_function_is_in_the_table_or_said_not_to_need_a_log_entry():
    covered = {name for path in WRITE_PATHS for name in path.covers}
    missing = write_functions() - covered - NOT_A_LOGGED_WRITE.keys()
    assert not missing, (
        "These functions look like writes but no path in WRITE_PATHS goes through them: give "
        "each a log entry and a path, or say in NOT_A_LOGGED_WRITE why it needs none: "
        + ", ".join(sorted(missing))
    )


def test_the_table_and_the_allow_list_name_functions_that_exist():
    named = {name for path in WRITE_PATHS for name in path.covers} | NOT_A_LOGGED_WRITE.keys()
    for dotted in sorted(named):
        module_name, _, function_name = dotted.rpartition(".")
        assert inspect.isfunction(
            getattr(importlib.import_module(module_name), function_name, None)
        ), f"{dotted} does not exist any more"
    # And every allowed function is still one the guard would catch.
    assert all(WRITE_NAME.search(dotted.rpartition(".")[2]) for dotted in NOT_A_LOGGED_WRITE)
