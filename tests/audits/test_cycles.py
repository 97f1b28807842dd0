"""Audit cycles with the database: the sample drawn and stored from the stored seed, locked
once assigned; assignments refused for conflicts and non-auditors, notified by email after
commit without child details, visible to their auditor only; bulk assignment balanced."""

import datetime
from collections import Counter

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from wagtail.models import ModelLogEntry

from portal.audits.allocation import NO_ELIGIBLE_AUDITOR
from portal.audits.cycles import (
    ALREADY_ASSIGNED,
    DECLARED_CONFLICT,
    INACTIVE_AUDITOR,
    NO_ELIGIBLE_PLANS,
    NO_SAMPLE,
    NOT_AN_AUDITOR,
    SAMPLE_LOCKED,
    UNKNOWN_CONFLICT_REASON,
    assignment_create,
    auditor_refusal,
    conflict_declare,
    cycle_assign,
    cycle_draw_sample,
    cycle_eligible_plans,
)
from portal.audits.models import (
    Assignment,
    Audit,
    AuditCycle,
    ConflictDeclaration,
    KeyStage,
    PlanStage,
    PrimaryNeed,
    SampledPlan,
)
from portal.audits.sampling import SIZE_OR_SHARE, draw_sample

from ..factories import UserFactory
from .factories import (
    AssignmentFactory,
    AuditCycleFactory,
    ConflictDeclarationFactory,
    PlanFactory,
    SampledPlanFactory,
)

pytestmark = pytest.mark.django_db

DUE = datetime.date(2025, 4, 30)
IN_MARCH = datetime.date(2025, 3, 14)
KEY_STAGES = [KeyStage.KS1, KeyStage.KS2, KeyStage.KS3, KeyStage.KS4]


def messages(error):
    return error.value.messages


@pytest.fixture
def register(db):
    """24 new plans issued in March 2025 across four key stages (12, 6, 4, 2), plus plans
    the new-plans cycle for March must not sample."""
    plans = []
    for key_stage, count in zip(KEY_STAGES, (12, 6, 4, 2), strict=True):
        plans += PlanFactory.create_batch(count, key_stage=key_stage, date_issued=IN_MARCH)
    PlanFactory(system_id="EHC-LATE", date_issued=datetime.date(2025, 4, 1))
    PlanFactory(system_id="EHC-EARLY", date_issued=datetime.date(2025, 2, 28))
    PlanFactory(system_id="EHC-REVIEW", plan_stage=PlanStage.ANNUAL_REVIEW)
    return plans


@pytest.fixture
def cycle(rubric_page):
    return AuditCycleFactory(
        rubric=rubric_page,
        sample_size=12,
        stratify_by=["key_stage"],
        double_audit_share="0.25",
        seed=424242,
    )


@pytest.fixture
def auditors(auditor):
    return [auditor, UserFactory(username="auditor2", roles=["Auditor"])]


def sampled_ids(cycle):
    return sorted(
        SampledPlan.objects.filter(cycle=cycle).values_list("plan__system_id", "double_audit")
    )


def test_the_sample_is_drawn_from_the_cycles_plans_in_proportion_and_stored(register, cycle):
    sample = cycle_draw_sample(cycle)

    assert len(sample) == 12
    assert sum(sampled.double_audit for sampled in sample) == 3
    assert {sampled.plan for sampled in sample} <= set(register)
    assert Counter(sampled.plan.key_stage for sampled in sample) == {
        KeyStage.KS1: 6,
        KeyStage.KS2: 3,
        KeyStage.KS3: 2,
        KeyStage.KS4: 1,
    }
    assert sampled_ids(cycle) == sorted(
        (sampled.plan.system_id, sampled.double_audit) for sampled in sample
    )
    assert ModelLogEntry.objects.filter(action="portal.cycle.draw_sample").count() == 1


