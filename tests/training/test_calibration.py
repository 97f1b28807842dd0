"""Calibration: a case's reference recorded with the audit form, the learner's attempt made
with the same form under the reference's rubric revision (even after the rubric changes),
compared on submission, the pass rule, retries on another case, and accreditation."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from wagtail.models import ModelLogEntry

from portal.audits.cycles import NOT_AN_AUDITOR, assignment_create
from portal.audits.recording import audit_start
from portal.audits.selectors import assignments_for_auditor, audit_progress
from portal.framework.services import rubric_export, rubric_import
from portal.training.models import Accreditation, TrainingSettings
from portal.training.selectors import NOT_ACCREDITED, accreditation_refusal
from portal.training.services import (
    MODULES_FIRST,
    NO_CASE_LEFT,
    calibration_start,
    module_complete,
)

from ..audits.factories import PlanFactory
from ..factories import UserFactory
from .factories import (
    TrainingIndexPageFactory,
    TrainingModulePageFactory,
    audit_complete,
    case_with_reference,
    rubric_keys,
)

pytestmark = pytest.mark.django_db

# The reference: A1 and A2 met (A outstanding), J not applicable: overall outstanding.
REFERENCE = {"A": ["A1", "A2"], "J": None}


@pytest.fixture
def training(home_page):
    return TrainingIndexPageFactory(parent=home_page)


@pytest.fixture
def learner(db):
    return UserFactory(username="learner", roles=["Auditor"], agency="health", accredited=False)


@pytest.fixture
def case(training, rubric_page, qa_lead):
    return case_with_reference(training, qa_lead, REFERENCE, title="Case one")


def test_the_reference_is_recorded_with_the_audit_form_under_the_live_rubric(case, rubric_page):
    reference = case.references.get()
    audit = reference.assignment.audit
    assert audit.rubric_revision == rubric_page.live_revision
    assert audit.overall_grade == "outstanding"
    # Calibration is training: it is not a plan, and never on anyone's "My audits".
    assert reference.assignment.plan is None
    assert assignments_for_auditor(reference.assignment.auditor) == []


def test_required_modules_come_before_calibration(training, case, learner):
    module = TrainingModulePageFactory(parent=training, title="The quality standards")
    TrainingModulePageFactory(parent=training, title="Optional extra", required=False)
    TrainingModulePageFactory(parent=training, title="For education only", audience="education")
    with pytest.raises(ValidationError) as refused:
        calibration_start(learner)
    assert refused.value.messages == [MODULES_FIRST.format(modules="The quality standards")]

    module_complete(module, learner)
    attempt = calibration_start(learner)
    assert attempt.case.specific == case
    assert calibration_start(learner) == attempt  # the open attempt is continued


def test_a_matching_attempt_passes_and_accredits_for_the_period_set(case, learner, rubric_page):
    settings = TrainingSettings.load()
    settings.accreditation_months = 6
    settings.save()
    assert accreditation_refusal(learner) == NOT_ACCREDITED

    attempt = calibration_start(learner)
    audit_complete(attempt.assignment, learner, REFERENCE)
    attempt.refresh_from_db()
    assert attempt.passed is True
    assert attempt.criterion_agreement == 1
    assert (attempt.sections_matched, attempt.sections_total) == (2, 2)
    assert attempt.overall_matched is True
    assert attempt.pass_rule == {"min_agreement": 80, "overall_must_match": True}

    accreditation = Accreditation.objects.get(auditor=learner)
    assert accreditation.attempt == attempt
    today = timezone.localdate()
    months = (accreditation.expires_on.year - today.year) * 12 + (
        accreditation.expires_on.month - today.month
    )
    assert months == 6
    assert accreditation_refusal(learner) is None
    # ... and now the learner is assignable.
    assignment = assignment_create(PlanFactory(), learner, today, None)
    assert assignment.auditor == learner
    actions = set(ModelLogEntry.objects.values_list("action", flat=True))
    assert {"portal.training.calibration_mark", "portal.training.accredit"} <= actions


def test_a_differing_attempt_fails_and_shows_each_disputed_criterion(case, learner):
    attempt = calibration_start(learner)
    # Misses A2 (A good, not outstanding) and judges J instead of leaving it out.
    audit_complete(attempt.assignment, learner, {"A": ["A1"], "J": ["J1"]})
    attempt.refresh_from_db()
    assert attempt.passed is False
    assert attempt.overall_matched is False
    assert str(attempt.criterion_agreement) == "0.3333"  # A1 of A1, A2, J1
    disputed = {
        difference["key"]: (difference["reference"], difference["given"])
        for section in attempt.comparison["sections"]
        for difference in section["differences"]
    }
    assert disputed == {"A2": ("met", "not_met"), "J1": ("not_applicable", "met")}
    assert not Accreditation.objects.filter(auditor=learner).exists()


def test_qa_leads_set_the_pass_rule(case, learner):
    settings = TrainingSettings.load()
    settings.calibration_min_agreement = 60
    settings.calibration_overall_must_match = False
    settings.save()
    attempt = calibration_start(learner)
    # A1 and J left out agree (2 of 2 compared); A2 missed: 1 of 2 = 50%.
    audit_complete(attempt.assignment, learner, {"A": ["A1"], "J": None})
    attempt.refresh_from_db()
    assert str(attempt.criterion_agreement) == "0.5000"
    assert attempt.passed is False

    settings.calibration_min_agreement = 50
    settings.save()
    second = case_with_reference(
        case.get_parent(), case.references.get().assignment.auditor, REFERENCE, title="Case two"
    )
    attempt = calibration_start(learner)
    assert attempt.case.specific == second
    audit_complete(attempt.assignment, learner, {"A": ["A1"], "J": None})
    attempt.refresh_from_db()
    assert attempt.overall_matched is False  # good, not outstanding
    assert attempt.passed is True
    assert attempt.pass_rule == {"min_agreement": 50, "overall_must_match": False}


def test_after_a_fail_the_retry_is_on_another_case_and_then_none_is_left(
    case, learner, training, qa_lead
):
    other = case_with_reference(training, qa_lead, {"A": ["A1"], "J": ["J1"]}, title="Case two")
    first = calibration_start(learner)
    assert first.case.specific == case
    audit_complete(first.assignment, learner, {"A": [], "J": None})
    second = calibration_start(learner)
    assert second.case.specific == other
    audit_complete(second.assignment, learner, {"A": [], "J": None})
    with pytest.raises(ValidationError) as refused:
        calibration_start(learner)
    assert refused.value.messages == [NO_CASE_LEFT]


def test_the_attempt_keeps_the_reference_rubric_after_the_rubric_is_revised(
    case, learner, rubric_page, rubric_data
):
    reference_revision = case.references.get().assignment.audit.rubric_revision
    # The QA leads revise the rubric: A2 is removed and A3 added.
    revised = rubric_export(rubric_page)
    section_a = revised["sections"][0]
    section_a["criteria"] = [
        section_a["criteria"][0],
        {"key": "A3", "text": "Aspirations are the child's.", "weight": 1, "essential": False},
    ]
    revision, _ = rubric_import(rubric_page, revised)
    revision.publish()
    rubric_page.refresh_from_db()
    assert rubric_page.live_revision != reference_revision

    attempt = calibration_start(learner)
    audit = audit_start(attempt.assignment, learner)
    assert audit.rubric_revision == reference_revision
    assert rubric_keys(audit) == ["A1", "A2", "J1"]
    assert [c["key"] for c in audit_progress(audit).section("A").criteria] == ["A1", "A2"]
    audit_complete(attempt.assignment, learner, REFERENCE)
    attempt.refresh_from_db()
    assert attempt.passed is True
    assert attempt.criterion_agreement == 1


def test_a_new_reference_applies_to_attempts_started_after_it(case, learner, qa_lead):
    from portal.training.services import calibration_reference_start

    started_before = calibration_start(learner)
    again = calibration_reference_start(case, qa_lead)
    audit_complete(again.assignment, qa_lead, {"A": ["A1"], "J": ["J1"]})
    # The learner's open attempt is still compared with the reference they started under.
    audit_complete(started_before.assignment, learner, REFERENCE)
    started_before.refresh_from_db()
    assert started_before.reference != again
    assert started_before.passed is True


def test_accreditation_does_not_make_someone_an_auditor(case, qa_lead):
    # A QA lead who records references is not thereby given plans.
    other = UserFactory(roles=["QA lead"])
    with pytest.raises(ValidationError) as refused:
        assignment_create(PlanFactory(), other, datetime.date(2026, 12, 1), qa_lead)
    assert refused.value.messages == [NOT_AN_AUDITOR]
