"""Reads for moderation: the queue with its filters, one case's audits side by side
(section by section, criterion by criterion, disagreements marked), the agreement figures
of a cycle and how moderation moved each auditor's grades, and the grade reports use (the
moderated one where there is one)."""

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from portal.framework.rubric import GRADE_LABELS, GRADES

from .agreement import agreement_summary
from .models import Audit, ModerationCase, SampledPlan
from .moderation_rules import grade_change
from .recording import rubric_of_revision

JUDGEMENT_LABELS = {"met": "Met", "not_met": "Not met", "not_applicable": "Not applicable"}


def moderation_queue(*, status=None, reason=None, cycle=None, grade=None, agency=None):
    """Moderation cases, oldest first, open ones unless `status` says otherwise; narrowed to a
    reason, a cycle, cases with an audit of `grade`, or audited by someone from `agency`."""
    cases = ModerationCase.objects.select_related("plan", "cycle", "moderator")
    if status:
        cases = cases.filter(status=status)
    else:
        cases = cases.exclude(status=ModerationCase.Status.CLOSED)
    if reason in ModerationCase.Reason.values:
        cases = cases.filter(**{reason: True})
    if cycle:
        cases = cases.filter(cycle=cycle)
    if grade:
        cases = cases.filter(
            Exists(Audit.objects.filter(moderation_cases=OuterRef("pk"), overall_grade=grade))
        )
    if agency:
        cases = cases.filter(
            Exists(
                Audit.objects.filter(
                    moderation_cases=OuterRef("pk"),
                    assignment__auditor__staff_profile__agency=agency,
                )
            )
        )
    return cases.prefetch_related("audits__assignment__auditor").order_by("queued_at", "pk")


@dataclass(frozen=True)
class CriterionRow:
    key: str
    text: str
    essential: bool
    guidance: str
    judgements: list  # per audit: "met", "not_met", "not_applicable" or None (not in rubric)

    @property
    def disagreement(self):
        return len({judgement for judgement in self.judgements if judgement}) > 1

    @property
    def judgement_labels(self):
        return [JUDGEMENT_LABELS.get(judgement, "–") for judgement in self.judgements]


@dataclass(frozen=True)
class SectionRow:
    key: str
    title: str
    grades: list  # per audit: grade slug or None (not applicable)
    notes: list  # per audit
    criteria: list

    @property
    def disagreement(self):
        return len(set(self.grades)) > 1 or any(row.disagreement for row in self.criteria)

    @property
    def grade_labels(self):
        return [GRADE_LABELS.get(grade, "Not applicable") for grade in self.grades]


def _judgement(audit, section_key, criterion_key):
    ticked = audit.ticks.get("sections", {}).get(section_key, {})
    if ticked.get("not_applicable"):
        return "not_applicable"
    return "met" if criterion_key in ticked.get("met", []) else "not_met"


def case_comparison(case):
    """The case's audits side by side: (audits, section rows). Sections and criteria follow
    the first audit's rubric revision; an audit made under another revision shows "–" for a
    criterion its rubric did not have."""
    audits = list(
        case.audits.select_related("assignment__auditor__staff_profile").order_by(
            "submitted_at", "pk"
        )
    )
    if not audits:
        return audits, []
    rubrics = [rubric_of_revision(audit.rubric_revision_id) for audit in audits]
    keys = [
        {c["key"] for section in rubric["sections"] for c in section["criteria"]}
        for rubric in rubrics
    ]
    rows = []
    for section in rubrics[0]["sections"]:
        criteria = [
            CriterionRow(
                key=criterion["key"],
                text=criterion["text"],
                essential=criterion["essential"],
                guidance=criterion.get("guidance", ""),
                judgements=[
                    _judgement(audit, section["key"], criterion["key"])
                    if criterion["key"] in keys[number]
                    else None
                    for number, audit in enumerate(audits)
                ],
            )
            for criterion in section["criteria"]
        ]
        rows.append(
            SectionRow(
                key=section["key"],
                title=section["title"],
                grades=[
                    (audit.result or {}).get("sections", {}).get(section["key"], {}).get("grade")
                    for audit in audits
                ],
                notes=[audit.section_notes.get(section["key"], "") for audit in audits],
                criteria=criteria,
            )
        )
    return audits, rows


