"""The moderation screens with the real services: audits submitted by auditors queue their
plans, the queue and its filters, a case's audits side by side with their disagreements, a
moderator's decision recorded (never over the auditors' audits), refusals with nothing
saved, and a cycle's agreement figures."""

import datetime
import html
import re

import pytest
from django.urls import reverse
from guardian.shortcuts import assign_perm

from portal.audits.cycles import assignment_create
from portal.audits.forms import VERSION_MISSING
from portal.audits.models import Assignment, Audit, ModerationCase
from portal.audits.moderation import (
    CASE_CHANGED,
    CASE_CLOSED,
    GRADE_MISSING,
    MODERATOR_AUDITED,
    NOT_A_MODERATOR,
    RATIONALE_MISSING,
)
from portal.audits.moderation_forms import NOT_AN_OPTION
from portal.audits.moderation_views import DRAFT_SAVED, NOT_ALLOWED, NOT_ENOUGH_DATA
from portal.audits.recording import audit_save_findings, audit_save_section, audit_submit

from ..factories import UserFactory
from ..training.factories import audit_complete
from .factories import AuditCycleFactory, PlanFactory, SampledPlanFactory

pytestmark = pytest.mark.django_db

DUE = datetime.date(2026, 12, 18)
# SMALL_RUBRIC: A (A1 essential weight 3, A2 weight 1; limiting; weight 2), J (J1; may be
# not applicable; weight 1).
OUTSTANDING = {"A": ["A1", "A2"], "J": ["J1"]}  # 1
GOOD = {"A": ["A1"], "J": None}  # A 0.75, J left out
REQUIRES_IMPROVEMENT = {"A": ["A1"], "J": []}  # (2 × 0.75 + 0) / 3 = 0.5


def audited(cycle, plan, auditor, ticks, note="", strengths="", summary=""):
    """An auditor's audit of `plan`, assigned, recorded and submitted through the services
    (so the real receiver queues it for moderation), with a note on section A."""
    assignment = assignment_create(plan, auditor, DUE, None, cycle=cycle)
    audit = audit_complete(assignment, auditor, ticks, submit=False)
    audit = audit_save_section(audit, auditor, audit.version, "A", met=ticks["A"], note=note)
    audit = audit_save_findings(
        audit,
        auditor,
        audit.version,
        strengths=strengths,
        recommendations="Ask the family again.",
        summary=summary,
    )
    return audit_submit(audit, auditor, audit.version)


def snapshot(audit):
    audit.refresh_from_db()
    return (
        audit.status,
        audit.overall_grade,
        audit.overall_score,
        audit.result,
        audit.ticks,
        audit.section_notes,
        audit.summary,
        audit.version,
    )


@pytest.fixture
def cycle(rubric_page):
    return AuditCycleFactory(name="Cycle 1: new plans", rubric=rubric_page, moderation_share=0)


@pytest.fixture
def second_cycle(rubric_page):
    return AuditCycleFactory(name="Cycle 2: annual reviews", rubric=rubric_page)


@pytest.fixture
def amira(db):
    return UserFactory(
        username="amira",
        first_name="Amira",
        last_name="Khan",
        roles=["Auditor"],
        agency="education",
    )


@pytest.fixture
def ben(db):
    return UserFactory(
        username="ben", first_name="Ben", last_name="Okafor", roles=["Auditor"], agency="health"
    )


@pytest.fixture
def cara(db):
    return UserFactory(
        username="cara",
        first_name="Cara",
        last_name="Jones",
        roles=["Auditor"],
        agency="social_care",
    )


@pytest.fixture
def moderator(db):
    return UserFactory(
        username="moderator1", first_name="Mo", last_name="Reid", roles=["Moderator"]
    )


@pytest.fixture
def double_case(cycle, amira, ben):
    """EHC-000101, double-audited in cycle 1: Amira judged it Outstanding, Ben Good (he
    left A2 unmet and marked J not applicable)."""
    plan = PlanFactory(system_id="EHC-000101")
    SampledPlanFactory(cycle=cycle, plan=plan, double_audit=True)
    audited(
        cycle,
        plan,
        amira,
        OUTSTANDING,
        note="The child's own words throughout.",
        strengths="Vivid voice of the child.",
        summary="An outstanding plan.",
    )
    audited(
        cycle,
        plan,
        ben,
        GOOD,
        note="Parents' views are missing.",
        strengths="Clear aspirations.",
        summary="Good, with gaps.",
    )
    return ModerationCase.objects.get(plan=plan)


