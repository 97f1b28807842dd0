"""Report rows (AuditFact) stay current: written when a plan audit is submitted, rewritten
with the moderated grade when its case closes, never written for calibration, and a rebuild
from the audits gives the same rows."""

import datetime

import pytest
from django.utils import timezone

from portal.audits.cycles import assignment_create
from portal.audits.facts import audit_facts_rebuild
from portal.audits.models import AuditFact, ModerationCase
from portal.audits.moderation import moderation_case_record
from portal.audits.reporting import (
    ReportFilters,
    grade_distribution,
    grade_distribution_by,
    headline,
    section_distribution,
)

from ..factories import UserFactory
from ..training.factories import TrainingIndexPageFactory, audit_complete, case_with_reference
from .factories import AuditCycleFactory, PlanFactory

pytestmark = pytest.mark.django_db

DUE = datetime.date(2026, 12, 18)
OUTSTANDING = {"A": ["A1", "A2"], "J": None}
GOOD = {"A": ["A1"], "J": None}
REQUIRES_IMPROVEMENT = {"A": ["A2"], "J": ["J1"]}


@pytest.fixture
def cycle(rubric_page):
    return AuditCycleFactory(rubric=rubric_page, tier="new_plans", moderation_share=0)


def submit(cycle, ticks, auditor, **plan):
    assignment = assignment_create(PlanFactory(**plan), auditor, DUE, None, cycle=cycle)
    return audit_complete(assignment, auditor, ticks)


def fact_rows():
    return sorted(
        AuditFact.objects.values_list(
            "audit_id", "grade", "auditor_grade", "key_stage", "agency", "section_a", "section_j"
        )
    )


def test_a_submitted_audit_gets_its_report_row(cycle):
    auditor = UserFactory(roles=["Auditor"], agency="health")
    audit = submit(cycle, REQUIRES_IMPROVEMENT, auditor, key_stage="KS3", locality="East")
    fact = AuditFact.objects.get()
    assert fact.audit == audit
    assert (fact.grade, fact.auditor_grade, fact.moderated) == (
        "requires_improvement",
        "requires_improvement",
        False,
    )
    assert (fact.key_stage, fact.locality, fact.agency, fact.tier) == (
        "KS3",
        "East",
        "health",
        "new_plans",
    )
    assert (fact.section_a, fact.section_j, fact.section_b) == ("inadequate", "outstanding", "")
    assert fact.submitted_on == timezone.localdate(audit.submitted_at)


def test_closing_a_case_rewrites_the_rows_with_the_moderated_grade(cycle, auditor):
    audit = submit(cycle, REQUIRES_IMPROVEMENT, auditor)
    case = ModerationCase.objects.get()
    moderator = UserFactory(roles=["Moderator"])
    moderation_case_record(
        case,
        moderator,
        case.version,
        grade="good",
        section_grades={"A": "good"},
        rationale="A1 is met.",
        close=True,
    )
    fact = AuditFact.objects.get(audit=audit)
    assert (fact.grade, fact.auditor_grade, fact.moderated) == (
        "good",
        "requires_improvement",
        True,
    )
    assert fact.section_a == "good"
    assert grade_distribution()["good"] == 1
    assert grade_distribution()["requires_improvement"] == 0


def test_calibration_is_never_counted(home_page, rubric_page, qa_lead):
    case_with_reference(TrainingIndexPageFactory(parent=home_page), qa_lead, OUTSTANDING)
    assert not AuditFact.objects.exists()


def test_a_rebuild_writes_the_same_rows(cycle, auditor):
    submit(cycle, OUTSTANDING, auditor)
    submit(cycle, GOOD, auditor)
    submit(cycle, REQUIRES_IMPROVEMENT, auditor)
    case = ModerationCase.objects.get()
    moderation_case_record(
        case,
        UserFactory(roles=["Moderator"]),
        case.version,
        grade="inadequate",
        section_grades={},
        rationale="Worse than it looks.",
        close=True,
    )
    before = fact_rows()
    assert audit_facts_rebuild() == 3
    assert fact_rows() == before


def test_figures_match_counts_worked_out_here(rubric_page):
    spring = AuditCycleFactory(rubric=rubric_page, name="Spring")
    autumn = AuditCycleFactory(rubric=rubric_page, name="Autumn")
    education = UserFactory(roles=["Auditor"], agency="education")
    health = UserFactory(roles=["Auditor"], agency="health")
    made = [
        (spring, OUTSTANDING, education, "KS1"),
        (spring, GOOD, education, "KS1"),
        (spring, GOOD, health, "KS2"),
        (autumn, REQUIRES_IMPROVEMENT, health, "KS2"),
        (autumn, GOOD, health, "KS1"),
    ]
    grade_of = {
        id(OUTSTANDING): "outstanding",
        id(GOOD): "good",
        id(REQUIRES_IMPROVEMENT): "requires_improvement",
    }
    for cycle, ticks, auditor, key_stage in made:
        submit(cycle, ticks, auditor, key_stage=key_stage)

    def expected(keep=lambda row: True):
        counts = dict.fromkeys(["outstanding", "good", "requires_improvement", "inadequate"], 0)
        for row in made:
            if keep(row):
                counts[grade_of[id(row[1])]] += 1
        return counts

    assert grade_distribution() == expected()
    assert headline()["audits"] == 5 and headline()["plans"] == 5
    assert grade_distribution(ReportFilters(cycles=(autumn.pk,))) == expected(
        lambda row: row[0] == autumn
    )
    assert grade_distribution(ReportFilters(agency="health", key_stage="KS2")) == expected(
        lambda row: row[2] == health and row[3] == "KS2"
    )
    by_stage = grade_distribution_by("key_stage")
    assert by_stage["KS1"] == expected(lambda row: row[3] == "KS1")
    assert by_stage["KS2"] == expected(lambda row: row[3] == "KS2")
    section_a = section_distribution()[0]
    # A: outstanding (A1+A2), good (A1) ×3, inadequate (A2 only).
    assert section_a["key"] == "A"
    assert section_a["grades"] == {
        "outstanding": 1,
        "good": 3,
        "requires_improvement": 0,
        "inadequate": 1,
    }
    assert (section_a["graded"], section_a["good_or_better"]) == (5, 4)
    section_j = next(row for row in section_distribution() if row["key"] == "J")
    assert section_j["graded"] == 1  # not applicable elsewhere