def test_the_stored_seed_draws_the_same_sample_again(register, cycle):
    cycle_draw_sample(cycle)
    first = sampled_ids(cycle)

    again = cycle_draw_sample(AuditCycle.objects.get(pk=cycle.pk))

    assert sampled_ids(cycle) == first
    assert len(again) == 12
    rows = [
        {"system_id": p.system_id, "key_stage": p.key_stage, "primary_need": p.primary_need}
        for p in reversed(register)
    ]
    expected = draw_sample(
        rows, size=12, stratify_by=["key_stage"], double_share="0.25", seed=cycle.seed
    )
    assert [system_id for system_id, _ in first] == list(expected.system_ids)
    assert [system_id for system_id, double in first if double] == list(expected.double_audited)


def test_the_sample_cannot_be_drawn_again_once_a_plan_is_assigned(
    register, cycle, auditor, qa_lead
):
    sample = cycle_draw_sample(cycle)
    drawn = sampled_ids(cycle)
    assignment_create(sample[0].plan, auditor, DUE, qa_lead, cycle=cycle)
    cycle.seed += 1
    cycle.save()

    with pytest.raises(ValidationError) as error:
        cycle_draw_sample(cycle)

    assert messages(error) == [SAMPLE_LOCKED]
    assert sampled_ids(cycle) == drawn


def test_each_tier_samples_its_own_plans(register, rubric_page):
    new_plans = AuditCycleFactory(rubric=rubric_page, tier=AuditCycle.Tier.NEW_PLANS)
    reviews = AuditCycleFactory(
        rubric=rubric_page,
        tier=AuditCycle.Tier.ANNUAL_REVIEWS,
        starts_on=datetime.date(2025, 1, 1),
        ends_on=datetime.date(2025, 12, 31),
    )
    thematic = AuditCycleFactory(rubric=rubric_page, tier=AuditCycle.Tier.THEMATIC)

    assert set(cycle_eligible_plans(new_plans)) == set(register)
    assert [plan.system_id for plan in cycle_eligible_plans(reviews)] == ["EHC-REVIEW"]
    assert cycle_eligible_plans(thematic).count() == len(register) + 3


def test_a_thematic_sample_can_be_narrowed_to_chosen_plans(register, rubric_page):
    thematic = AuditCycleFactory(
        rubric=rubric_page, tier=AuditCycle.Tier.THEMATIC, sample_size=None, sample_share="0.5"
    )
    post_16 = [plan for plan in register if plan.key_stage == KeyStage.KS4]

    sample = cycle_draw_sample(thematic, plans=post_16)

    assert len(sample) == 1
    assert {sampled.plan for sampled in sample} <= set(post_16)


def test_a_cycle_with_no_eligible_plans_says_which_plans_it_looked_for(rubric_page):
    cycle = AuditCycleFactory(rubric=rubric_page)
    with pytest.raises(ValidationError) as error:
        cycle_draw_sample(cycle)
    assert messages(error) == [
        NO_ELIGIBLE_PLANS.format(
            population="new plans issued between 1 March 2025 and 31 March 2025"
        )
    ]


def test_bad_sample_rules_are_refused_with_the_sampling_message(register, cycle):
    cycle.sample_size = None
    cycle.save()
    with pytest.raises(ValidationError) as error:
        cycle_draw_sample(cycle)
    assert messages(error) == [SIZE_OR_SHARE]
    assert not SampledPlan.objects.exists()


