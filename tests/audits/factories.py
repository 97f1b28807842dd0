"""Factories for the plan register, audit cycles, samples, conflicts and assignments.
An AuditCycleFactory needs a rubric: pass the `rubric_page` fixture."""

import datetime

import factory

from portal.audits import models

from ..factories import UserFactory


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Plan

    system_id = factory.Sequence(lambda n: f"EHC-{100000 + n}")
    key_stage = models.KeyStage.KS2
    primary_need = models.PrimaryNeed.ASD
    setting_type = models.SettingType.MAINSTREAM
    locality = "North"
    plan_stage = models.PlanStage.NEW_PLAN
    date_issued = datetime.date(2025, 3, 14)


class AuditCycleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.AuditCycle

    name = factory.Sequence(lambda n: f"Cycle {n + 1}")
    tier = models.AuditCycle.Tier.NEW_PLANS
    starts_on = datetime.date(2025, 3, 1)
    ends_on = datetime.date(2025, 3, 31)
    sample_size = 4
    seed = 20250301


class SampledPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.SampledPlan

    cycle = factory.SubFactory(AuditCycleFactory)
    plan = factory.SubFactory(PlanFactory)


class ConflictDeclarationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ConflictDeclaration

    auditor = factory.SubFactory(UserFactory, roles=["Auditor"])
    plan = factory.SubFactory(PlanFactory)
    reason = models.ConflictDeclaration.Reason.CONTRIBUTED


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Assignment

    plan = factory.SubFactory(PlanFactory)
    auditor = factory.SubFactory(UserFactory, roles=["Auditor"])
    due_on = datetime.date(2025, 4, 30)
