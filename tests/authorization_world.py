"""One small, complete portal for the authorization matrix: a person in every role and the
real objects they may or may not reach (each auditor's own audits, each agency's actions, a
moderation case, published and draft reports, the governance section, training records, an
invitation, a plan import, a cycle), all made through the real services so that the
object permissions are the ones the portal grants."""

import datetime
from types import SimpleNamespace

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.utils import timezone
from wagtail.documents.models import Document
from wagtail.models import Page, PageViewRestriction, Site

from portal.audits import plan_register
from portal.audits.actions import action_raise
from portal.audits.cycles import assignment_create, conflict_declare
from portal.audits.models import Action, ConflictDeclaration, ModerationCase
from portal.audits.recording import audit_save_section, audit_start
from portal.local_offer.governance import governance_index_restrict
from portal.local_offer.models import (
    GovernanceReportIndexPage,
    GovernanceReportPage,
    QualitySummaryPage,
)
from portal.training import services as training
from portal.training.models import TrainingSettings

from .audits.conftest import register_csv
from .audits.factories import AuditCycleFactory, PlanFactory
from .factories import HomePageFactory, RubricPageFactory, UserFactory
from .page_factories import public_site
from .training.factories import (
    QUESTIONS,
    TrainingIndexPageFactory,
    TrainingModulePageFactory,
    audit_complete,
    case_with_reference,
)

ROLES = (
    "anonymous",
    "auditor",
    "auditor2",
    "moderator",
    "action_owner",
    "board",
    "qa_lead",
    "superuser",
)
# Roles whose people hold wagtailadmin.access_admin (the QA lead through the role's
# permissions, the superuser by being one); the others never get past the admin's sign-in.
ADMIN_ROLES = ("qa_lead", "superuser")

# The rubric public_site() publishes has sections A, E (both limiting) and J (may be not
# applicable).
OUTSTANDING = {"A": ["A1", "A2"], "E": ["E1"], "J": None}
INADEQUATE = {"A": [], "E": [], "J": None}
REPORTED_AUDITS = 12  # enough for a Local Offer table (groups under 10 are not published)


def _today():
    return timezone.localdate()


def _home():
    """The site's home page, in place of Wagtail's welcome page (as tests/conftest.py does)."""
    root = Page.get_first_root_node()
    home = HomePageFactory(parent=root, slug="home-matrix")
    site = Site.objects.get(is_default_site=True)
    site.root_page = home
    site.save()
    Page.objects.filter(depth=2).exclude(pk=home.pk).delete()
    return home


def _people():
    """Everyone in the matrix, by role, and the people the objects belong to."""
    return SimpleNamespace(
        auditor=UserFactory(username="auditor1", roles=["Auditor"], agency="education"),
        auditor2=UserFactory(username="auditor2", roles=["Auditor"], agency="social_care"),
        moderator=UserFactory(username="moderator1", roles=["Moderator"], agency="send_service"),
        action_owner=UserFactory(username="owner.health", roles=["Action owner"], agency="health"),
        board=UserFactory(username="board1", roles=["Partnership Board"]),
        qa_lead=UserFactory(username="qalead1", roles=["QA lead"], agency="send_service"),
        superuser=UserFactory(username="admin1", is_superuser=True, is_staff=True),
        # Not in the matrix: the owner of the other agency's action, and the auditor whose
        # audits the reports count.
        education_owner=UserFactory(
            username="owner.education", roles=["Action owner"], agency="education"
        ),
        reporter=UserFactory(username="auditor.reports", roles=["Auditor"], agency="health"),
    )