@pytest.fixture
def weak_case(second_cycle, cara):
    """EHC-000202, audited once in cycle 2 by Cara, Requires Improvement."""
    plan = PlanFactory(system_id="EHC-000202")
    SampledPlanFactory(cycle=second_cycle, plan=plan)
    audited(second_cycle, plan, cara, REQUIRES_IMPROVEMENT, note="No budget detail.")
    return ModerationCase.objects.get(plan=plan)


@pytest.fixture
def moderator_client(client, moderator):
    client.force_login(moderator)
    return client


def queue_ids(response):
    return [case.plan.system_id for case in response.context["cases"]]


def text(response):
    """The page's text, tags and repeated whitespace removed, for sentences split by markup."""
    page = html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))
    return re.sub(r"\s+", " ", page)


def case_url(case):
    return reverse("moderation_case", args=[case.pk])


def decision(case, *, grade="", rationale="", then="close", version=None, **sections):
    return {
        "grade": grade,
        "rationale": rationale,
        "version": case.version if version is None else version,
        "then": then,
        **{f"section-{key}": value for key, value in sections.items()},
    }


# The queue


def test_the_queue_lists_open_cases_oldest_first_with_their_reasons_and_grades(
    moderator_client, double_case, weak_case
):
    response = moderator_client.get(reverse("moderation_queue"))

    assert response.status_code == 200
    assert queue_ids(response) == ["EHC-000101", "EHC-000202"]
    page = text(response)
    assert "Audited by two auditors" in page
    assert "Graded Requires Improvement or Inadequate" in page
    assert "Cycle 1: new plans" in page
    assert "Cycle 2: annual reviews" in page
    assert "Good" in page and "Outstanding" in page
    assert "Requires Improvement" in page
    assert "Waiting for a moderator" in page
    assert f'href="{case_url(double_case)}"' in response.content.decode()
    # Each cycle's agreement figures are a link away.
    agreement = reverse("cycle_agreement", args=[double_case.cycle_id])
    assert f'href="{agreement}"' in response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"reason": "double_audited"}, ["EHC-000101"]),
        ({"reason": "weak_grade"}, ["EHC-000202"]),
        ({"grade": "outstanding"}, ["EHC-000101"]),
        ({"grade": "requires_improvement"}, ["EHC-000202"]),
        ({"agency": "health"}, ["EHC-000101"]),
        ({"agency": "social_care"}, ["EHC-000202"]),
        ({"agency": "send_service"}, []),
        ({"status": "closed"}, []),
        ({"status": "queued"}, ["EHC-000101", "EHC-000202"]),
    ],
)
def test_each_filter_narrows_the_queue(moderator_client, double_case, weak_case, query, expected):
    response = moderator_client.get(reverse("moderation_queue"), query)
    assert response.status_code == 200
    assert queue_ids(response) == expected
    if not expected:
        assert "No cases match the filters." in text(response)


def test_the_cycle_filter_narrows_the_queue(moderator_client, double_case, weak_case):
    response = moderator_client.get(reverse("moderation_queue"), {"cycle": weak_case.cycle_id})
    assert queue_ids(response) == ["EHC-000202"]
    # The chosen filter stays chosen.
    assert f'<option value="{weak_case.cycle_id}" selected>' in response.content.decode()


def test_a_filter_value_not_in_the_list_is_pointed_out_and_the_others_still_apply(
    moderator_client, double_case, weak_case
):
    response = moderator_client.get(
        reverse("moderation_queue"), {"cycle": "999999", "reason": "weak_grade"}
    )
    assert response.status_code == 400
    assert "There is a problem" in text(response)
    assert NOT_AN_OPTION in text(response)
    assert queue_ids(response) == ["EHC-000202"]


def test_a_closed_case_leaves_the_queue_and_shows_among_closed_cases(
    moderator_client, moderator, double_case, weak_case
):
    moderator_client.post(
        case_url(weak_case), decision(weak_case, grade="good", rationale="Budget is set out.")
    )

    assert queue_ids(moderator_client.get(reverse("moderation_queue"))) == ["EHC-000101"]
    closed = moderator_client.get(reverse("moderation_queue"), {"status": "closed"})
    assert queue_ids(closed) == ["EHC-000202"]
    assert "Grade changed: Good" in text(closed)