def test_an_assignment_emails_the_auditor_a_link_after_commit_without_child_details(
    django_capture_on_commit_callbacks, auditor, qa_lead
):
    plan = PlanFactory(
        system_id="EHC-224906",
        key_stage=KeyStage.KS4,
        primary_need=PrimaryNeed.SEMH,
        locality="Riverside Ward",
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assignment = assignment_create(plan, auditor, DUE, qa_lead)
        assert mail.outbox == []

    assert len(callbacks) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [auditor.email]
    text = f"{message.subject}\n{message.body}"
    try:
        link = settings.WAGTAILADMIN_BASE_URL.rstrip("/") + reverse("my_audits")
    except NoReverseMatch:
        link = settings.WAGTAILADMIN_BASE_URL + "/audits/"
    assert link in message.body
    assert "EHC-224906" in text
    assert "30 April 2025" in text
    for detail in ("KS4", "Key stage 4", "SEMH", "Social, emotional", "Riverside"):
        assert detail not in text
    assert assignment.auditor == auditor


def test_no_email_is_sent_when_the_assignment_is_rolled_back(
    django_capture_on_commit_callbacks, auditor, qa_lead
):
    plan = PlanFactory()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        assignment_create(plan, auditor, DUE, qa_lead)
        raise RuntimeError("the request failed after the assignment")
    assert callbacks == []
    assert mail.outbox == []
    assert not Assignment.objects.exists()


def test_only_the_assigned_auditor_may_view_the_assignment(auditors, qa_lead):
    assignment = assignment_create(PlanFactory(), auditors[0], DUE, qa_lead)

    first, second = (type(user).objects.get(pk=user.pk) for user in auditors)
    assert first.has_perm("audits.view_assignment", assignment)
    assert not second.has_perm("audits.view_assignment", assignment)
    assert not qa_lead.has_perm("audits.view_assignment", assignment)


def test_an_assignment_is_written_to_the_audit_log(auditor, qa_lead):
    assignment = assignment_create(PlanFactory(system_id="EHC-7"), auditor, DUE, qa_lead)
    entry = ModelLogEntry.objects.get(action="portal.assignment.create")
    assert entry.object_id == str(assignment.pk)
    assert entry.user == qa_lead
    assert entry.data["plan"] == "EHC-7"


def test_an_auditor_who_declared_a_conflict_is_refused(auditor, qa_lead):
    plan = PlanFactory()
    conflict_declare(auditor, plan, ConflictDeclaration.Reason.MANAGES_CONTRIBUTOR)

    with pytest.raises(ValidationError) as error:
        assignment_create(plan, auditor, DUE, qa_lead)

    assert messages(error) == [DECLARED_CONFLICT]
    assert not Assignment.objects.exists()
    assert mail.outbox == []


def test_someone_outside_the_auditor_group_is_refused(qa_lead):
    with pytest.raises(ValidationError) as error:
        assignment_create(PlanFactory(), qa_lead, DUE, qa_lead)
    assert messages(error) == [NOT_AN_AUDITOR]
    assert not Assignment.objects.exists()


def test_a_switched_off_account_is_refused(auditor):
    auditor.is_active = False
    auditor.save()
    assert auditor_refusal(auditor) == INACTIVE_AUDITOR


def test_the_same_auditor_cannot_be_given_the_same_plan_twice_in_a_cycle(cycle, auditor, qa_lead):
    plan = PlanFactory()
    assignment_create(plan, auditor, DUE, qa_lead, cycle=cycle)
    with pytest.raises(ValidationError) as error:
        assignment_create(plan, auditor, DUE, qa_lead, cycle=cycle)
    assert messages(error) == [ALREADY_ASSIGNED]
    assert Assignment.objects.count() == 1


def test_a_conflict_declared_again_updates_the_reason_and_unknown_reasons_are_refused(auditor):
    plan = PlanFactory()
    conflict_declare(auditor, plan, ConflictDeclaration.Reason.OTHER)
    conflict_declare(auditor, plan, ConflictDeclaration.Reason.CONTRIBUTED)
    assert ConflictDeclaration.objects.get().reason == ConflictDeclaration.Reason.CONTRIBUTED
    assert ModelLogEntry.objects.filter(action="portal.conflict.declare").count() == 2

    with pytest.raises(ValidationError) as error:
        conflict_declare(auditor, plan, "dislike")
    assert messages(error) == [UNKNOWN_CONFLICT_REASON]


@pytest.fixture
def sampled_cycle(cycle):
    """A cycle with seven sampled plans, two of them double-audited: nine audits."""
    for number in range(7):
        SampledPlanFactory(
            cycle=cycle,
            plan=PlanFactory(system_id=f"EHC-S{number}"),
            double_audit=number < 2,
        )
    return cycle


def test_bulk_assignment_balances_the_load_and_respects_conflicts(
    django_capture_on_commit_callbacks, sampled_cycle, auditors, qa_lead
):
    third = UserFactory(username="auditor3", roles=["Auditor"])
    team = [*auditors, third]
    double_plan = SampledPlan.objects.get(cycle=sampled_cycle, plan__system_id="EHC-S0").plan
    for auditor in auditors:
        ConflictDeclarationFactory(auditor=auditor, plan=double_plan)

    with django_capture_on_commit_callbacks(execute=True):
        result = cycle_assign(sampled_cycle, team, DUE, qa_lead)

    assert [plan.system_id for plan, _ in result.uncovered] == ["EHC-S0"]
    assert result.refused == []
    pairs = {(a.plan.system_id, a.auditor.username) for a in result.created}
    assert ("EHC-S0", "auditor3") in pairs
    assert not {("EHC-S0", "auditor1"), ("EHC-S0", "auditor2")} & pairs
    holders = Counter(system_id for system_id, _ in pairs)
    assert holders["EHC-S1"] == 2
    assert all(holders[f"EHC-S{n}"] == 1 for n in range(2, 7))
    load = Counter(username for _, username in pairs)
    assert sorted(load.values()) == [2, 3, 3]
    # One email each, listing that auditor's plans and nobody else's.
    assert sorted(message.to[0] for message in mail.outbox) == sorted(a.email for a in team)
    for message in mail.outbox:
        username = message.to[0].split("@")[0]
        mine = {system_id for system_id, holder in pairs if holder == username}
        assert {s for s in holders if s in message.body} == mine
    for assignment in result.created:
        assert (
            type(qa_lead)
            .objects.get(pk=assignment.auditor_id)
            .has_perm("audits.view_assignment", assignment)
        )


def test_bulk_assignment_counts_open_work_and_skips_plans_already_assigned(
    sampled_cycle, auditors, qa_lead
):
    busy, free = auditors
    AssignmentFactory.create_batch(3, auditor=busy)  # open work from elsewhere
    done = AssignmentFactory(auditor=free)
    Audit.objects.create(
        assignment=done,
        rubric_revision=sampled_cycle.rubric.live_revision,
        status=Audit.Status.SUBMITTED,
    )
    first_plan = SampledPlan.objects.get(cycle=sampled_cycle, plan__system_id="EHC-S2").plan
    assignment_create(first_plan, free, DUE, qa_lead, cycle=sampled_cycle)

    result = cycle_assign(sampled_cycle, auditors, DUE, qa_lead)

    # 8 audits still needed; open loads before: busy 3, free 1 -> 6 each afterwards.
    load = Counter(assignment.auditor for assignment in result.created)
    assert load == {busy: 3, free: 5}
    assert first_plan not in {a.plan for a in result.created}
    assert cycle_assign(sampled_cycle, auditors, DUE, qa_lead).created == []


def test_bulk_assignment_refuses_non_auditors_and_reports_plans_nobody_can_take(
    sampled_cycle, auditor, qa_lead
):
    for sampled in sampled_cycle.sample.all():
        ConflictDeclarationFactory(auditor=auditor, plan=sampled.plan)

    result = cycle_assign(sampled_cycle, [auditor, qa_lead], DUE, qa_lead)

    assert result.created == []
    assert result.refused == [(qa_lead, NOT_AN_AUDITOR)]
    assert [message for _, message in result.uncovered] == [NO_ELIGIBLE_AUDITOR] * 7


def test_bulk_assignment_needs_a_sample(cycle, auditors, qa_lead):
    with pytest.raises(ValidationError) as error:
        cycle_assign(cycle, auditors, DUE, qa_lead)
    assert messages(error) == [NO_SAMPLE]