def _publish(page):
    """Publish `page` and run what waits for the commit (a report's snapshot, the board's
    email), as it would run after a real publication."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        page.save_revision().publish()
    page.refresh_from_db()
    return page


def _audits(people, site):
    """A cycle; auditor 1 with an audit in progress and a submitted (weak, so moderated)
    one; auditor 2 with an audit in progress; and submitted audits for the reports."""
    due = _today() + datetime.timedelta(days=28)
    cycle = AuditCycleFactory(rubric=site.rubric, moderation_share=0)
    auditor, auditor2 = people.auditor, people.auditor2

    draft = assignment_create(PlanFactory(), auditor, due, people.qa_lead, cycle)
    draft_audit = audit_start(draft, auditor)
    draft_audit = audit_save_section(
        draft_audit, auditor, draft_audit.version, "A", met=["A1"], note="Clear voice."
    )
    submitted = assignment_create(PlanFactory(), auditor, due, people.qa_lead, cycle)
    submitted_audit = audit_complete(submitted, auditor, INADEQUATE)
    other = assignment_create(PlanFactory(), auditor2, due, people.qa_lead, cycle)
    other_audit = audit_start(other, auditor2)

    reported = [
        audit_complete(
            assignment_create(PlanFactory(), people.reporter, due, people.qa_lead, cycle),
            people.reporter,
            OUTSTANDING,
        )
        for _ in range(REPORTED_AUDITS)
    ]
    case = ModerationCase.objects.get(audits=submitted_audit)
    conflict = conflict_declare(
        auditor2, PlanFactory(), ConflictDeclaration.Reason.CONTRIBUTED, declared_by=people.qa_lead
    )
    return SimpleNamespace(
        cycle=cycle,
        draft_assignment=draft,
        draft_audit=draft_audit,
        submitted_assignment=submitted,
        submitted_audit=submitted_audit,
        other_assignment=other,
        other_audit=other_audit,
        reported_audit=reported[0],
        case=case,
        conflict=conflict,
    )


def _actions(people, audits):
    """Health's action (raised by the moderator from the case) and Education's (raised by
    the QA lead from a reported audit)."""
    due = _today() + datetime.timedelta(days=21)
    health = action_raise(
        raised_by=people.moderator,
        description="Ask the family for the child's views again.",
        kind=Action.Kind.AMEND_PLAN,
        agency="health",
        owner=people.action_owner,
        due_on=due,
        moderation_case=audits.case,
    )
    education = action_raise(
        raised_by=people.qa_lead,
        description="Review the outcomes template with the schools.",
        kind=Action.Kind.REVIEW_PROCESS,
        agency="education",
        owner=people.education_owner,
        due_on=due,
        audit=audits.reported_audit,
    )
    return SimpleNamespace(health=health, education=education)


def _reports(home, site):
    """A published Local Offer quality summary (with its snapshot) and a draft one; the
    governance section (private to QA leads and the board) with a published report."""
    start = _today() - datetime.timedelta(days=60)
    fields = {
        "period_start": start,
        "period_end": _today(),
        "show_key_stage": True,
        "summary": "How good were the plans we checked?",
        "what_we_found": "<p>Most plans were good.</p>",
        "what_we_are_doing": "<p>Training for writers of section F.</p>",
        "what_the_grades_mean": "<p>Good means the plan does what the law asks.</p>",
        "feedback": "<p>Email the SEND team.</p>",
    }
    summary = QualitySummaryPage(title="Spring summary", slug="spring-summary", **fields)
    site.local_offer.add_child(instance=summary)
    summary = _publish(summary)
    draft_summary = QualitySummaryPage(
        title="Draft summary", slug="draft-summary", live=False, **fields
    )
    site.local_offer.add_child(instance=draft_summary)
    draft_summary.save_revision()

    index = GovernanceReportIndexPage(title="Governance reports", slug="governance")
    home.add_child(instance=index)
    index = _publish(index)
    governance_index_restrict(index)
    report = GovernanceReportPage(
        title="Spring governance",
        slug="spring-governance",
        period_start=start,
        period_end=_today(),
        introduction="<p>For the board meeting.</p>",
        commentary="<p>Section F is still the weakest part of plans.</p>",
    )
    index.add_child(instance=report)
    report = _publish(report)
    return SimpleNamespace(
        summary=summary, draft_summary=draft_summary, governance=index, report=report
    )


def _training(home, people):
    """The training section (signed-in people only, as the demo sets it up): a module to
    mark complete, one with a knowledge check, and a calibration case with the QA lead's
    reference; auditor 1 has done all three."""
    index = TrainingIndexPageFactory(parent=home)
    PageViewRestriction.objects.create(page=index, restriction_type=PageViewRestriction.LOGIN)
    module = TrainingModulePageFactory(parent=index, slug="reading-a-plan", required=True)
    checked = TrainingModulePageFactory(
        parent=index, slug="grading", required=False, questions=QUESTIONS
    )
    case = case_with_reference(index, people.qa_lead, OUTSTANDING, slug="case-sam")
    reference = case.references.get()

    training.module_complete(module, people.auditor)
    questions = training.knowledge_check_questions(checked)
    answers = {
        question["id"]: [
            number for number, option in enumerate(question["options"]) if option["correct"]
        ]
        for question in questions
    }
    check_attempt = training.knowledge_check_take(checked, people.auditor, answers)
    calibration = training.calibration_start(people.auditor)
    audit_complete(calibration.assignment, people.auditor, OUTSTANDING)
    calibration.refresh_from_db()
    return SimpleNamespace(
        index=index,
        module=module,
        checked_module=checked,
        case=case,
        reference=reference,
        check_attempt=check_attempt,
        calibration=calibration,
    )


def _invitations(people):
    """A pending invitation (its link's token kept) and one already used."""
    pending = training.invitation_create(
        email="new.auditor@example.gov.uk",
        first_name="Nia",
        last_name="Patel",
        agency="health",
        invited_by=people.qa_lead,
    )
    used = training.invitation_create(
        email="used.auditor@example.gov.uk",
        first_name="Uma",
        last_name="Reed",
        agency="education",
        invited_by=people.qa_lead,
    )
    used_token = used.link.rstrip("/").rsplit("/", 1)[-1]
    training.invitation_accept(used_token, "a-long-enough-password-2026")
    return SimpleNamespace(
        pending=pending,
        token=pending.link.rstrip("/").rsplit("/", 1)[-1],
        used_token=used_token,
    )


def _plan_import(people):
    """A register file uploaded and checked, waiting for the QA lead to confirm it."""
    rows = [["EHC-900001", "KS3", "SEMH", "mainstream", "South", "annual_review", "2025-05-02"]]
    upload = SimpleUploadedFile("register.csv", register_csv(rows))
    return plan_register.plans_import_start(upload, people.qa_lead)


def portal_world():
    """Build the whole world and return it: `users` by role (anonymous is None) and every
    object a URL of the matrix names."""
    # The training rules, as a configured site has them (reading them creates them).
    training_rules = TrainingSettings.load()
    home = _home()
    site = public_site(home)
    draft_rubric = RubricPageFactory(parent=home, slug="draft-rubric", live=False)
    people = _people()
    audits = _audits(people, site)
    actions = _actions(people, audits)
    reports = _reports(home, site)
    learning = _training(home, people)
    invitations = _invitations(people)
    plan_import = _plan_import(people)
    spare_plan = PlanFactory()  # in the register, never sampled or assigned
    document = Document.objects.create(
        title="Auditor guide", file=ContentFile(b"How to audit a plan.", name="auditor-guide.txt")
    )
    users = {role: getattr(people, role, None) for role in ROLES}
    return SimpleNamespace(
        users=users,
        people=people,
        home=home,
        site=site,
        draft_rubric=draft_rubric,
        audits=audits,
        actions=actions,
        reports=reports,
        training=learning,
        invitations=invitations,
        plan_import=plan_import,
        document=document,
        training_rules=training_rules,
        spare_plan=spare_plan,
    )