def test_the_queue_names_the_moderator_of_a_case_being_moderated(moderator_client, double_case):
    moderator_client.post(case_url(double_case), decision(double_case, grade="good", then="draft"))
    page = text(moderator_client.get(reverse("moderation_queue")))
    assert "Being moderated by Mo Reid" in page


# One case, side by side


def test_the_case_shows_the_plan_and_both_auditors_judgements_side_by_side(
    moderator_client, double_case
):
    response = moderator_client.get(case_url(double_case))

    assert response.status_code == 200
    page = text(response)
    for fact in ("EHC-000101", "Key stage 2", "Autistic spectrum disorder", "Mainstream school"):
        assert fact in page
    assert "Cycle 1: new plans" in page
    assert "Audited by two auditors" in page
    assert "Audit 1 – Amira Khan (Education)" in page
    assert "Audit 2 – Ben Okafor (Health)" in page
    # Overall grades and scores, then section by section: grades and notes per audit.
    assert "Outstanding" in page and "Good" in page
    assert "0.75" in page
    assert "The child's own words throughout." in page
    assert "Parents' views are missing." in page
    assert "Vivid voice of the child." in page and "Clear aspirations." in page
    assert "An outstanding plan." in page and "Good, with gaps." in page
    # A2: met by Amira, not by Ben; J1: met by Amira, section not applicable for Ben.
    assert "Auditors disagree on 2 criteria in 2 sections." in page
    rows = {
        row.key: (row.judgement_labels, row.disagreement)
        for section in response.context["sections"]
        for row in section.criteria
    }
    assert rows == {
        "A1": (["Met", "Met"], False),
        "A2": (["Met", "Not met"], True),
        "J1": (["Met", "Not applicable"], True),
    }
    # Marked in words, not colour alone: the two criteria rows and their two sections.
    assert page.count("Disagreement") == 4
    # A moderator can decide, and raise an action.
    assert "Close the case" in page and "Save draft" in page
    raise_action = f"{reverse('action_raise')}?case={double_case.pk}"
    assert f'href="{raise_action}"' in response.content.decode()


def test_a_single_weak_audit_is_shown_alone(moderator_client, weak_case):
    page = text(moderator_client.get(case_url(weak_case)))
    assert "There is one audit of this plan in this case." in page
    assert "Audit 1 – Cara Jones (Social care)" in page
    assert "Disagreement" not in page
    assert "No budget detail." in page


def test_an_unknown_case_is_not_found(moderator_client, double_case):
    assert moderator_client.get(reverse("moderation_case", args=[999999])).status_code == 404


# Deciding


def test_a_moderator_closes_the_case_and_the_auditors_audits_are_untouched(
    moderator_client, double_case
):
    audits = list(Audit.objects.all())
    before = [snapshot(audit) for audit in audits]

    response = moderator_client.post(
        case_url(double_case),
        decision(
            double_case,
            grade="good",
            rationale="Parents' views are not in the plan.",
            A="good",
        ),
        follow=True,
    )

    assert response.status_code == 200
    page = text(response)
    assert "Case closed: Grade changed (Good)." in page
    assert "Moderated overall grade Good" in page
    assert "Outcome Grade changed" in page
    assert "Section A: Views, interests and aspirations – Good" in page
    assert "Parents' views are not in the plan." in page
    assert "Moderator Mo Reid" in page
    assert "Closed on" in page
    # Read-only from now on: no form.
    assert "Close the case" not in page
    assert 'name="rationale"' not in response.content.decode()
    case = ModerationCase.objects.get(pk=double_case.pk)
    assert (case.status, case.moderated_grade, case.section_grades) == (
        "closed",
        "good",
        {"A": "good"},
    )
    assert [snapshot(audit) for audit in audits] == before


def test_a_grade_every_auditor_gave_is_confirmed(moderator_client, weak_case):
    response = moderator_client.post(
        case_url(weak_case),
        decision(weak_case, grade="requires_improvement", rationale="Agreed."),
        follow=True,
    )
    assert "Outcome Grade confirmed" in text(response)


