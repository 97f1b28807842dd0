"""Demo audits: a synthetic plan register, a cycle with a stratified sample, assignments
shared between the demo auditors, and audits across every grade, so the audit screens have
something to show on first run. Fixed seed: the same demo every time."""

import datetime
import random

from django.db import transaction

from portal.framework.models import RubricPage

from .cycles import conflict_declare, cycle_assign, cycle_draw_sample
from .models import AuditCycle, KeyStage, Plan, PlanStage, PrimaryNeed, SettingType
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
        sample_size=36,
        stratify_by=["key_stage"],
        double_audit_share="0.25",
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
    return (
        f"Demo audits: {Plan.objects.count()} plans, cycle “{cycle.name}” with "
        f"{len(sampled)} sampled, "
        f"{len(assigned.created)} assignments, {submitted} submitted audits."
    )
