"""QA leads' admin screens for cycles and audits: set up a cycle, find every audit of a
plan by its system ID, filter by grade; audits are read, never edited, there."""

import pytest
from django.urls import reverse

from portal.audits.models import CYCLE_ENDS_BEFORE_IT_STARTS, AuditCycle
from portal.audits.recording import audit_save_section, audit_start, audit_submit
from portal.audits.sampling import SIZE_OR_SHARE

from .factories import AssignmentFactory, AuditCycleFactory, PlanFactory

pytestmark = pytest.mark.django_db


def cycle_form(rubric_page, **changes):
    data = {
        "name": "Spring 2027: annual reviews",
        "tier": "annual_reviews",
        "theme": "",
        "starts_on": "2027-03-01",
        "ends_on": "2027-05-31",
        "rubric": str(rubric_page.pk),
        "sample_size": "20",
        "sample_share": "",
        "stratify_by": ["key_stage", "locality"],
        "double_audit_share": "0.2",
    }
    data.update(changes)
    return data


def test_a_qa_lead_sets_up_a_cycle_with_its_sample_rules(client, qa_lead, rubric_page):
    client.force_login(qa_lead)
    response = client.post(reverse("cycles:add"), cycle_form(rubric_page))
    assert response.status_code == 302
    cycle = AuditCycle.objects.get()
    assert cycle.stratify_by == ["key_stage", "locality"]
    assert cycle.sample_size == 20
    assert cycle.seed  # a seed is stored, so the sample can be drawn again the same


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sample_share": "0.1"}, SIZE_OR_SHARE),
        ({"sample_size": ""}, SIZE_OR_SHARE),
        ({"ends_on": "2027-02-01"}, CYCLE_ENDS_BEFORE_IT_STARTS),
    ],
)
def test_an_inconsistent_cycle_is_refused(client, qa_lead, rubric_page, changes, message):
    client.force_login(qa_lead)
    response = client.post(reverse("cycles:add"), cycle_form(rubric_page, **changes))
    assert response.status_code in (200, 400)
    assert message in response.content.decode()
    assert not AuditCycle.objects.exists()


def submitted_audit(plan, cycle, met):
    assignment = AssignmentFactory(plan=plan, cycle=cycle)
    audit = audit_start(assignment, assignment.auditor)
    audit = audit_save_section(audit, assignment.auditor, audit.version, "A", met=met)
    audit = audit_save_section(
        audit, assignment.auditor, audit.version, "J", met=[], not_applicable=True
    )
    return audit_submit(audit, assignment.auditor, audit.version)


def test_a_qa_lead_finds_every_audit_of_a_plan_and_filters_by_grade(client, qa_lead, rubric_page):
    cycle = AuditCycleFactory(rubric=rubric_page)
    plan, other = PlanFactory(system_id="EHC-111111"), PlanFactory(system_id="EHC-222222")
    assert submitted_audit(plan, cycle, ["A1", "A2"]).overall_grade == "outstanding"
    assert submitted_audit(plan, cycle, []).overall_grade == "inadequate"
    assert submitted_audit(other, cycle, ["A1"]).overall_grade == "good"

    client.force_login(qa_lead)
    rows = listed(client, {"q": "EHC-111111"})
    assert rows.count("EHC-111111") == 2
    assert "EHC-222222" not in rows

    rows = listed(client, {"overall_grade": "good"})
    assert rows.count("EHC-222222") == 1
    assert "EHC-111111" not in rows


def listed(client, query):
    """The body of the audits listing's table."""
    html = client.get(reverse("audits:index"), query).content.decode()
    table = html[html.index('<table class="listing') :]
    return table[: table.index("</table>")]


def test_audits_are_not_editable_by_qa_leads_and_hidden_from_auditors(
    client, qa_lead, auditor, rubric_page
):
    audit = submitted_audit(PlanFactory(), AuditCycleFactory(rubric=rubric_page), ["A1"])
    client.force_login(qa_lead)
    response = client.post(reverse("audits:edit", args=[audit.pk]), {"summary": "Changed."})
    assert response.status_code in (302, 403)
    audit.refresh_from_db()
    assert audit.summary == ""

    client.force_login(auditor)
    assert client.get(reverse("audits:index")).status_code == 302
    assert client.get(reverse("cycles:index")).status_code == 302


def test_a_submitted_audit_offers_qa_leads_a_way_to_raise_an_action(client, qa_lead, rubric_page):
    audit = submitted_audit(PlanFactory(), AuditCycleFactory(rubric=rubric_page), ["A1"])
    client.force_login(qa_lead)
    page = client.get(reverse("audits:inspect", args=[audit.pk])).content.decode()
    raise_url = f"{reverse('action_raise')}?audit={audit.pk}"
    assert raise_url.replace("&", "&amp;") in page or raise_url in page
    assert "Raise an action" in page
    # The form it opens carries the auditor's recommendations to convert.
    assert client.get(raise_url).status_code == 200