def test_a_draft_keeps_the_case_open_and_fills_in_the_form_again(moderator_client, double_case):
    response = moderator_client.post(
        case_url(double_case),
        decision(double_case, grade="outstanding", rationale="So far.", then="draft", J="good"),
        follow=True,
    )

    page = text(response)
    assert DRAFT_SAVED in page
    assert "Being moderated" in page
    content = response.content.decode()
    assert 'value="outstanding" checked' in content
    assert '<option value="good" selected>' in content
    assert "So far.</textarea>" in content
    assert ModerationCase.objects.get().status == ModerationCase.Status.IN_PROGRESS


def test_closing_without_a_rationale_or_grade_is_refused_and_nothing_is_saved(
    moderator_client, double_case
):
    response = moderator_client.post(case_url(double_case), decision(double_case))

    assert response.status_code == 400
    page = text(response)
    assert "There is a problem" in page
    assert RATIONALE_MISSING in page
    assert GRADE_MISSING in page
    assert 'href="#rationale"' in response.content.decode()
    case = ModerationCase.objects.get()
    assert (case.status, case.rationale, case.version) == ("queued", "", double_case.version)


def test_a_form_without_its_version_is_refused(moderator_client, double_case):
    data = decision(double_case, grade="good", rationale="Why.")
    del data["version"]
    response = moderator_client.post(case_url(double_case), data)
    assert response.status_code == 400
    assert VERSION_MISSING in text(response)
    assert ModerationCase.objects.get().status == ModerationCase.Status.QUEUED


def test_a_stale_form_is_refused_and_the_moderators_entries_are_kept(
    moderator_client, moderator, double_case
):
    stale = double_case.version
    # Another moderator saves a draft after this one opened the case.
    other = UserFactory(roles=["Moderator"])
    moderator_client.force_login(other)
    moderator_client.post(case_url(double_case), decision(double_case, grade="good", then="draft"))
    moderator_client.force_login(moderator)

    response = moderator_client.post(
        case_url(double_case),
        decision(double_case, grade="inadequate", rationale="My reasons.", version=stale),
    )

    assert response.status_code == 409
    page = text(response)
    assert CASE_CHANGED in page
    assert "Open the latest saved version" in page
    assert 'value="inadequate" checked' in response.content.decode()
    assert "My reasons.</textarea>" in response.content.decode()
    case = ModerationCase.objects.get()
    assert (case.status, case.moderated_grade, case.moderator) == ("in_progress", "good", other)


def test_a_closed_case_refuses_another_decision(moderator_client, double_case):
    moderator_client.post(case_url(double_case), decision(double_case, grade="good", rationale="A"))
    closed = ModerationCase.objects.get()

    response = moderator_client.post(
        case_url(closed), decision(closed, grade="outstanding", rationale="B")
    )

    assert response.status_code == 403
    assert CASE_CLOSED in text(response)
    assert (ModerationCase.objects.get().moderated_grade, closed.rationale) == ("good", "A")


def test_a_moderator_given_the_plan_is_told_why_and_cannot_decide(client, double_case, cycle):
    moderator = UserFactory(roles=["Moderator", "Auditor"])
    Assignment.objects.create(plan=double_case.plan, auditor=moderator, due_on=DUE)
    client.force_login(moderator)

    page = client.get(case_url(double_case))
    assert page.status_code == 200
    assert MODERATOR_AUDITED in text(page)
    assert "Close the case" not in text(page)

    refused = client.post(
        case_url(double_case), decision(double_case, grade="good", rationale="Tampered.")
    )
    assert refused.status_code == 403
    assert MODERATOR_AUDITED in text(refused)
    case = ModerationCase.objects.get()
    assert (case.status, case.moderated_grade, case.rationale, case.version) == (
        "queued",
        "",
        "",
        double_case.version,
    )


def test_a_qa_lead_reads_cases_but_cannot_decide(client, qa_lead, double_case):
    client.force_login(qa_lead)

    page = client.get(case_url(double_case))
    assert page.status_code == 200
    assert NOT_A_MODERATOR in text(page)
    assert "Audit 2 – Ben Okafor (Health)" in text(page)

    refused = client.post(case_url(double_case), decision(double_case, grade="good", rationale="X"))
    assert refused.status_code == 403
    assert ModerationCase.objects.get().status == ModerationCase.Status.QUEUED


