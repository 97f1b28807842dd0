"""Reads for the auditor's screens: the assignments an auditor may open, an audit's sections
with their status and derived grades, a section's grade for ticks not yet saved, and the
exemplars a rubric section links to."""

import datetime
from dataclasses import dataclass

from django.utils import timezone
from guardian.shortcuts import get_objects_for_user

from portal.framework.models import ExemplarPage
from portal.framework.rubric import GRADE_LABELS

from .cycles import VIEW_ASSIGNMENT
from .models import Assignment, Audit
from .recording import (
    UNKNOWN_SECTION,
    audit_preview,
    grader_of_revision,
    rubric_of_revision,
)

GRADE_SENTENCE = "Derived grade for this section: {grade} (score {score})"
NOT_APPLICABLE_SENTENCE = (
    "This section is marked not applicable, so it is left out of the plan's grade."
)
NOT_STARTED_SENTENCE = (
    "No grade yet: the grade for this section is worked out from the criteria you tick."
)


def viewable_assignments(user):
    """Assignments the user was granted (django-guardian's object permission, given to the
    auditor when the plan is assigned to them)."""
    return get_objects_for_user(user, VIEW_ASSIGNMENT, klass=Assignment)


@dataclass(frozen=True)
class AssignmentRow:
    assignment: Assignment
    audit: Audit | None
    today: datetime.date

    @property
    def status(self):
        return self.audit.status if self.audit else "not_started"

    @property
    def status_label(self):
        return {"not_started": "Not started", "draft": "In progress", "submitted": "Submitted"}[
            self.status
        ]

    @property
    def overdue(self):
        return self.status != Audit.Status.SUBMITTED and self.assignment.due_on < self.today

    @property
    def overall_grade_label(self):
        return GRADE_LABELS.get(self.audit.overall_grade) if self.audit else None


def assignments_for_auditor(user):
    """The auditor's own assignments, soonest due first, each with its audit's status; plan,
    cycle and audit come in the same query."""
    assignments = (
        viewable_assignments(user)
        .of_plans()
        .filter(auditor=user)
        .select_related("plan", "cycle", "audit")
        .order_by("due_on", "pk")
    )
    today = timezone.localdate()
    return [
        AssignmentRow(assignment, getattr(assignment, "audit", None), today)
        for assignment in assignments
    ]


def derived_grade_sentence(graded):
    """What the form says about a section's grade, from grade_audit's result for it."""
    if graded is None:
        return NOT_STARTED_SENTENCE
    if graded.get("not_applicable"):
        return NOT_APPLICABLE_SENTENCE
    return GRADE_SENTENCE.format(grade=GRADE_LABELS[graded["grade"]], score=graded["score"])


@dataclass(frozen=True)
class SectionProgress:
    """One rubric section of an audit: what was ticked and the grade it derives."""

    number: int
    section: dict
    status: str  # "not_started", "done" or "not_applicable"
    met: frozenset
    note: str
    graded: dict | None

    @property
    def key(self):
        return self.section["key"]

    @property
    def title(self):
        return self.section["title"]

    @property
    def status_label(self):
        return {
            "not_started": "Not yet started",
            "done": "Completed",
            "not_applicable": "Not applicable",
        }[self.status]

    @property
    def grade_label(self):
        return GRADE_LABELS[self.graded["grade"]] if self.graded and self.graded["grade"] else None

    @property
    def grade_sentence(self):
        return derived_grade_sentence(self.graded)

    @property
    def criteria(self):
        return [
            {**criterion, "met": criterion["key"] in self.met}
            for criterion in self.section["criteria"]
        ]

    @property
    def met_count(self):
        return len(self.met)


@dataclass(frozen=True)
class AuditProgress:
    audit: Audit
    sections: list
    overall: dict | None

    @property
    def total(self):
        return len(self.sections)

    @property
    def done_count(self):
        return sum(row.status != "not_started" for row in self.sections)

    @property
    def not_done(self):
        return [row for row in self.sections if row.status == "not_started"]

    @property
    def complete(self):
        return not self.not_done

    @property
    def first_not_done(self):
        return next(iter(self.not_done), self.sections[0])

    @property
    def overall_grade_label(self):
        return GRADE_LABELS[self.overall["grade"]] if self.overall else None

    @property
    def findings_started(self):
        return any((self.audit.strengths, self.audit.recommendations, self.audit.summary))

    def section(self, key):
        return next((row for row in self.sections if row.key == key), None)

    def neighbours(self, key):
        """The sections before and after `key` (None at either end)."""
        keys = [row.key for row in self.sections]
        index = keys.index(key)
        before = self.sections[index - 1] if index > 0 else None
        after = self.sections[index + 1] if index + 1 < len(keys) else None
        return before, after


def audit_progress(audit):
    """Every section of the audit's pinned rubric, in rubric order, with its status and
    derived grade: the recorded grades once submitted, otherwise the grades the saved ticks
    earn now. The overall grade is given once every section is done (or recorded)."""
    rubric = rubric_of_revision(audit.rubric_revision_id)
    ticks = audit.ticks.get("sections", {})
    submitted = audit.status == Audit.Status.SUBMITTED
    if submitted:
        result = audit.result
    else:
        try:
            result = audit_preview(audit)
        except ValueError:
            # Only when every section is marked not applicable, which saving refuses.
            result = None
    rows = []
    for number, section in enumerate(rubric["sections"], start=1):
        ticked = ticks.get(section["key"])
        if ticked is None:
            status = "not_started"
        elif ticked.get("not_applicable"):
            status = "not_applicable"
        else:
            status = "done"
        recorded = submitted or ticked is not None
        graded = result["sections"][section["key"]] if result and recorded else None
        rows.append(
            SectionProgress(
                number=number,
                section=section,
                status=status,
                met=frozenset((ticked or {}).get("met", [])),
                note=audit.section_notes.get(section["key"], ""),
                graded=graded,
            )
        )
    complete = all(row.status != "not_started" for row in rows)
    overall = result["overall"] if result and (complete or submitted) else None
    return AuditProgress(audit=audit, sections=rows, overall=overall)


def section_grade_preview(audit, key, *, met, not_applicable=False):
    """The grade one section would earn with these ticks, under the audit's pinned rubric and
    with its other sections as saved. Nothing is stored; raises ValueError as saving would."""
    grader = grader_of_revision(audit.rubric_revision_id)
    if key not in grader.sections:
        raise ValueError(UNKNOWN_SECTION.format(key=key))
    # The same ticks audit_save_section would store.
    section_ticks = {"not_applicable": True} if not_applicable else {"met": sorted(set(met))}
    ticks = {"sections": {**audit.ticks.get("sections", {}), key: section_ticks}}
    return grader.grade(ticks)["sections"][key]


def section_exemplars(section):
    """The live exemplar pages a rubric section links to (by slug, as the rubric stores them)."""
    if not section["exemplars"]:
        return ExemplarPage.objects.none()
    return ExemplarPage.objects.live().filter(slug__in=section["exemplars"]).order_by("title")
