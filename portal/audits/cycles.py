"""Audit cycles at work: drawing and storing a cycle's sample, assigning plans to auditors
(one at a time or a whole sample at once, load balanced), and conflicts of interest.
The rules themselves are in portal.audits.sampling and portal.audits.allocation."""

import uuid
from collections import defaultdict
from functools import partial
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils.dateformat import format as date_format
from guardian.shortcuts import assign_perm
from wagtail.log_actions import log

from portal.framework.roles import AUDITOR
from portal.training.selectors import accreditation_refusal

from .allocation import allocate
from .models import (
    Assignment,
    Audit,
    AuditCycle,
    ConflictDeclaration,
    Plan,
    PlanStage,
    SampledPlan,
)
from .sampling import draw_sample

SAMPLE_LOCKED = (
    "The sample cannot be drawn again: plans in this cycle have already been assigned to auditors."
)
NO_ELIGIBLE_PLANS = "No plans in the register are eligible for this cycle: {population}."
NO_SAMPLE = "This cycle has no sample yet: draw the sample before assigning its plans."
NO_AUDITORS_CHOSEN = "Choose at least one auditor to share the plans between."
INACTIVE_AUDITOR = "This auditor's account is switched off, so they cannot be given plans."
NOT_AN_AUDITOR = "This person is not in the Auditor group, so they cannot be given plans to audit."
DECLARED_CONFLICT = (
    "This auditor has declared a conflict of interest with this plan (they contributed to it "
    "or manage someone who did), so it must go to another auditor."
)
ALREADY_ASSIGNED = "This auditor has already been given this plan in this cycle."
UNKNOWN_CONFLICT_REASON = (
    "Say why there is a conflict of interest: you contributed to the plan, you manage someone "
    "who did, or another reason."
)

# The email names the plan only by its pseudonymous system ID: no key stage, need, locality
# or cycle name (a thematic cycle's name would say something about the child).
ASSIGNMENT_SUBJECT = "EHCP audit: plan {system_id} to audit by {due}"
ASSIGNMENTS_SUBJECT = "EHCP audit: {count} plans to audit by {due}"
ASSIGNMENT_BODY = """Hello {name},

You have been asked to audit {plans}. Please submit your {audits} by {due}.

Read the plan in the case-management system, then record your audit in the EHCP Quality
Assurance Portal:
{link}

If you contributed to a plan, or manage someone who did, do not audit it: declare the
conflict of interest in the portal so that a QA lead can give the plan to someone else.
"""
VIEW_ASSIGNMENT = "audits.view_assignment"


class CycleAssignment(NamedTuple):
    """What cycle_assign did: the assignments made, the plans (with a message) that did not
    get all the auditors they need, and the chosen auditors it refused (with a message)."""

    created: list
    uncovered: list
    refused: list


def _population_description(cycle, narrowed):
    if narrowed:
        return "none of the chosen plans fits the cycle's tier and dates"
    period = (
        f"issued between {date_format(cycle.starts_on, 'j F Y')} and "
        f"{date_format(cycle.ends_on, 'j F Y')}"
    )
    if cycle.tier == AuditCycle.Tier.NEW_PLANS:
        return f"new plans {period}"
    if cycle.tier == AuditCycle.Tier.ANNUAL_REVIEWS:
        return f"plans {period} after an annual review"
    return "the register has no plans"


def cycle_eligible_plans(cycle):
    """The plans a cycle samples from. New-plan and annual-review cycles cover a period: the
    plans at that stage issued between the cycle's start and end dates (inclusive), the
    register holding each plan's latest issue. A thematic cycle's theme is not a plan
    attribute, so it samples the whole register, whatever the stage and date; the QA lead
    narrows it with `plans` when drawing."""
    plans = Plan.objects.all()
    stage = {
        AuditCycle.Tier.NEW_PLANS: PlanStage.NEW_PLAN,
        AuditCycle.Tier.ANNUAL_REVIEWS: PlanStage.ANNUAL_REVIEW,
    }.get(cycle.tier)
    if stage is not None:
        plans = plans.filter(plan_stage=stage, date_issued__range=(cycle.starts_on, cycle.ends_on))
    return plans


def _locked(cycle):
    # Serialises draws and assignments of one cycle (a no-op on SQLite, which locks the file).
    return AuditCycle.objects.select_for_update().get(pk=cycle.pk)


