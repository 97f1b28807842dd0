"""Moderation: which submitted audits join the queue and why, a moderator's decision recorded
beside (never over) the auditors' audits, the moderator conflict rule, stale and closed
cases refused, and the agreement figures of a cycle."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from wagtail.models import ModelLogEntry

from portal.audits.cycles import assignment_create
from portal.audits.models import Audit, ModerationCase
from portal.audits.moderation import (
    CASE_CHANGED,
    CASE_CLOSED,
    MODERATOR_AUDITED,
    NOT_A_MODERATOR,
    RATIONALE_MISSING,
    UNKNOWN_SECTION,
    moderation_case_record,
)
from portal.audits.moderation_selectors import (
    auditor_moderation_changes,
    audits_with_effective_grade,
    cycle_agreement,
)

from ..factories import UserFactory
from ..training.factories import audit_complete
from .factories import AuditCycleFactory, PlanFactory, SampledPlanFactory

pytestmark = pytest.mark.django_db

DUE = datetime.date(2026, 12, 18)
# SMALL_RUBRIC: A (A1 essential weight 3, A2 weight 1; limiting), J (J1; may be N/A).
OUTSTANDING = {"A": ["A1", "A2"], "J": None}
GOOD = {"A": ["A1"], "J": None}  # A 0.75
# A inadequate (0.25, essential A1 unmet), J outstanding: overall 0.5, and A is limiting.
REQUIRES_IMPROVEMENT = {"A": ["A2"], "J": ["J1"]}


@pytest.fixture
def cycle(rubric_page):
    return AuditCycleFactory(rubric=rubric_page, moderation_share=0)


@pytest.fixture
def auditors(auditor):
    return [auditor, UserFactory(username="auditor2", roles=["Auditor"])]


@pytest.fixture
def moderator(db):
    return UserFactory(username="moderator1", roles=["Moderator"])


def audited(cycle, plan, auditor, ticks, qa_lead=None):
    assignment = assignment_create(plan, auditor, DUE, qa_lead, cycle=cycle)
    return audit_complete(assignment, auditor, ticks)


def double_audited(cycle, auditors, first, second, system_id="EHC-D1"):
    plan = PlanFactory(system_id=system_id)
    SampledPlanFactory(cycle=cycle, plan=plan, double_audit=True)
    return plan, [
        audited(cycle, plan, auditors[0], first),
        audited(cycle, plan, auditors[1], second),
    ]


def test_a_weak_audit_is_queued_with_its_reason(cycle, auditor):
    plan = PlanFactory()
    SampledPlanFactory(cycle=cycle, plan=plan)
    audit = audited(cycle, plan, auditor, REQUIRES_IMPROVEMENT)
    case = ModerationCase.objects.get()
    assert (case.plan, case.cycle, case.status) == (plan, cycle, ModerationCase.Status.QUEUED)
    assert case.reasons == ["weak_grade"]
    assert list(case.audits.all()) == [audit]
    assert ModelLogEntry.objects.filter(action="portal.moderation.queue").exists()


def test_a_good_audit_outside_the_random_sample_is_not_queued(cycle, auditor):
    audited(cycle, PlanFactory(), auditor, GOOD)
    assert not ModerationCase.objects.exists()


def test_the_random_sample_queues_a_share_of_the_rest(rubric_page, auditor):
    everything = AuditCycleFactory(rubric=rubric_page, moderation_share=1)
    audited(everything, PlanFactory(), auditor, OUTSTANDING)
    assert ModerationCase.objects.get().reasons == ["random_sample"]


def test_a_double_audited_plan_is_queued_once_both_audits_are_in(cycle, auditors):
    plan = PlanFactory(system_id="EHC-D1")
    SampledPlanFactory(cycle=cycle, plan=plan, double_audit=True)
    first = audited(cycle, plan, auditors[0], GOOD)
    assert not ModerationCase.objects.exists()
    second = audited(cycle, plan, auditors[1], OUTSTANDING)
    case = ModerationCase.objects.get()
    assert case.reasons == ["double_audited"]
    assert set(case.audits.all()) == {first, second}


def test_a_weak_first_audit_is_queued_and_the_second_joins_its_case(cycle, auditors):
    _, (first, second) = double_audited(cycle, auditors, REQUIRES_IMPROVEMENT, GOOD)
    case = ModerationCase.objects.get()
    assert case.reasons == ["weak_grade", "double_audited"]
    assert set(case.audits.all()) == {first, second}
    assert case.version == 2  # a moderator's form opened before the second audit is stale


def test_closing_records_the_moderated_grade_beside_the_audits_never_over_them(
    cycle, auditors, moderator
):
    _, audits = double_audited(cycle, auditors, GOOD, REQUIRES_IMPROVEMENT)
    before = {
        audit.pk: (audit.overall_grade, audit.result, audit.ticks, audit.version)
        for audit in audits
    }
    case = ModerationCase.objects.get()
    case = moderation_case_record(
        case,
        moderator,
        case.version,
        grade="good",
        section_grades={"A": "good", "J": ""},
        rationale="A1 is met: the child's words are quoted in section A.",
        close=True,
    )
    assert case.status == ModerationCase.Status.CLOSED
    assert case.outcome == ModerationCase.Outcome.CHANGED  # one auditor said RI
    assert case.section_grades == {"A": "good"}
    for audit in Audit.objects.filter(pk__in=before):
        assert (audit.overall_grade, audit.result, audit.ticks, audit.version) == before[audit.pk]
    # Reports count the moderated grade for both audits.
    assert set(
        audits_with_effective_grade()
        .filter(pk__in=before)
        .values_list("effective_grade", flat=True)
    ) == {"good"}
    assert ModelLogEntry.objects.filter(action="portal.moderation.close", user=moderator).exists()


def test_a_confirmed_grade_is_recorded_as_confirmed(cycle, auditors, moderator):
    double_audited(cycle, auditors, GOOD, GOOD)
    case = ModerationCase.objects.get()
    case = moderation_case_record(
        case,
        moderator,
        case.version,
        grade="good",
        section_grades={},
        rationale="Agreed.",
        close=True,
    )
    assert case.outcome == ModerationCase.Outcome.CONFIRMED


def test_a_draft_marks_the_case_as_being_moderated(cycle, auditors, moderator):
    double_audited(cycle, auditors, GOOD, OUTSTANDING)
    case = ModerationCase.objects.get()
    case = moderation_case_record(
        case, moderator, case.version, grade="", section_grades={}, rationale="Reading."
    )
    assert (case.status, case.moderator) == (ModerationCase.Status.IN_PROGRESS, moderator)


def test_closing_needs_a_grade_and_a_rationale_and_known_sections(cycle, auditors, moderator):
    double_audited(cycle, auditors, GOOD, OUTSTANDING)
    case = ModerationCase.objects.get()
    with pytest.raises(ValidationError) as refused:
        moderation_case_record(
            case,
            moderator,
            case.version,
            grade="good",
            section_grades={"Z": "good"},
            rationale=" ",
            close=True,
        )
    assert refused.value.message_dict == {
        "rationale": [RATIONALE_MISSING],
        "section_grades": [UNKNOWN_SECTION.format(key="Z")],
    }
    case.refresh_from_db()
    assert (case.status, case.version) == (ModerationCase.Status.QUEUED, 1)


def test_a_moderator_cannot_moderate_a_plan_they_were_given(cycle, auditors):
    moderator = UserFactory(roles=["Moderator", "Auditor"])  # also an (accredited) auditor
    plan, _ = double_audited(cycle, auditors, GOOD, OUTSTANDING)
    assignment_create(plan, moderator, DUE, None)
    case = ModerationCase.objects.get()
    with pytest.raises(PermissionDenied) as refused:
        moderation_case_record(
            case,
            moderator,
            case.version,
            grade="good",
            section_grades={},
            rationale="Mine.",
            close=True,
        )
    assert str(refused.value) == MODERATOR_AUDITED
    case.refresh_from_db()
    assert case.status == ModerationCase.Status.QUEUED


def test_only_moderators_record_decisions(cycle, auditors, qa_lead):
    double_audited(cycle, auditors, GOOD, OUTSTANDING)
    case = ModerationCase.objects.get()
    with pytest.raises(PermissionDenied) as refused:
        moderation_case_record(
            case,
            qa_lead,
            case.version,
            grade="good",
            section_grades={},
            rationale="x",
            close=True,
        )
    assert str(refused.value) == NOT_A_MODERATOR


def test_stale_and_closed_cases_are_refused(cycle, auditors, moderator):
    double_audited(cycle, auditors, GOOD, OUTSTANDING)
    case = ModerationCase.objects.get()
    opened_at = case.version
    other = UserFactory(roles=["Moderator"])
    moderation_case_record(
        case, other, opened_at, grade="good", section_grades={}, rationale="Draft."
    )
    with pytest.raises(ValidationError) as changed:
        moderation_case_record(
            case,
            moderator,
            opened_at,
            grade="outstanding",
            section_grades={},
            rationale="Mine.",
            close=True,
        )
    assert changed.value.messages == [CASE_CHANGED]
    case.refresh_from_db()
    assert case.rationale == "Draft."
    case = moderation_case_record(
        case,
        moderator,
        case.version,
        grade="good",
        section_grades={},
        rationale="Done.",
        close=True,
    )
    with pytest.raises(PermissionDenied) as closed:
        moderation_case_record(
            case,
            moderator,
            case.version,
            grade="inadequate",
            section_grades={},
            rationale="Again.",
            close=True,
        )
    assert str(closed.value) == CASE_CLOSED


def test_cycle_agreement_matches_figures_worked_by_hand(cycle, auditors, moderator):
    # Two double-audited plans: Good/Good and Good/Requires Improvement.
    double_audited(cycle, auditors, GOOD, GOOD, system_id="EHC-D1")
    double_audited(cycle, auditors, GOOD, REQUIRES_IMPROVEMENT, system_id="EHC-D2")
    figures = cycle_agreement(cycle)
    # Grades as numbers (G=1, RI=2): pairs (1,1) (1,2). Observed weighted disagreement 1/2;
    # margins first {1: 2}, second {1: 1, 2: 1}: expected (2·1·0 + 2·1·1)/4 = 1/2; κ = 0.
    assert figures["double_audits"] == {
        "pairs": 2,
        "exact": 0.5,
        "within_one": 1.0,
        "kappa_quadratic": 0.0,
    }
    assert (figures["cases_open"], figures["cases_closed"]) == (2, 0)

    weak = ModerationCase.objects.get(plan__system_id="EHC-D2")
    moderation_case_record(
        weak,
        moderator,
        weak.version,
        grade="good",
        section_grades={},
        rationale="A1 met.",
        close=True,
    )
    changes = {row["auditor"]: row for row in auditor_moderation_changes(cycle)}
    second = auditors[1].get_full_name()
    assert changes[second] == {
        "auditor": second,
        "moderated": 1,
        "same": 0,
        "raised": 1,
        "lowered": 0,
    }
    assert changes[auditors[0].get_full_name()]["same"] == 1
    figures = cycle_agreement(cycle)
    assert (figures["cases_closed"], figures["changed"], figures["confirmed"]) == (1, 1, 0)