def test_only_those_who_may_raise_actions_are_offered_to(client, double_case):
    reader = UserFactory(roles=["Partnership Board"])
    assign_perm("audits.view_moderationcase", reader)
    client.force_login(reader)
    response = client.get(case_url(double_case))
    assert response.status_code == 200
    assert "Raise an action" not in text(response)
    assert NOT_A_MODERATOR in text(response)


# Who may see moderation


@pytest.fixture
def moderation_urls(double_case):
    return [
        reverse("moderation_queue"),
        case_url(double_case),
        reverse("cycle_agreement", args=[double_case.cycle_id]),
    ]


def test_signing_in_is_needed_for_every_moderation_page(client, moderation_urls):
    for url in moderation_urls:
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("role", ["Auditor", "Action owner"])
def test_auditors_and_action_owners_are_refused_every_moderation_page(
    client, moderation_urls, double_case, role
):
    client.force_login(UserFactory(roles=[role]))
    for url in moderation_urls:
        response = client.get(url)
        assert response.status_code == 403
        assert NOT_ALLOWED in text(response)
    # Nor can they post a decision.
    response = client.post(
        case_url(double_case), decision(double_case, grade="good", rationale="X")
    )
    assert response.status_code == 403
    assert ModerationCase.objects.get().status == ModerationCase.Status.QUEUED


def test_one_auditor_of_the_plan_cannot_see_the_others_audit_through_moderation(
    client, amira, double_case
):
    client.force_login(amira)
    response = client.get(case_url(double_case))
    assert response.status_code == 403
    assert "Ben Okafor" not in text(response)


# Agreement


@pytest.fixture
def agreement_cycle(rubric_page, amira, ben, moderator):
    """Two double-audited plans: both auditors Good on one; Good and Requires Improvement on
    the other. Both cases closed as Good."""
    cycle = AuditCycleFactory(name="Cycle 3: agreement", rubric=rubric_page)
    for system_id, second in (("EHC-000301", GOOD), ("EHC-000302", REQUIRES_IMPROVEMENT)):
        plan = PlanFactory(system_id=system_id)
        SampledPlanFactory(cycle=cycle, plan=plan, double_audit=True)
        audited(cycle, plan, amira, GOOD)
        audited(cycle, plan, ben, second)
    return cycle


def test_the_agreement_page_shows_a_cycles_figures(moderator_client, agreement_cycle, moderator):
    url = reverse("cycle_agreement", args=[agreement_cycle.pk])
    before = text(moderator_client.get(url))
    assert "Plans with both audits in 2" in before
    # One pair agrees exactly, the other is one grade apart.
    assert "Same overall grade 50% (1 of 2 plans)" in before
    assert "Within one grade 100% (2 of 2 plans)" in before
    # Margins Good, Good / Good, Requires Improvement: observed and expected weighted
    # disagreement are both 1/2, so kappa is 0.
    assert "Weighted kappa 0.00: slight agreement" in before
    assert "Cases open 2" in before
    assert "No case of this cycle has been closed yet" in before

    for case in ModerationCase.objects.filter(cycle=agreement_cycle):
        moderator_client.post(case_url(case), decision(case, grade="good", rationale="Good."))

    response = moderator_client.get(url)
    assert response.status_code == 200
    page = text(response)
    assert "Cases open 0" in page
    assert "Cases closed 2" in page
    assert "Grade confirmed 1" in page
    assert "Grade changed 1" in page
    # Amira's two Goods kept; Ben's Requires Improvement raised to Good.
    assert "Ben Okafor 2 1 1 0" in page
    assert "Amira Khan 2 2 0 0" in page
    assert '<th scope="col"' in response.content.decode()


def test_the_agreement_page_says_when_there_is_not_enough_data(moderator_client, cycle):
    page = text(moderator_client.get(reverse("cycle_agreement", args=[cycle.pk])))
    assert "Plans with both audits in 0" in page
    assert f"Same overall grade {NOT_ENOUGH_DATA}" in page
    assert f"Weighted kappa {NOT_ENOUGH_DATA}" in page


def test_an_unknown_cycle_has_no_agreement_page(moderator_client, db):
    assert moderator_client.get(reverse("cycle_agreement", args=[999999])).status_code == 404
