"""Keeping AuditFact current: one row per submitted plan audit, written when the audit is
submitted and rewritten when its moderation case closes, so reports always count the grade
that stands (the moderated one where there is one). `audit_facts_rebuild` rewrites them all
from the audits (after an import, or to check nothing drifted)."""

from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from portal.framework.plan_sections import SECTION_KEYS

from .models import Audit, AuditFact, ModerationCase, section_column
from .signals import audit_submitted, moderation_closed


def _fact_fields(audit, case):
    assignment = audit.assignment
    plan, cycle = assignment.plan, assignment.cycle
    profile = getattr(assignment.auditor, "staff_profile", None)
    sections = (audit.result or {}).get("sections", {})
    moderated_sections = case.section_grades if case else {}
    fields = {
        "plan": plan,
        "cycle": cycle,
        "tier": cycle.tier if cycle else "",
        "theme": cycle.theme if cycle else "",
        "key_stage": plan.key_stage,
        "primary_need": plan.primary_need,
        "setting_type": plan.setting_type,
        "locality": plan.locality,
        "plan_stage": plan.plan_stage,
        "agency": profile.agency if profile else "",
        "submitted_on": timezone.localdate(audit.submitted_at),
        "grade": case.moderated_grade if case else audit.overall_grade,
        "auditor_grade": audit.overall_grade,
        "moderated": case is not None,
    }
    for key in SECTION_KEYS:
        graded = sections.get(key) or {}
        fields[section_column(key)] = moderated_sections.get(key) or graded.get("grade") or ""
    return fields


def _closed_case(audit):
    return (
        ModerationCase.objects.filter(audits=audit, status=ModerationCase.Status.CLOSED)
        .order_by("-closed_at")
        .first()
    )


def audit_fact_refresh(audit):
    """Write the audit's fact row (a submitted plan audit only); returns it or None."""
    if audit.status != Audit.Status.SUBMITTED or not audit.assignment.plan_id:
        return None
    audit = (
        Audit.objects.select_related(
            "assignment__plan", "assignment__cycle", "assignment__auditor__staff_profile"
        )
    ).get(pk=audit.pk)
    fact, _ = AuditFact.objects.update_or_create(
        audit=audit, defaults=_fact_fields(audit, _closed_case(audit))
    )
    return fact


@transaction.atomic
def audit_facts_rebuild(batch_size=2000):
    """Rewrite every fact row from the audits; returns how many were written."""
    AuditFact.objects.all().delete()
    audits = (
        Audit.objects.of_plans()
        .filter(status=Audit.Status.SUBMITTED)
        .select_related(
            "assignment__plan", "assignment__cycle", "assignment__auditor__staff_profile"
        )
        .order_by("pk")
    )
    closed = {}
    for case in ModerationCase.objects.filter(status=ModerationCase.Status.CLOSED).order_by(
        "closed_at"
    ):
        for audit_id in case.audits.values_list("pk", flat=True):
            closed[audit_id] = case
    written, rows = 0, []
    for audit in audits.iterator(chunk_size=batch_size):
        rows.append(AuditFact(audit=audit, **_fact_fields(audit, closed.get(audit.pk))))
        if len(rows) >= batch_size:
            AuditFact.objects.bulk_create(rows)
            written += len(rows)
            rows = []
    AuditFact.objects.bulk_create(rows)
    return written + len(rows)


@receiver(audit_submitted, dispatch_uid="portal.audits.facts.submitted")
def _submitted(sender, audit, **kwargs):
    audit_fact_refresh(audit)


@receiver(moderation_closed, dispatch_uid="portal.audits.facts.moderated")
def _moderated(sender, case, **kwargs):
    for audit in case.audits.all():
        audit_fact_refresh(audit)
