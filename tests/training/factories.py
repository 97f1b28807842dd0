"""Training pages and the steps of calibration, built with the real services: a case's
reference recorded through the audit services, and an audit completed with given ticks."""

import factory
import wagtail_factories

from portal.audits.recording import (
    audit_save_section,
    audit_start,
    audit_submit,
    rubric_of_revision,
)
from portal.training import models
from portal.training.services import calibration_reference_start


class TrainingIndexPageFactory(wagtail_factories.PageFactory):
    class Meta:
        model = models.TrainingIndexPage

    title = "Auditor training"
    slug = "auditor-training"


class TrainingModulePageFactory(wagtail_factories.PageFactory):
    class Meta:
        model = models.TrainingModulePage

    title = factory.Sequence(lambda n: f"Module {n}")
    summary = "How to read a plan against the standards."
    duration_minutes = 20


class CalibrationCasePageFactory(wagtail_factories.PageFactory):
    class Meta:
        model = models.CalibrationCasePage

    title = factory.Sequence(lambda n: f"Case {n}")
    summary = "An invented plan for a child in key stage 2."
    plan_sections = factory.LazyFunction(
        lambda: [
            ("section", {"section": "A", "text": "<p>“I like trains,” says Sam.</p>"}),
            ("section", {"section": "J", "text": "<p>No personal budget was asked for.</p>"}),
        ]
    )


QUESTIONS = [
    (
        "question",
        {
            "question": "Who chooses the grade of a section?",
            "options": [
                {"text": "The auditor", "correct": False},
                {"text": "The portal, from the criteria ticked", "correct": True},
            ],
            "explanation": "Auditors tick criteria; grades are derived.",
        },
    ),
    (
        "question",
        {
            "question": "What goes in a section note?",
            "options": [
                {"text": "The child's name", "correct": False},
                {"text": "What the section does well and misses", "correct": True},
                {"text": "Nothing", "correct": False},
            ],
            "explanation": "Never anything that identifies the child.",
        },
    ),
]


def audit_complete(assignment, user, ticks, *, submit=True):
    """Open the assignment's audit, record `ticks` ({"A": ["A1"], "J": None} where None
    is not applicable) section by section, and submit it."""
    audit = audit_start(assignment, user)
    for key, met in ticks.items():
        audit = audit_save_section(
            audit, user, audit.version, key, met=met or [], not_applicable=met is None
        )
    if submit:
        audit = audit_submit(audit, user, audit.version)
    return audit


def case_with_reference(parent, qa_lead, ticks, **fields):
    """A calibration case whose reference `qa_lead` recorded with `ticks`."""
    case = CalibrationCasePageFactory(parent=parent, **fields)
    reference = calibration_reference_start(case, qa_lead)
    audit_complete(reference.assignment, qa_lead, ticks)
    return case


def rubric_keys(audit):
    """The criterion keys of the rubric revision an audit pinned."""
    rubric = rubric_of_revision(audit.rubric_revision_id)
    return [c["key"] for section in rubric["sections"] for c in section["criteria"]]
