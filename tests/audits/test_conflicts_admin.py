"""QA leads record auditors' conflicts of interest in the admin; the plan is then never
assigned to that auditor."""

import datetime

import pytest
from django.urls import reverse
from wagtail.models import ModelLogEntry

from portal.audits.cycles import cycle_assign, cycle_draw_sample
from portal.audits.models import ConflictDeclaration
from portal.audits.viewsets import PLAN_NOT_FOUND

from ..factories import UserFactory
from .factories import AuditCycleFactory, PlanFactory

pytestmark = pytest.mark.django_db


def test_a_recorded_conflict_keeps_the_plan_from_that_auditor(client, qa_lead, rubric_page):
    plans = [PlanFactory(date_issued=datetime.date(2025, 3, 10)) for _ in range(4)]
    cycle = AuditCycleFactory(rubric=rubric_page, sample_size=4)
    conflicted = UserFactory(username="conflicted", roles=["Auditor"])

    client.force_login(qa_lead)
    response = client.post(
        reverse("conflicts:add"),
        {
            "auditor": conflicted.pk,
            "plan_system_id": plans[0].system_id.lower(),
            "reason": "contributed",
        },
    )
    assert response.status_code == 302
    declaration = ConflictDeclaration.objects.get()
    assert (declaration.auditor, declaration.plan) == (conflicted, plans[0])
    entry = ModelLogEntry.objects.get(object_id=str(declaration.pk))
    assert (entry.action, entry.user) == ("portal.conflict.declare", qa_lead)

    # With only the conflicted auditor to share the sample, that plan is left uncovered.
    cycle_draw_sample(cycle)
    result = cycle_assign(cycle, [conflicted], datetime.date(2025, 4, 30), qa_lead)
    assert {assignment.plan for assignment in result.created} == set(plans[1:])
    assert [plan for plan, _ in result.uncovered] == [plans[0]]


def test_an_unknown_plan_is_refused_and_nothing_is_recorded(client, qa_lead, auditor):
    client.force_login(qa_lead)
    response = client.post(
        reverse("conflicts:add"),
        {"auditor": auditor.pk, "plan_system_id": "EHC-NOPE", "reason": "contributed"},
    )
    assert PLAN_NOT_FOUND.format(system_id="EHC-NOPE") in response.content.decode()
    assert not ConflictDeclaration.objects.exists()


def test_auditors_cannot_reach_the_conflicts_screen(client, auditor):
    plan = PlanFactory()
    client.force_login(auditor)
    response = client.post(
        reverse("conflicts:add"),
        {"auditor": auditor.pk, "plan_system_id": plan.system_id, "reason": "contributed"},
    )
    assert response.status_code == 302
    assert not ConflictDeclaration.objects.exists()
