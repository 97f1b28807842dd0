"""Moderation at work: a submitted audit joins its plan's case in the queue when the rules in
portal.audits.moderation_rules say so, and a moderator records the moderated grade, section
grades where they differ and the rationale, then closes the case. The auditors' own audits
are never changed. Every decision is in the audit log."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.dispatch import receiver
from django.utils import timezone
from wagtail.log_actions import log

from portal.framework.rubric import GRADES

from .models import Assignment, Audit, ModerationCase, Plan, SampledPlan
from .moderation_rules import in_moderation_sample, moderation_outcome, moderation_reasons
from .recording import rubric_of_revision
from .signals import audit_submitted, moderation_closed

MODERATE = "audits.change_moderationcase"
NOT_A_MODERATOR = "Only moderators can record a moderation decision."
MODERATOR_AUDITED = (
    "You were given this plan to audit, so you cannot moderate it: another moderator must."
)
CASE_CLOSED = "This case is closed: its moderated grade can no longer be changed."
CASE_CHANGED = (
    "This case was changed by someone else (or another audit of the plan came in) after you "
    "opened it. Your changes were not saved: reload the page to see the latest, then make "
    "them again."
)
GRADE_MISSING = "Choose the moderated overall grade."
RATIONALE_MISSING = "Give the rationale: why the grade is confirmed or changed."
UNKNOWN_GRADE = "“{grade}” is not a grade."
UNKNOWN_SECTION = "Section “{key}” is not in the rubric these audits were made under."


def moderator_refusal(case, user):
    """Why `user` may not record a decision on `case`, or None."""
    if not user.has_perm(MODERATE):
        return NOT_A_MODERATOR
    if Assignment.objects.filter(plan_id=case.plan_id, auditor=user).exists():
        return MODERATOR_AUDITED
    return None


def case_audits(case):
    """The case's audits, with their auditors, oldest submission first."""
    return case.audits.select_related("assignment__auditor", "assignment__plan").order_by(
        "submitted_at", "pk"
    )


@transaction.atomic
def moderation_queue_update(audit):
    """Put a submitted plan audit in its plan's open case for the cycle when the rules say
    the plan is moderated, creating the case or adding the audit and its reasons to it.
    Returns the case, or None when the plan is not (yet) moderated."""
    assignment = audit.assignment
    if not assignment.plan_id:
        return None  # a calibration case: training, not moderation
    plan = Plan.objects.select_for_update().get(pk=assignment.plan_id)  # one case at a time
    cycle = assignment.cycle
    audits = list(
        Audit.objects.of_plans()
        .filter(
            assignment__plan=plan,
            assignment__cycle=cycle,
            status=Audit.Status.SUBMITTED,
        )
        .exclude(moderation_cases__status=ModerationCase.Status.CLOSED)
        .order_by("submitted_at", "pk")
    )
    double = cycle is not None and (
        SampledPlan.objects.filter(cycle=cycle, plan=plan, double_audit=True).exists()
    )
    reasons = moderation_reasons(
        grades=[item.overall_grade for item in audits],
        double_audit=double,
        in_sample=cycle is not None
        and in_moderation_sample(cycle.seed, plan.system_id, cycle.moderation_share),
    )
    if not reasons:
        return None
    case = (
        ModerationCase.objects.filter(plan=plan, cycle=cycle)
        .exclude(status=ModerationCase.Status.CLOSED)
        .first()
    )
    if case is None:
        case = ModerationCase.objects.create(
            plan=plan, cycle=cycle, **ModerationCase.reason_fields(reasons)
        )
        action = "portal.moderation.queue"
    else:
        ModerationCase.objects.filter(pk=case.pk).update(
            version=F("version") + 1,
            updated_at=timezone.now(),
            **ModerationCase.reason_fields(reasons),
        )
        case.refresh_from_db()
        action = "portal.moderation.audit_added"
    case.audits.add(*audits)
    log(
        instance=case,
        action=action,
        user=None,
        data={"plan": plan.system_id, "reasons": reasons, "audits": [a.pk for a in audits]},
    )
    return case


@receiver(audit_submitted, dispatch_uid="portal.audits.moderation_queue")
def _queue_submitted(sender, audit, **kwargs):
    moderation_queue_update(audit)


def _section_keys(case):
    keys = set()
    for revision_id in case.audits.values_list("rubric_revision_id", flat=True).distinct():
        keys |= {section["key"] for section in rubric_of_revision(revision_id)["sections"]}
    return keys


def _check_decision(case, grade, section_grades, rationale, closing):
    errors = {}
    if grade and grade not in GRADES:
        errors["grade"] = UNKNOWN_GRADE.format(grade=grade)
    elif closing and not grade:
        errors["grade"] = GRADE_MISSING
    if closing and not rationale.strip():
        errors["rationale"] = RATIONALE_MISSING
    keys = _section_keys(case)
    for key, section_grade in section_grades.items():
        if key not in keys:
            errors["section_grades"] = UNKNOWN_SECTION.format(key=key)
        elif section_grade not in GRADES:
            errors["section_grades"] = UNKNOWN_GRADE.format(grade=section_grade)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def moderation_case_record(
    case, moderator, version, *, grade, section_grades, rationale, close=False
):
    """Record the moderator's decision (a draft while `close` is false, and the case shows
    as being moderated), or close the case with it: a grade and a rationale are then needed,
    and the outcome (confirmed or changed) is derived from the auditors' grades. Refused for
    anyone not a moderator or who was given the plan, on a closed case, or when the case
    changed since `version` was read."""
    refusal = moderator_refusal(case, moderator)
    if refusal:
        raise PermissionDenied(refusal)
    if case.status == ModerationCase.Status.CLOSED:
        raise PermissionDenied(CASE_CLOSED)
    section_grades = {key: value for key, value in section_grades.items() if value}
    _check_decision(case, grade, section_grades, rationale, close)
    changes = {
        "moderator": moderator,
        "moderated_grade": grade or "",
        "section_grades": section_grades,
        "rationale": rationale.strip(),
        "status": ModerationCase.Status.IN_PROGRESS,
        "updated_at": timezone.now(),
    }
    if close:
        grades = list(case.audits.values_list("overall_grade", flat=True))
        changes.update(
            status=ModerationCase.Status.CLOSED,
            outcome=moderation_outcome(grade, grades),
            closed_at=timezone.now(),
        )
    updated = (
        ModerationCase.objects.filter(pk=case.pk, version=version)
        .exclude(status=ModerationCase.Status.CLOSED)
        .update(version=F("version") + 1, **changes)
    )
    if not updated:
        case.refresh_from_db()
        if case.status == ModerationCase.Status.CLOSED:
            raise PermissionDenied(CASE_CLOSED)
        raise ValidationError(CASE_CHANGED, code="changed")
    case.refresh_from_db()
    if close:
        moderation_closed.send(sender=ModerationCase, case=case)
    log(
        instance=case,
        action="portal.moderation.close" if close else "portal.moderation.record",
        user=moderator,
        data={
            "plan": case.plan.system_id,
            "moderated_grade": case.moderated_grade,
            "section_grades": case.section_grades,
            "outcome": case.outcome,
        },
    )
    return case