@transaction.atomic
def cycle_draw_sample(cycle, *, plans=None, user=None):
    """Draw the cycle's sample from its eligible plans (see cycle_eligible_plans; `plans`
    narrows them further) with its stored rules and seed, replacing any earlier draw, and
    return the SampledPlan rows. The same seed and register give the same sample. Refused
    once any plan of the cycle has been assigned."""
    cycle = _locked(cycle)
    if cycle.assignments.exists():
        raise ValidationError(SAMPLE_LOCKED, code="sample_locked")
    population = cycle_eligible_plans(cycle)
    if plans is not None:
        keys = plans.values("pk") if isinstance(plans, QuerySet) else [plan.pk for plan in plans]
        population = population.filter(pk__in=keys)
    rows = list(population.values("pk", "system_id", "key_stage", "primary_need", "locality"))
    if not rows:
        raise ValidationError(
            NO_ELIGIBLE_PLANS.format(population=_population_description(cycle, plans is not None)),
            code="no_eligible_plans",
        )
    try:
        sample = draw_sample(
            rows,
            size=cycle.sample_size,
            share=cycle.sample_share,
            stratify_by=cycle.stratify_by,
            double_share=cycle.double_audit_share,
            seed=cycle.seed,
        )
    except ValueError as error:
        raise ValidationError(str(error), code="sample_rules") from error

    plan_ids = {row["system_id"]: row["pk"] for row in rows}
    doubles = set(sample.double_audited)
    cycle.sample.all().delete()
    SampledPlan.objects.bulk_create(
        SampledPlan(cycle=cycle, plan_id=plan_ids[system_id], double_audit=system_id in doubles)
        for system_id in sample.system_ids
    )
    log(
        instance=cycle,
        action="portal.cycle.draw_sample",
        user=user,
        data={
            "seed": cycle.seed,
            "eligible": len(rows),
            "narrowed_to_chosen_plans": plans is not None,
            "sampled": len(sample.system_ids),
            "double_audited": len(doubles),
        },
    )
    return list(cycle.sample.select_related("plan").order_by("plan__system_id"))


def auditor_refusal(auditor, plan=None):
    """Why `auditor` may not be given `plan` (without a plan: any plan), as one of this
    module's messages, or None when they may. Every way of assigning plans asks this."""
    if not auditor.is_active:
        return INACTIVE_AUDITOR
    if not auditor.groups.filter(name=AUDITOR).exists():
        return NOT_AN_AUDITOR
    refusal = accreditation_refusal(auditor)
    if refusal:
        return refusal
    if plan is not None and ConflictDeclaration.objects.filter(auditor=auditor, plan=plan).exists():
        return DECLARED_CONFLICT
    return None


def open_assignment_counts(auditors):
    """{auditor pk: number of their assignments not yet audited and submitted}, any cycle."""
    counts = (
        Assignment.objects.of_plans()
        .filter(auditor__in=auditors)
        .exclude(audit__status=Audit.Status.SUBMITTED)
        .values("auditor")
        .annotate(open=Count("pk"))
        .order_by()
    )
    return {row["auditor"]: row["open"] for row in counts}


def my_audits_url():
    """The absolute address of the auditor's "My audits" page."""
    try:
        path = reverse("my_audits")
    except NoReverseMatch:
        path = "/audits/"
    return settings.WAGTAILADMIN_BASE_URL.rstrip("/") + path


def _assignment_email_queue(auditor, system_ids, due_on):
    """Tell the auditor about their new plans once the transaction commits (so a rolled
    back assignment never sends mail); the mail backend then hands it to Celery."""
    if not auditor.email:
        return
    due = date_format(due_on, "j F Y")
    system_ids = sorted(system_ids)
    if len(system_ids) == 1:
        subject = ASSIGNMENT_SUBJECT.format(system_id=system_ids[0], due=due)
        plans, audits = f"EHC plan {system_ids[0]}", "audit"
    else:
        subject = ASSIGNMENTS_SUBJECT.format(count=len(system_ids), due=due)
        plans, audits = "these EHC plans: " + ", ".join(system_ids), "audits"
    body = ASSIGNMENT_BODY.format(
        name=auditor.get_full_name() or auditor.get_username(),
        plans=plans,
        audits=audits,
        due=due,
        link=my_audits_url(),
    )
    transaction.on_commit(partial(send_mail, subject, body, None, [auditor.email]), robust=True)


def _assignment_record(assignment, assigned_by, batch=None):
    log(
        instance=assignment,
        action="portal.assignment.create",
        user=assigned_by,
        uuid=batch,
        data={
            "plan": assignment.plan.system_id,
            "auditor": assignment.auditor.get_username(),
            "due_on": assignment.due_on.isoformat(),
            "cycle": assignment.cycle_id,
        },
    )


