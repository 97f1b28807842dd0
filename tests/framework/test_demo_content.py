"""The demo content command: a complete framework, users for every role, safe to rerun, and
never on production settings."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone
from wagtail.models import Site

from portal.audits.models import Action, Assignment, Audit, ModerationCase
from portal.framework.management.commands.load_demo_content import REFUSED
from portal.framework.models import (
    AccessibilityStatementPage,
    ExemplarPage,
    FrameworkPage,
    HomePage,
    PlanSection,
    RubricPage,
    StandardPage,
)
from portal.framework.roles import ROLES
from portal.framework.services import rubric_export
from portal.local_offer.models import GovernanceReportPage, QualitySummaryPage
from portal.training.models import (
    Accreditation,
    CalibrationCasePage,
    TrainingIndexPage,
    TrainingModulePage,
)
from portal.training.selectors import (
    calibration_reference_current,
    open_plan_assignments,
    training_progress,
)

pytestmark = pytest.mark.django_db


def test_demo_content_loads_a_complete_framework(client):
    call_command("load_demo_content")

    home = HomePage.objects.get()
    assert Site.objects.get(is_default_site=True).root_page_id == home.pk
    framework = FrameworkPage.objects.live().get()
    assert len(framework.tiers) == 4
    assert StandardPage.objects.live().count() == 5
    for standard in StandardPage.objects.all():
        assert standard.sections.exists(), standard.title
        # Created and published once: one revision, holding the sections too.
        assert standard.revisions.count() == 1
        assert standard.live_revision.as_object().sections.exists()

    # An exemplar for every plan section, and every rubric section linked to one.
    exemplar_sections = set(ExemplarPage.objects.live().values_list("section__key", flat=True))
    assert exemplar_sections == set(PlanSection.objects.values_list("key", flat=True))
    rubric = rubric_export(RubricPage.objects.live().get())
    assert [s["key"] for s in rubric["sections"]] == list(
        PlanSection.objects.values_list("key", flat=True)
    )
    for section in rubric["sections"]:
        assert len(section["criteria"]) >= 4, section["key"]
        assert section["exemplars"], section["key"]
        assert any(criterion["essential"] for criterion in section["criteria"]), section["key"]
    assert any(section["limiting"] for section in rubric["sections"])
    assert any(section["may_be_not_applicable"] for section in rubric["sections"])

    # The accessibility statement public sector sites must publish, linked from every page.
    statement = AccessibilityStatementPage.objects.live().public().get()
    assert statement.body and statement.reviewed_on
    footer_link = f'href="{statement.url}">Accessibility statement</a>'
    assert footer_link in client.get(home.url).content.decode()
    assert footer_link in client.get(framework.url).content.decode()

    # Every public page answers; training is for signed-in staff.
    for page in home.get_descendants(inclusive=True).live().public().specific():
        assert client.get(page.url).status_code == 200, page.url
    training = TrainingIndexPage.objects.get()
    assert client.get(training.url).status_code == 302
    client.force_login(get_user_model().objects.get(username="trainee"))
    for page in training.get_descendants(inclusive=True).live().specific():
        assert client.get(page.url).status_code == 200, page.url


def test_demo_users_exist_for_every_role():
    call_command("load_demo_content")
    User = get_user_model()
    for role in ROLES:
        assert User.objects.filter(groups__name=role).exists(), role
    assert User.objects.filter(is_superuser=True).exists()


def test_demo_audits_cover_every_grade_and_re_derive():
    call_command("load_demo_content")
    grades = set(
        Audit.objects.of_plans()
        .filter(status=Audit.Status.SUBMITTED)
        .values_list("overall_grade", flat=True)
    )
    assert grades == {"outstanding", "good", "requires_improvement", "inadequate"}
    assert Audit.objects.filter(status=Audit.Status.DRAFT).exists()
    # The demo auditor has plans still to start, and never one they declared a conflict on.
    auditor = get_user_model().objects.get(username="auditor")
    assert Assignment.objects.filter(auditor=auditor, audit__isnull=True).exists()
    assert not Assignment.objects.filter(auditor=auditor, plan__conflicts__auditor=auditor).exists()
    call_command("verify_grades")


def test_demo_training_has_modules_cases_and_auditors_in_every_state():
    call_command("load_demo_content")
    modules = TrainingModulePage.objects.live()
    assert {"the-quality-standards", "smart-outcomes", "making-judgements-and-avoiding-bias"} <= {
        module.slug for module in modules
    }
    assert any(module.has_knowledge_check for module in modules)
    assert any(not module.has_knowledge_check for module in modules)
    # Two cases whose references grade Good and Requires Improvement.
    grades = {
        calibration_reference_current(case).assignment.audit.overall_grade
        for case in CalibrationCasePage.objects.live()
    }
    assert grades == {"good", "requires_improvement"}

    User = get_user_model()
    states = {
        username: training_progress(User.objects.get(username=username)).status
        for username in ("auditor", "newauditor", "trainee", "lapsed")
    }
    assert states == {
        "auditor": "accredited",
        "newauditor": "in_training",
        "trainee": "in_training",
        "lapsed": "expired",
    }
    trainee = training_progress(User.objects.get(username="trainee"))
    assert 0 < sum(row.done for row in trainee.modules) < len(trainee.modules)
    assert not any(
        row.done for row in training_progress(User.objects.get(username="newauditor")).modules
    )
    # The lapsed auditor still holds plans: their work is flagged, not dropped.
    assert open_plan_assignments(User.objects.get(username="lapsed")).exists()
    # Every auditor given plans in the demo cycle was accredited.
    for assignment in Assignment.objects.of_plans().filter(cycle__isnull=False):
        assert assignment.auditor.accreditations.exists()


def test_demo_moderation_and_actions_fill_every_state():
    call_command("load_demo_content")
    statuses = set(ModerationCase.objects.values_list("status", flat=True))
    assert statuses == {"queued", "in_progress", "closed"}
    outcomes = set(ModerationCase.objects.exclude(outcome="").values_list("outcome", flat=True))
    assert outcomes == {"confirmed", "changed"}
    # A double-audited plan the auditors disagreed on was moderated.
    changed = ModerationCase.objects.get(outcome="changed")
    assert changed.double_audited
    assert len(set(changed.audits.values_list("overall_grade", flat=True))) > 1
    assert set(Action.objects.values_list("status", flat=True)) == {
        "open",
        "in_progress",
        "done",
        "cancelled",
    }
    assert Action.objects.filter(status="open", due_on__lt=timezone.localdate()).exists()
    assert Action.objects.filter(kind="reaudit", reaudit_assignment__isnull=False).exists()


def test_demo_reports_are_published_with_their_figures():
    call_command("load_demo_content")
    summaries = QualitySummaryPage.objects.live().order_by("period_end")
    assert summaries.count() >= 2
    latest = summaries.last().snapshot()
    assert latest.data["headline"]["published"]
    assert latest.data["trend"]  # compared with the earlier summary
    report = GovernanceReportPage.objects.live().get()
    assert report.snapshot() is not None
    assert report.get_view_restrictions().filter(restriction_type="groups").exists()


def test_running_it_twice_changes_nothing():
    call_command("load_demo_content")
    counts = (
        HomePage.objects.count(),
        StandardPage.objects.count(),
        get_user_model().objects.count(),
        Audit.objects.count(),
        Accreditation.objects.count(),
    )
    revisions = RubricPage.objects.get().revisions.count()
    call_command("load_demo_content")
    assert counts == (
        HomePage.objects.count(),
        StandardPage.objects.count(),
        get_user_model().objects.count(),
        Audit.objects.count(),
        Accreditation.objects.count(),
    )
    assert RubricPage.objects.get().revisions.count() == revisions


def test_refused_where_demo_content_is_not_allowed(settings):
    settings.PORTAL_DEMO_CONTENT_ALLOWED = False
    with pytest.raises(CommandError) as refused:
        call_command("load_demo_content")
    assert str(refused.value) == REFUSED
    assert not get_user_model().objects.exists()
    assert not HomePage.objects.exists()