def moderated_grade_of_audit():
    """A subquery: the moderated grade of the closed case an audit was moderated in."""
    return Subquery(
        ModerationCase.objects.filter(audits=OuterRef("pk"), status=ModerationCase.Status.CLOSED)
        .order_by("-closed_at")
        .values("moderated_grade")[:1]
    )


def audits_with_effective_grade():
    """Submitted plan audits annotated with `effective_grade`: the moderated grade where the
    plan's case is closed, otherwise the auditor's own. Reports count this one."""
    return (
        Audit.objects.of_plans()
        .filter(status=Audit.Status.SUBMITTED)
        .annotate(effective_grade=Coalesce(moderated_grade_of_audit(), "overall_grade"))
    )


def double_audit_pairs(cycle):
    """The overall grades of the first two submitted audits of each double-audited plan of
    the cycle, as (grade, grade) pairs."""
    doubles = SampledPlan.objects.filter(cycle=cycle, double_audit=True).values("plan_id")
    grades = defaultdict(list)
    audits = (
        Audit.objects.filter(
            assignment__cycle=cycle,
            assignment__plan_id__in=doubles,
            status=Audit.Status.SUBMITTED,
        )
        .order_by("assignment__plan_id", "submitted_at", "pk")
        .values_list("assignment__plan_id", "overall_grade")
    )
    for plan_id, grade in audits:
        grades[plan_id].append(grade)
    return [(found[0], found[1]) for found in grades.values() if len(found) >= 2]


def auditor_moderation_changes(cycle=None):
    """Per auditor, over closed cases (of `cycle`, or all): how many of their audits were
    moderated, and how many grades moderation kept, raised or lowered. Returns a list of
    dicts, most often changed first."""
    cases = ModerationCase.objects.filter(status=ModerationCase.Status.CLOSED)
    if cycle:
        cases = cases.filter(cycle=cycle)
    rows = (
        Audit.objects.filter(moderation_cases__in=cases)
        .values_list(
            "assignment__auditor_id",
            "assignment__auditor__first_name",
            "assignment__auditor__last_name",
            "assignment__auditor__username",
            "overall_grade",
            "moderation_cases__moderated_grade",
        )
        .order_by()
    )
    figures = {}
    for auditor_id, first, last, username, grade, moderated in rows:
        row = figures.setdefault(
            auditor_id,
            {
                "auditor": f"{first} {last}".strip() or username,
                "moderated": 0,
                "same": 0,
                "raised": 0,
                "lowered": 0,
            },
        )
        row["moderated"] += 1
        row[grade_change(grade, moderated, GRADES)] += 1
    return sorted(
        figures.values(),
        key=lambda row: (-(row["raised"] + row["lowered"]), row["auditor"]),
    )


def cycle_agreement(cycle):
    """A cycle's agreement figures: overall grades of double-audited plans compared
    (agreement_summary), the moderation outcomes, and how moderation moved each auditor's
    grades."""
    closed = ModerationCase.objects.filter(cycle=cycle, status=ModerationCase.Status.CLOSED)
    return {
        "double_audits": agreement_summary(double_audit_pairs(cycle)),
        "cases_open": ModerationCase.objects.filter(cycle=cycle)
        .filter(~Q(status=ModerationCase.Status.CLOSED))
        .count(),
        "cases_closed": closed.count(),
        "confirmed": closed.filter(outcome=ModerationCase.Outcome.CONFIRMED).count(),
        "changed": closed.filter(outcome=ModerationCase.Outcome.CHANGED).count(),
        "auditors": auditor_moderation_changes(cycle),
    }
