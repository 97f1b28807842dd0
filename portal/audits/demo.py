"""Demo audits: a synthetic plan register, a cycle with a stratified sample, assignments
shared between the demo auditors, and audits across every grade, so the audit screens have
something to show on first run. Fixed seed: the same demo every time."""

import datetime
import random

from django.db import transaction
from django.utils import timezone

from portal.framework.models import RubricPage
from portal.framework.rubric import GRADES

from .actions import action_raise, action_update
from .cycles import conflict_declare, cycle_assign, cycle_draw_sample
from .facts import audit_facts_rebuild
from .models import (
    Action,
    Audit,
    AuditCycle,
    KeyStage,
    ModerationCase,
    Plan,
    PlanStage,
    PrimaryNeed,
    SettingType,
)
from .moderation import moderation_case_record
from .recording import (
    audit_save_findings,
    audit_save_section,
    audit_start,
    audit_submit,
    rubric_of_revision,
)

SEED = 2026
DEMO_CYCLE = "Autumn 2026: new plans"
PLAN_COUNT = 400
LOCALITIES = ["North", "South", "East", "West", "Central"]
# Roughly the shares of England's EHCP population (SEN2), for a believable register.
NEEDS = [
    ("ASD", 33),
    ("SLCN", 20),
    ("SEMH", 16),
    ("MLD", 9),
    ("SLD", 6),
    ("SPLD", 4),
    ("PD", 3),
    ("PMLD", 2),
    ("HI", 2),
    ("VI", 1),
    ("MSI", 1),
    ("OTH", 3),
]
KEY_STAGES = [
    ("EY", 8),
    ("KS1", 16),
    ("KS2", 24),
    ("KS3", 20),
    ("KS4", 16),
    ("KS5", 10),
    ("POST19", 6),
]
SETTINGS = [
    ("mainstream", 40),
    ("special", 35),
    ("resourced", 8),
    ("early_years", 5),
    ("fe_college", 6),
    ("independent_special", 4),
    ("alternative_provision", 2),
]
# How thoroughly each demo audit's plan meets the criteria, to spread the grades.
PLAN_QUALITY = [0.97, 0.8, 0.55, 0.25]


def _pick(rng, weighted):
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights)[0]


def _plans(rng, cycle_start):
    plans = []
    for number in range(PLAN_COUNT):
        new = rng.random() < 0.45
        if new:
            issued = cycle_start + datetime.timedelta(days=rng.randrange(0, 80))
        else:
            issued = cycle_start - datetime.timedelta(days=rng.randrange(30, 1500))
        plans.append(
            Plan(
                system_id=f"EHC-{700000 + number * 37:06d}",
                key_stage=KeyStage(_pick(rng, KEY_STAGES)),
                primary_need=PrimaryNeed(_pick(rng, NEEDS)),
                setting_type=SettingType(_pick(rng, SETTINGS)),
                locality=rng.choice(LOCALITIES),
                plan_stage=PlanStage.NEW_PLAN if new else PlanStage.ANNUAL_REVIEW,
                date_issued=issued,
            )
        )
    return plans


def _complete(audit, auditor, rng, quality):
    rubric = rubric_of_revision(audit.rubric_revision_id)
    for section in rubric["sections"]:
        if section["may_be_not_applicable"] and rng.random() < 0.25:
            audit = audit_save_section(
                audit, auditor, audit.version, section["key"], met=[], not_applicable=True
            )
            continue
        met = [c["key"] for c in section["criteria"] if rng.random() < quality]
        audit = audit_save_section(
            audit,
            auditor,
            audit.version,
            section["key"],
            met=met,
            note="Checked against the plan in the case-management system.",
        )
    return audit_save_findings(
        audit,
        auditor,
        audit.version,
        strengths="The child's own words open the plan and are carried into the outcomes.",
        recommendations="Quantify the speech and language therapy in section F.",
        summary="A plan a family could use; provision needs to be specified more exactly.",
    )


def _spread_submissions(cycle):
    """Submission dates spread over the cycle so far (the demo runs in a moment), so that
    reports by period and quarter have something to compare; report rows follow."""
    audits = list(
        Audit.objects.filter(assignment__cycle=cycle, status=Audit.Status.SUBMITTED).order_by("pk")
    )
    now = timezone.now()
    start = timezone.make_aware(
        datetime.datetime.combine(cycle.starts_on + datetime.timedelta(days=14), datetime.time(11))
    )
    step = max((now - start) / max(len(audits), 1), datetime.timedelta(hours=1))
    for number, audit in enumerate(audits):
        audit.submitted_at = min(start + step * number, now)
    Audit.objects.bulk_update(audits, ["submitted_at"])
    audit_facts_rebuild()


