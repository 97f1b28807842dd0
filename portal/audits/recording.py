"""Recording an audit: started under the cycle's live rubric revision (pinned for good),
saved section by section with a version check so no change is silently lost, and submitted,
when the portal derives the grades. Only the assigned auditor may write; a submitted audit
is read-only."""

from decimal import ROUND_DOWN, Decimal
from functools import lru_cache

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from wagtail.log_actions import log
from wagtail.models import Revision

from portal.framework.models import RubricPage
from portal.framework.services import rubric_export

from .grading import RubricGrader
from .models import Audit
from .signals import audit_submitted

NO_PUBLISHED_RUBRIC = "There is no published rubric to audit against; ask a QA lead to publish one."
NOT_YOUR_AUDIT = "This audit belongs to another auditor."
ALREADY_SUBMITTED = "This audit has been submitted and can no longer be changed."
CHANGED_SINCE_OPENED = (
    "This audit was changed somewhere else (another tab or device) after you opened it. "
    "Your changes were not saved: reload the page to see the latest version, then make them "
    "again."
)
UNKNOWN_SECTION = "Section “{key}” is not in the rubric this audit uses."
SECTIONS_NOT_DONE = (
    "Every section needs its criteria ticked, or marking not applicable where the rubric "
    "allows it, before you submit. Not done yet: {sections}."
)


class AuditChanged(Exception):
    """The audit's version moved on since the form was opened."""


@lru_cache(maxsize=64)
def rubric_of_revision(revision_id):
    """The rubric (interchange format) of a rubric page revision. Revisions never change,
    so this is cached for the life of the process."""
    return rubric_export(Revision.objects.get(pk=revision_id).as_object())


@lru_cache(maxsize=64)
def grader_of_revision(revision_id):
    return RubricGrader(rubric_of_revision(revision_id))


def _rubric_revision_for(assignment):
    if assignment.rubric_revision_id:  # fixed in advance, as calibration against a reference
        return assignment.rubric_revision
    rubric = assignment.cycle.rubric if assignment.cycle_id else None
    if rubric is None:
        rubric = RubricPage.objects.live().order_by("-last_published_at").first()
    if rubric is None or rubric.live_revision_id is None:
        raise ValueError(NO_PUBLISHED_RUBRIC)
    return rubric.live_revision


def _check_writer(audit, user):
    if audit.assignment.auditor_id != user.pk:
        raise PermissionDenied(NOT_YOUR_AUDIT)
    if audit.status == Audit.Status.SUBMITTED:
        raise PermissionDenied(ALREADY_SUBMITTED)


@transaction.atomic
def audit_start(assignment, user):
    """The assignment's audit, created on first opening under the live rubric revision."""
    if assignment.auditor_id != user.pk:
        raise PermissionDenied(NOT_YOUR_AUDIT)
    audit = Audit.objects.filter(assignment=assignment).first()
    if audit is None:
        audit = Audit.objects.create(
            assignment=assignment, rubric_revision=_rubric_revision_for(assignment)
        )
        log(instance=audit, action="portal.audit.start", user=user)
    return audit


def _save(audit, user, version, changes, action):
    """Write `changes` only if nobody saved since `version`; raise AuditChanged otherwise."""
    updated = Audit.objects.filter(pk=audit.pk, version=version, status=Audit.Status.DRAFT).update(
        version=F("version") + 1, updated_at=timezone.now(), **changes
    )
    if not updated:
        audit.refresh_from_db()
        if audit.status == Audit.Status.SUBMITTED:
            raise PermissionDenied(ALREADY_SUBMITTED)
        raise AuditChanged(CHANGED_SINCE_OPENED)
    audit.refresh_from_db()
    log(instance=audit, action=action, user=user, data={"version": audit.version})
    return audit


@transaction.atomic
def audit_save_section(audit, user, version, key, *, met, not_applicable=False, note=""):
    """Record one section's ticks and note. The ticks are checked against the pinned rubric
    (unknown criteria, not-applicable where not allowed) before anything is written."""
    _check_writer(audit, user)
    grader = grader_of_revision(audit.rubric_revision_id)
    if key not in grader.sections:
        raise ValueError(UNKNOWN_SECTION.format(key=key))
    section_ticks = {"not_applicable": True} if not_applicable else {"met": sorted(set(met))}
    ticks = {"sections": {**audit.ticks.get("sections", {}), key: section_ticks}}
    grader.grade(ticks)  # raises ValueError on anything the rubric does not allow
    notes = {**audit.section_notes, key: note.strip()}
    return _save(
        audit, user, version, {"ticks": ticks, "section_notes": notes}, "portal.audit.save"
    )


@transaction.atomic
def audit_save_findings(audit, user, version, *, strengths, recommendations, summary):
    """Record the audit's strengths, recommendations and summary."""
    _check_writer(audit, user)
    return _save(
        audit,
        user,
        version,
        {
            "strengths": strengths.strip(),
            "recommendations": recommendations.strip(),
            "summary": summary.strip(),
        },
        "portal.audit.save",
    )


def audit_preview(audit):
    """The grades the audit's current ticks would earn (nothing is stored)."""
    return grader_of_revision(audit.rubric_revision_id).grade(audit.ticks)


@transaction.atomic
def audit_submit(audit, user, version):
    """Submit the audit: the portal derives and records the grades; it is read-only after.
    Refused while a section is untouched, which would otherwise count as nothing met."""
    _check_writer(audit, user)
    grader = grader_of_revision(audit.rubric_revision_id)
    not_done = [key for key in grader.sections if key not in audit.ticks.get("sections", {})]
    if not_done:
        raise ValueError(SECTIONS_NOT_DONE.format(sections=", ".join(not_done)))
    result = grader.grade(audit.ticks)
    audit = _save(
        audit,
        user,
        version,
        {
            "status": Audit.Status.SUBMITTED,
            "submitted_at": timezone.now(),
            "result": result,
            "overall_grade": result["overall"]["grade"],
            # Cut, never rounded, to the column's four places: thresholds have four places,
            # so the stored score never reaches a threshold the exact one misses.
            "overall_score": Decimal(result["overall"]["score"]).quantize(
                Decimal("0.0001"), rounding=ROUND_DOWN
            ),
        },
        "portal.audit.submit",
    )
    audit_submitted.send(sender=Audit, audit=audit, user=user)
    return audit


def audit_regrade(audit):
    """Grade a recorded audit again from its pinned revision and ticks (for verify_grades)."""
    return grader_of_revision(audit.rubric_revision_id).grade(audit.ticks)
