"""Recording an audit: the pinned rubric revision, saves that never lose another's change,
tampering refused, grades derived on submit and re-derivable for good (verify_grades)."""

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from wagtail.models import ModelLogEntry

from portal.audits.grading import UNKNOWN_CRITERION_TICKED, grade_audit
from portal.audits.models import (
    Audit,
)
from portal.audits.recording import (
    ALREADY_SUBMITTED,
    CHANGED_SINCE_OPENED,
    NOT_YOUR_AUDIT,
    AuditChanged,
    audit_save_findings,
    audit_save_section,
    audit_start,
    audit_submit,
)
from portal.framework.services import rubric_export, rubric_import

from ..factories import UserFactory
from .factories import AssignmentFactory, AuditCycleFactory, PlanFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def assignment(rubric_page, auditor):
    return AssignmentFactory(
        plan=PlanFactory(system_id="EHC-000001"),
        cycle=AuditCycleFactory(rubric=rubric_page),
        auditor=auditor,
    )


def complete(audit, user):
    audit = audit_save_section(audit, user, audit.version, "A", met=["A1", "A2"], note="Clear.")
    audit = audit_save_section(audit, user, audit.version, "J", met=[], not_applicable=True)
    return audit_save_findings(
        audit,
        user,
        audit.version,
        strengths="The child's voice.",
        recommendations="None.",
        summary="A good plan.",
    )


def test_an_audit_pins_the_live_rubric_revision_it_was_started_under(assignment, auditor):
    audit = audit_start(assignment, auditor)
    assert audit.rubric_revision == assignment.cycle.rubric.live_revision
    assert audit_start(assignment, auditor) == audit  # reopening does not start another


def test_submitting_records_the_derived_grades(assignment, auditor, rubric_page):
    audit = complete(audit_start(assignment, auditor), auditor)
    audit = audit_submit(audit, auditor, audit.version)

    expected = grade_audit(rubric_export(rubric_page), audit.ticks)
    assert audit.status == Audit.Status.SUBMITTED
    assert audit.result == expected
    assert audit.overall_grade == expected["overall"]["grade"] == "outstanding"
    assert audit.result["sections"]["J"] == {"not_applicable": True, "grade": None}
    assert audit.section_notes["A"] == "Clear."


def test_publishing_a_new_rubric_revision_never_changes_a_recorded_grade(
    assignment, auditor, rubric_page
):
    audit = complete(audit_start(assignment, auditor), auditor)
    audit = audit_submit(audit, auditor, audit.version)
    recorded = audit.result

    # The QA leads make A2 essential and add a criterion the audit never ticked.
    data = rubric_export(rubric_page)
    data["sections"][0]["criteria"][1]["essential"] = True
    data["sections"][0]["criteria"].append(
        {"key": "A3", "text": "New.", "weight": 5, "essential": True, "guidance": ""}
    )
    revision, _ = rubric_import(rubric_page, data)
    revision.publish()

    audit.refresh_from_db()
    assert audit.result == recorded
    assert audit.rubric_revision_id != revision.pk
    call_command("verify_grades")  # still re-grades to the recorded result


def test_a_save_from_a_stale_form_is_refused_and_loses_nothing(assignment, auditor):
    audit = audit_start(assignment, auditor)
    opened_at = audit.version
    audit_save_section(audit, auditor, opened_at, "A", met=["A1"], note="First tab.")

    with pytest.raises(AuditChanged) as refused:
        audit_save_section(audit, auditor, opened_at, "A", met=[], note="Second tab.")
    assert str(refused.value) == CHANGED_SINCE_OPENED
    audit.refresh_from_db()
    assert audit.ticks["sections"]["A"] == {"met": ["A1"]}
    assert audit.section_notes["A"] == "First tab."


def test_tampered_saves_change_nothing(assignment, auditor):
    audit = audit_start(assignment, auditor)
    other = UserFactory(roles=["Auditor"])

    with pytest.raises(ValueError) as unknown:
        audit_save_section(audit, auditor, audit.version, "A", met=["J1"])
    assert str(unknown.value) == UNKNOWN_CRITERION_TICKED.format(criterion="J1", key="A")
    with pytest.raises(PermissionDenied) as not_theirs:
        audit_save_section(audit, other, audit.version, "A", met=["A1"])
    assert str(not_theirs.value) == NOT_YOUR_AUDIT
    with pytest.raises(PermissionDenied):
        audit_start(audit.assignment, other)

    audit.refresh_from_db()
    assert audit.ticks == {}
    assert audit.version == 1


def test_a_submitted_audit_is_read_only(assignment, auditor):
    audit = complete(audit_start(assignment, auditor), auditor)
    audit = audit_submit(audit, auditor, audit.version)
    with pytest.raises(PermissionDenied) as refused:
        audit_save_section(audit, auditor, audit.version, "A", met=[])
    assert str(refused.value) == ALREADY_SUBMITTED
    with pytest.raises(PermissionDenied):
        audit_submit(audit, auditor, audit.version)


def test_every_start_save_and_submit_is_in_the_audit_log(assignment, auditor):
    audit = complete(audit_start(assignment, auditor), auditor)
    audit_submit(audit, auditor, audit.version)
    actions = list(
        ModelLogEntry.objects.filter(object_id=str(audit.pk))
        .order_by("timestamp", "pk")
        .values_list("action", "user_id")
    )
    assert [action for action, _ in actions] == [
        "portal.audit.start",
        "portal.audit.save",
        "portal.audit.save",
        "portal.audit.save",
        "portal.audit.submit",
    ]
    assert {user for _, user in actions} == {auditor.pk}


def test_verify_grades_reports_a_recorded_grade_that_does_not_re_derive(
    assignment, auditor, capsys
):
    audit = complete(audit_start(assignment, auditor), auditor)
    audit = audit_submit(audit, auditor, audit.version)
    call_command("verify_grades")
    assert "All 1 submitted audits re-grade" in capsys.readouterr().out

    Audit.objects.filter(pk=audit.pk).update(overall_grade="inadequate")
    with pytest.raises(CommandError, match="1 of 1 submitted audits do not re-grade"):
        call_command("verify_grades")
    assert f"Audit {audit.pk} (plan EHC-000001): recorded inadequate" in capsys.readouterr().err