@transaction.atomic
def assignment_create(plan, auditor, due_on, assigned_by, cycle=None):
    """Give `plan` to `auditor` to audit by `due_on`: refused (ValidationError with one of
    this module's messages) for someone auditor_refusal turns down or who already has the
    plan in this cycle (without a cycle: an open assignment of it). The auditor may then
    view the assignment, and gets an email with a link once the transaction commits."""
    if cycle is not None:
        cycle = _locked(cycle)
    refusal = auditor_refusal(auditor, plan)
    if refusal:
        raise ValidationError(refusal, code="refused")
    existing = Assignment.objects.filter(plan=plan, auditor=auditor, cycle=cycle)
    if cycle is None:
        existing = existing.exclude(audit__status=Audit.Status.SUBMITTED)
    if existing.exists():
        raise ValidationError(ALREADY_ASSIGNED, code="already_assigned")
    try:
        with transaction.atomic():
            assignment = Assignment.objects.create(
                cycle=cycle, plan=plan, auditor=auditor, due_on=due_on, assigned_by=assigned_by
            )
    except IntegrityError as error:  # the same assignment made at the same moment elsewhere
        raise ValidationError(ALREADY_ASSIGNED, code="already_assigned") from error
    assign_perm(VIEW_ASSIGNMENT, auditor, assignment)
    _assignment_record(assignment, assigned_by)
    _assignment_email_queue(auditor, [plan.system_id], due_on)
    return assignment


@transaction.atomic
def cycle_assign(cycle, auditors, due_on, assigned_by):
    """Share the cycle's sampled plans that still need auditors among `auditors`, in one
    transaction: double-audited plans to two different auditors, nobody with a conflict
    or already holding the plan, and each auditor's open assignments counted so the load
    evens out. Each auditor gets one email listing their new plans."""
    cycle = _locked(cycle)
    sample = list(cycle.sample.select_related("plan").order_by("plan__system_id"))
    if not sample:
        raise ValidationError(NO_SAMPLE, code="no_sample")
    chosen = list({auditor.pk: auditor for auditor in auditors}.values())
    if not chosen:
        raise ValidationError(NO_AUDITORS_CHOSEN, code="no_auditors")
    refused = []
    free = {}
    for auditor in chosen:
        refusal = auditor_refusal(auditor)
        if refusal:
            refused.append((auditor, refusal))
        else:
            free[auditor.pk] = auditor

    holders = defaultdict(set)
    for plan_id, auditor_id in cycle.assignments.values_list("plan_id", "auditor_id"):
        holders[plan_id].add(auditor_id)
    needed = {
        sampled.plan_id: (2 if sampled.double_audit else 1) - len(holders[sampled.plan_id])
        for sampled in sample
    }
    to_cover = [plan_id for plan_id, count in needed.items() if count > 0]
    conflicts = set(
        ConflictDeclaration.objects.filter(
            auditor_id__in=list(free), plan_id__in=to_cover
        ).values_list("auditor_id", "plan_id")
    )
    conflicts |= {(auditor_id, plan_id) for plan_id in to_cover for auditor_id in holders[plan_id]}
    allocation = allocate(
        to_cover,
        free,
        double={plan_id for plan_id in to_cover if needed[plan_id] == 2},
        conflicts=conflicts,
        existing_load=open_assignment_counts(list(free)),
    )

    plans = {sampled.plan_id: sampled.plan for sampled in sample}
    batch = uuid.uuid4()
    created = []
    by_auditor = defaultdict(list)
    for plan_id, auditor_id in allocation.pairs:
        assignment = Assignment.objects.create(
            cycle=cycle,
            plan=plans[plan_id],
            auditor=free[auditor_id],
            due_on=due_on,
            assigned_by=assigned_by,
        )
        _assignment_record(assignment, assigned_by, batch)
        created.append(assignment)
        by_auditor[auditor_id].append(assignment)
    for auditor_id, assignments in by_auditor.items():
        assign_perm(VIEW_ASSIGNMENT, free[auditor_id], assignments)
        _assignment_email_queue(
            free[auditor_id], [assignment.plan.system_id for assignment in assignments], due_on
        )
    uncovered = [(plans[plan_id], message) for plan_id, message in allocation.uncovered]
    return CycleAssignment(created, uncovered, refused)


@transaction.atomic
def conflict_declare(auditor, plan, reason, declared_by=None):
    """Record that `auditor` has a conflict of interest with `plan` (a
    ConflictDeclaration.Reason), so the plan is never assigned to them; declaring again
    updates the reason. `declared_by` is a QA lead recording it for them (default: the
    auditor). Assignments they already hold are left for a QA lead to move."""
    if reason not in ConflictDeclaration.Reason.values:
        raise ValidationError(UNKNOWN_CONFLICT_REASON, code="unknown_reason")
    declaration, _ = ConflictDeclaration.objects.update_or_create(
        auditor=auditor, plan=plan, defaults={"reason": reason}
    )
    log(
        instance=declaration,
        action="portal.conflict.declare",
        user=declared_by or auditor,
        data={"plan": plan.system_id, "reason": reason},
    )
    return declaration