@transaction.atomic
def load_demo_audits(auditors, qa_lead):
    """Create the demo register, cycle, assignments and audits unless the cycle exists.
    Returns a one-line description of what was done."""
    if AuditCycle.objects.filter(name=DEMO_CYCLE).exists():
        return "Demo audits already present; nothing changed."
    rubric = RubricPage.objects.live().first()
    rng = random.Random(SEED)  # noqa: S311 - reproducible demo data, not a secret
    starts_on = datetime.date(2026, 9, 1)
    if not Plan.objects.exists():
        Plan.objects.bulk_create(_plans(rng, starts_on))
    cycle = AuditCycle.objects.create(
        name=DEMO_CYCLE,
        tier=AuditCycle.Tier.NEW_PLANS,
        starts_on=starts_on,
        ends_on=datetime.date(2026, 11, 30),
        rubric=rubric,
        sample_size=60,
        stratify_by=["key_stage"],
        double_audit_share="0.25",
        moderation_share="0.2",
        seed=SEED,
    )
    sampled = cycle_draw_sample(cycle, user=qa_lead)
    first_plan = cycle.sample.order_by("plan__system_id").first().plan
    conflict_declare(auditors[0], first_plan, "contributed")
    assigned = cycle_assign(cycle, auditors, datetime.date(2026, 12, 18), qa_lead)

    submitted = 0
    for index, assignment in enumerate(assigned.created):
        auditor = assignment.auditor
        # The first demo auditor keeps a few to do, and one half done, for the screens.
        if auditor == auditors[0] and index % 4 == 0:
            continue
        audit = audit_start(assignment, auditor)
        quality = PLAN_QUALITY[index % len(PLAN_QUALITY)]
        audit = _complete(audit, auditor, rng, quality)
        if auditor == auditors[0] and index % 4 == 1:
            continue
        audit_submit(audit, auditor, audit.version)
        submitted += 1
    _spread_submissions(cycle)
    return (
        f"Demo audits: {Plan.objects.count()} plans, cycle “{cycle.name}” with "
        f"{len(sampled)} sampled, "
        f"{len(assigned.created)} assignments, {submitted} submitted audits."
    )


def _close(case, moderator, grade, rationale):
    return moderation_case_record(
        case,
        moderator,
        case.version,
        grade=grade,
        section_grades={},
        rationale=rationale,
        close=True,
    )


@transaction.atomic
def load_demo_moderation(moderator, owners, qa_lead):
    """Moderation cases in every state (queued, being moderated, closed with the grade
    confirmed and changed, the changed one a double-audited plan the auditors disagreed
    on) and actions in every status, one overdue and one re-audit that closed the loop.
    `owners`: {agency: action owner}. Returns a line for the command's report."""
    if Action.objects.exists():
        return "Demo moderation and actions already present; nothing changed."
    cases = list(ModerationCase.objects.filter(cycle__name=DEMO_CYCLE).prefetch_related("audits"))
    disagreeing = next(
        case
        for case in cases
        if case.double_audited and len({a.overall_grade for a in case.audits.all()}) > 1
    )
    agreeing = next(
        case
        for case in cases
        if case is not disagreeing and len({a.overall_grade for a in case.audits.all()}) == 1
    )
    grades = sorted((audit.overall_grade for audit in disagreeing.audits.all()), key=GRADES.index)
    changed = _close(
        disagreeing,
        moderator,
        grades[-1],
        "Section F does not quantify the therapy, so the essential criterion F1 is not met; "
        "the second auditor's grade stands.",
    )
    confirmed = _close(
        agreeing,
        moderator,
        agreeing.audits.first().overall_grade,
        "The auditor's ticks match the plan; the grade is confirmed.",
    )
    in_progress = next(case for case in cases if case not in (disagreeing, agreeing))
    moderation_case_record(
        in_progress,
        moderator,
        in_progress.version,
        grade="",
        section_grades={},
        rationale="Reading sections E and F against the exemplars.",
    )

    today = timezone.localdate()
    audit = changed.audits.order_by("submitted_at").first()
    health, education = owners["health"], owners["education"]
    raised = [
        action_raise(
            raised_by=moderator,
            description="Quantify the speech and language therapy in "
            "section F (sessions per week, length, by whom) and reissue the plan.",
            kind=Action.Kind.AMEND_PLAN,
            agency="health",
            owner=health,
            due_on=today + datetime.timedelta(days=5),
            moderation_case=changed,
        ),
        action_raise(
            raised_by=qa_lead,
            description=audit.recommendations,
            kind=Action.Kind.REVIEW_PROCESS,
            agency="education",
            owner=education,
            due_on=today + datetime.timedelta(days=21),
            audit=audit,
        ),
        action_raise(
            raised_by=moderator,
            description="Audit the amended plan again once it is issued.",
            kind=Action.Kind.REAUDIT,
            agency="education",
            owner=education,
            due_on=today + datetime.timedelta(days=30),
            moderation_case=changed,
        ),
        action_raise(
            raised_by=qa_lead,
            description="Run a briefing for health advice writers on "
            "outcomes that say by when and how progress is measured.",
            kind=Action.Kind.TRAINING,
            agency="health",
            owner=health,
            due_on=today + datetime.timedelta(days=10),
            moderation_case=confirmed,
        ),
        action_raise(
            raised_by=qa_lead,
            description="Add a prompt for the child's own words to the section A template.",
            kind=Action.Kind.REVIEW_PROCESS,
            agency="health",
            owner=health,
            due_on=today + datetime.timedelta(days=2),
            moderation_case=confirmed,
        ),
    ]
    amend, review, reaudit, _open_training, template = raised
    action_update(
        amend,
        health,
        amend.version,
        status="in_progress",
        note="Asked the SaLT service for the quantified provision.",
    )
    action_update(reaudit, education, reaudit.version, status="done", note="Plan reissued.")
    action_update(
        template,
        health,
        template.version,
        status="cancelled",
        cancel_reason="Covered by the new template issued in October.",
    )
    # Overdue: a review that ran past its date.
    Action.objects.filter(pk=review.pk).update(due_on=today - datetime.timedelta(days=6))
    return (
        f"Demo moderation: {len(cases)} cases (2 closed, 1 being moderated); "
        f"{len(raised)} actions in every status, one overdue."
    )
