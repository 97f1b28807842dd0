"""A QA lead's actions on a cycle in the admin: draw its sample, share the sampled plans among
auditors, see who holds what; auditors cannot do either."""

import datetime
from collections import Counter
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils.html import escape

from portal.audits.allocation import NO_SECOND_AUDITOR
from portal.audits.cycles import SAMPLE_LOCKED, cycle_draw_sample
from portal.audits.models import Assignment, SampledPlan

from ..factories import UserFactory
from .factories import AuditCycleFactory, ConflictDeclarationFactory, PlanFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cycle(rubric_page):
    PlanFactory.create_batch(10)
    return AuditCycleFactory(rubric=rubric_page, sample_size=6, double_audit_share=Decimal("0.5"))


@pytest.fixture
def second_auditor(db):
    return UserFactory(username="auditor2", roles=["Auditor"])


def name(user):
    """The user's name as the admin's HTML shows it."""
    return escape(user.get_full_name())


def shown_messages(response):
    return [str(message) for message in response.context["messages"]]


def assign(client, cycle, auditors, due_on="2025-04-30"):
    return client.post(
        reverse("cycles:assign", args=[cycle.pk]),
        {"auditors": [auditor.pk for auditor in auditors], "due_on": due_on},
    )


def test_a_qa_lead_draws_the_sample_and_sees_it_on_the_cycle(client, qa_lead, cycle):
    client.force_login(qa_lead)
    inspect = client.get(reverse("cycles:inspect", args=[cycle.pk])).content.decode()
    assert "No sample has been drawn for this cycle yet." in inspect
    assert reverse("cycles:draw_sample", args=[cycle.pk]) in inspect

    response = client.post(reverse("cycles:draw_sample", args=[cycle.pk]), follow=True)

    sample = SampledPlan.objects.filter(cycle=cycle)
    assert sample.count() == 6
    doubles = sample.filter(double_audit=True).count()
    assert doubles > 0
    assert f"6 plans, {doubles} of them audited twice" in " ".join(shown_messages(response))
    page = response.content.decode()
    for sampled in sample.select_related("plan"):
        assert sampled.plan.system_id in page


def test_a_draw_the_service_refuses_shows_its_message(client, qa_lead, rubric_page):
    empty = AuditCycleFactory(rubric=rubric_page)  # no plans in the register
    client.force_login(qa_lead)
    response = client.post(reverse("cycles:draw_sample", args=[empty.pk]), follow=True)
    assert "No plans in the register are eligible" in " ".join(shown_messages(response))
    assert not SampledPlan.objects.exists()


def test_the_draw_is_post_only(client, qa_lead, cycle):
    client.force_login(qa_lead)
    response = client.get(reverse("cycles:draw_sample", args=[cycle.pk]))
    assert response.status_code == 405
    assert not SampledPlan.objects.exists()


def test_a_qa_lead_assigns_the_sample_to_two_auditors(
    client, django_capture_on_commit_callbacks, qa_lead, auditor, second_auditor, cycle
):
    sample = cycle_draw_sample(cycle, user=qa_lead)
    conflicted = next(sampled.plan for sampled in sample if not sampled.double_audit)
    ConflictDeclarationFactory(auditor=auditor, plan=conflicted)
    client.force_login(qa_lead)

    form = client.get(reverse("cycles:assign", args=[cycle.pk])).content.decode()
    assert name(auditor) in form
    assert name(qa_lead) not in form  # only the Auditor group is offered

    with django_capture_on_commit_callbacks(execute=True):
        response = assign(client, cycle, [auditor, second_auditor])
        assert mail.outbox == []  # nothing is sent before the assignments commit

    assert response.status_code == 200
    assignments = Assignment.objects.filter(cycle=cycle)
    needed = sum(2 if sampled.double_audit else 1 for sampled in sample)
    assert assignments.count() == needed
    loads = Counter(assignments.values_list("auditor_id", flat=True))
    assert set(loads) == {auditor.pk, second_auditor.pk}
    assert max(loads.values()) - min(loads.values()) <= 1
    assert not assignments.filter(auditor=auditor, plan=conflicted).exists()
    assert assignments.filter(auditor=second_auditor, plan=conflicted).exists()

    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [auditor.email, second_auditor.email]
    )
    page = response.content.decode()
    assert f"Assigned {needed} audits" in " ".join(shown_messages(response))
    for user in (auditor, second_auditor):
        assert f"<td>{name(user)}</td><td>{loads[user.pk]}</td>" in page

    inspect = client.get(reverse("cycles:inspect", args=[cycle.pk])).content.decode()
    assert name(second_auditor) in inspect


def test_plans_left_without_an_auditor_are_listed_with_the_reason(client, qa_lead, auditor, cycle):
    sample = cycle_draw_sample(cycle, user=qa_lead)
    client.force_login(qa_lead)

    response = assign(client, cycle, [auditor])

    page = response.content.decode()
    # One auditor cannot audit a plan twice, so every double-audited plan is left short.
    for sampled in sample:
        if sampled.double_audit:
            assert f"<td>{sampled.plan.system_id}</td><td>{escape(NO_SECOND_AUDITOR)}</td>" in page


def test_only_active_accredited_auditors_are_offered(client, qa_lead, auditor, cycle):
    inactive = UserFactory(roles=["Auditor"], is_active=False)
    untrained = UserFactory(roles=["Auditor"], accredited=False)
    lapsed = UserFactory(roles=["Auditor"])
    lapsed.accreditations.update(expires_on=datetime.date(2025, 1, 1))
    client.force_login(qa_lead)
    form = client.get(reverse("cycles:assign", args=[cycle.pk])).content.decode()
    assert f'value="{auditor.pk}"' in form
    for refused in (inactive, untrained, lapsed):
        assert f'value="{refused.pk}"' not in form
    assert "Only auditors with a current accreditation are listed." in form
    # A tampered post naming a lapsed auditor assigns nothing.
    response = assign(client, cycle, [lapsed])
    assert response.status_code == 200
    assert not cycle.assignments.exists()


def test_the_sample_cannot_be_redrawn_once_assigned(
    client, qa_lead, auditor, second_auditor, cycle
):
    client.force_login(qa_lead)
    client.post(reverse("cycles:draw_sample", args=[cycle.pk]))
    assign(client, cycle, [auditor, second_auditor])
    before = list(SampledPlan.objects.order_by("pk").values_list("pk", flat=True))

    response = client.post(reverse("cycles:draw_sample", args=[cycle.pk]), follow=True)

    assert SAMPLE_LOCKED in shown_messages(response)
    assert list(SampledPlan.objects.order_by("pk").values_list("pk", flat=True)) == before
    inspect = client.get(reverse("cycles:inspect", args=[cycle.pk])).content.decode()
    assert reverse("cycles:draw_sample", args=[cycle.pk]) not in inspect


def test_an_auditor_can_neither_draw_nor_assign(client, qa_lead, auditor, second_auditor, cycle):
    client.force_login(auditor)
    response = client.post(reverse("cycles:draw_sample", args=[cycle.pk]))
    assert response.status_code in (302, 403)
    assert not SampledPlan.objects.exists()

    cycle_draw_sample(cycle, user=qa_lead)
    assert assign(client, cycle, [auditor, second_auditor]).status_code in (302, 403)
    assert client.get(reverse("cycles:assign", args=[cycle.pk])).status_code in (302, 403)
    assert not Assignment.objects.exists()
    assert mail.outbox == []
