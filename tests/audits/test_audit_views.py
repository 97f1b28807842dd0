"""The auditor's screens: only their own assignments, an audit recorded section by section
through the recording services, stale and tampered posts refused with nothing changed, and the
grade always derived by the portal."""

import datetime

import pytest
from django.urls import reverse
from guardian.shortcuts import assign_perm

from portal.audits.grading import NOT_APPLICABLE_NOT_ALLOWED, UNKNOWN_CRITERION_TICKED
from portal.audits.models import (
    Assignment,
    Audit,
    AuditCycle,
    KeyStage,
    Plan,
    PlanStage,
    PrimaryNeed,
    SettingType,
)
from portal.audits.recording import (
    ALREADY_SUBMITTED,
    CHANGED_SINCE_OPENED,
    NOT_YOUR_AUDIT,
    SECTIONS_NOT_DONE,
    audit_save_findings,
    audit_save_section,
    audit_start,
    audit_submit,
)
from portal.audits.selectors import NOT_APPLICABLE_SENTENCE

from ..factories import ExemplarIndexPageFactory, ExemplarPageFactory, UserFactory

pytestmark = pytest.mark.django_db


def make_plan(system_id, **attributes):
    return Plan.objects.create(
        system_id=system_id,
        key_stage=attributes.get("key_stage", KeyStage.KS2),
        primary_need=attributes.get("primary_need", PrimaryNeed.ASD),
        setting_type=attributes.get("setting_type", SettingType.MAINSTREAM),
        locality="North",
        plan_stage=PlanStage.NEW_PLAN,
        date_issued=datetime.date(2026, 9, 1),
    )


def assign(cycle, plan, auditor, due_on=datetime.date(2026, 12, 1)):
    """An assignment as the assignment service makes it: with guardian's view permission."""
    assignment = Assignment.objects.create(cycle=cycle, plan=plan, auditor=auditor, due_on=due_on)
    assign_perm("audits.view_assignment", auditor, assignment)
    return assignment


@pytest.fixture
def cycle(rubric_page):
    return AuditCycle.objects.create(
        name="Cycle 1",
        tier=AuditCycle.Tier.NEW_PLANS,
        starts_on=datetime.date(2026, 10, 1),
        ends_on=datetime.date(2026, 12, 31),
        rubric=rubric_page,
        sample_size=3,
    )


@pytest.fixture
def assignment(cycle, auditor):
    return assign(cycle, make_plan("EHC-000001"), auditor)


@pytest.fixture
def other_auditor(db):
    return UserFactory(username="auditor2", roles=["Auditor"])


@pytest.fixture
def auditor_client(client, auditor):
    client.force_login(auditor)
    return client


def url(name, assignment, *args):
    return reverse(name, args=[assignment.pk, *args])


def section_post(version, met=(), note="", not_applicable=False, then="continue", section=None):
    data = {"version": version, "met": list(met), "note": note, "then": then}
    if not_applicable:
        data["not_applicable"] = "on"
    if section:
        data["section"] = section
    return data


def snapshot(audit):
    audit.refresh_from_db()
    return (
        audit.version,
        audit.status,
        audit.ticks,
        audit.section_notes,
        audit.strengths,
        audit.summary,
    )


def completed(assignment, user):
    audit = audit_start(assignment, user)
    audit = audit_save_section(audit, user, audit.version, "A", met=["A1"], note="Own words.")
    audit = audit_save_section(audit, user, audit.version, "J", met=[], not_applicable=True)
    return audit_save_findings(
        audit, user, audit.version, strengths="Voice.", recommendations="More.", summary="Good."
    )


# My audits


def test_my_audits_lists_only_the_auditors_own_assignments_with_status_and_due_date(
    auditor_client, cycle, auditor, other_auditor, assignment
):
    drafted = assign(cycle, make_plan("EHC-000002"), auditor, due_on=datetime.date(2026, 11, 2))
    audit_start(drafted, auditor)
    assign(cycle, make_plan("EHC-000003"), other_auditor)

    response = auditor_client.get(reverse("my_audits"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "EHC-000001" in page
    assert "EHC-000002" in page
    assert "EHC-000003" not in page
    rows = [(row.assignment.plan.system_id, row.status_label) for row in response.context["rows"]]
    assert rows == [("EHC-000002", "In progress"), ("EHC-000001", "Not started")]
    assert "2 November 2026" in page
    assert "1 December 2026" in page
    assert "Key stage 2" in page
    assert "Autistic spectrum disorder" in page
    # Only the pseudonymous ID, key stage, need and setting: never the locality.
    assert "North" not in page


def test_my_audits_loads_in_a_fixed_number_of_queries(
    auditor_client, cycle, auditor, django_assert_max_num_queries
):
    for number in range(5):
        audit_start(assign(cycle, make_plan(f"EHC-10000{number}"), auditor), auditor)
    with django_assert_max_num_queries(12):
        response = auditor_client.get(reverse("my_audits"))
    assert len(response.context["rows"]) == 5


def test_a_plan_assigned_without_the_object_permission_is_not_listed(
    auditor_client, cycle, auditor
):
    Assignment.objects.create(
        cycle=cycle, plan=make_plan("EHC-000009"), auditor=auditor, due_on=datetime.date.today()
    )
    response = auditor_client.get(reverse("my_audits"))
    assert "EHC-000009" not in response.content.decode()


def test_qa_leads_are_pointed_on_to_the_staff_area(client, qa_lead, auditor):
    onward = 'in the\n          <a class="govuk-link" href="/admin/">staff area</a>'
    client.force_login(auditor)
    assert onward not in client.get(reverse("my_audits")).content.decode()
    client.force_login(qa_lead)
    assert onward in client.get(reverse("my_audits")).content.decode()


def test_signing_in_lands_on_my_audits(client, auditor):
    from ..factories import PASSWORD

    response = client.post(reverse("login"), {"username": auditor.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("my_audits")


@pytest.mark.parametrize(
    "name, args",
    [
        ("my_audits", None),
        ("audit_overview", ()),
        ("audit_section", ("A",)),
        ("audit_findings", ()),
        ("audit_review", ()),
    ],
)
def test_anonymous_visitors_are_sent_to_sign_in(client, assignment, name, args):
    address = reverse(name) if args is None else url(name, assignment, *args)
    response = client.get(address)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login") + "?next=")


def test_anonymous_grade_preview_is_sent_to_sign_in_and_starts_nothing(client, assignment):
    response = client.post(url("audit_grade_preview", assignment), {"section": "A"})
    assert response.status_code == 302
    assert not Audit.objects.exists()


# Another auditor's audit


@pytest.mark.parametrize(
    "name, args, data",
    [
        ("audit_overview", (), None),
        ("audit_section", ("A",), section_post(2, met=["A1"])),
        ("audit_findings", (), {"version": 1, "strengths": "Mine now."}),
        ("audit_review", (), {"version": 1}),
        ("audit_grade_preview", (), {"section": "A", "met": ["A1"]}),
    ],
)
def test_another_auditors_audit_is_not_found_and_posts_change_nothing(
    client, assignment, auditor, other_auditor, name, args, data
):
    audit = audit_start(assignment, auditor)
    before = snapshot(audit)
    client.force_login(other_auditor)

    if name != "audit_grade_preview":
        assert client.get(url(name, assignment, *args)).status_code == 404
    if data is not None:
        assert client.post(url(name, assignment, *args), data).status_code == 404

    assert snapshot(audit) == before


def test_someone_granted_the_assignment_but_not_its_auditor_is_refused(
    client, assignment, other_auditor
):
    assign_perm("audits.view_assignment", other_auditor, assignment)
    client.force_login(other_auditor)

    response = client.get(url("audit_overview", assignment))

    assert response.status_code == 403
    assert NOT_YOUR_AUDIT in response.content.decode()
    assert not Audit.objects.exists()


# Recording a section


def test_opening_the_audit_starts_it_and_shows_every_section(auditor_client, assignment):
    response = auditor_client.get(url("audit_overview", assignment))

    assert response.status_code == 200
    audit = Audit.objects.get(assignment=assignment)
    assert audit.status == Audit.Status.DRAFT
    page = response.content.decode()
    assert "Section A: Views, interests and aspirations" in page
    assert "Section J: Personal budget" in page
    assert "Not yet started" in page
    assert "Start the audit" in page


def test_a_section_shows_its_criteria_guidance_and_exemplar(
    auditor_client, assignment, home_page, rubric_page, rubric_data
):
    exemplars = ExemplarIndexPageFactory(parent=home_page, slug="exemplars")
    exemplar = ExemplarPageFactory(parent=exemplars, slug="a-voice", title="Voice of the child")
    rubric_data["sections"][0]["exemplars"] = ["a-voice"]
    from portal.framework.services import rubric_import

    revision, _ = rubric_import(rubric_page, rubric_data)
    revision.publish()

    response = auditor_client.get(url("audit_section", assignment, "A"))

    page = response.content.decode()
    assert "section 1 of 2" in page
    assert "The child&#x27;s views are in their own words." in page
    assert "Quotes, drawings, recordings." in page
    assert "Criterion A1, weight 3" in page
    assert "Essential" in page
    assert "<p>Look for the child's own voice.</p>" in page
    assert f'href="{exemplar.url}"' in page
    # Section A may not be marked not applicable under this rubric; J may.
    assert 'name="not_applicable"' not in page
    page_j = auditor_client.get(url("audit_section", assignment, "J")).content.decode()
    assert 'name="not_applicable"' in page_j


def test_saving_a_section_records_it_and_moves_on(auditor_client, assignment):
    auditor_client.get(url("audit_overview", assignment))

    response = auditor_client.post(
        url("audit_section", assignment, "A"), section_post(1, met=["A1"], note="Own words.")
    )

    assert response.status_code == 302
    assert response.url == url("audit_section", assignment, "J")
    audit = Audit.objects.get(assignment=assignment)
    assert audit.ticks == {"sections": {"A": {"met": ["A1"]}}}
    assert audit.section_notes == {"A": "Own words."}
    # The grade the saved ticks derive is shown when the section is opened again.
    page = auditor_client.get(url("audit_section", assignment, "A")).content.decode()
    assert "Derived grade for this section: Good (score 0.75)" in page


def test_save_as_draft_returns_to_the_overview_with_the_grade_so_far(auditor_client, assignment):
    auditor_client.get(url("audit_overview", assignment))

    response = auditor_client.post(
        url("audit_section", assignment, "A"),
        section_post(1, met=["A1", "A2"], then="later"),
        follow=True,
    )

    page = response.content.decode()
    assert response.redirect_chain == [(url("audit_overview", assignment), 302)]
    assert "Your audit has been saved as a draft" in page
    assert "Grade so far: Outstanding" in page
    assert "Continue with section J" in page


def test_a_stale_form_is_refused_keeping_the_auditors_input_and_changing_nothing(
    auditor_client, assignment, auditor
):
    audit = audit_start(assignment, auditor)
    opened_at = audit.version
    # Saved meanwhile in another tab.
    audit_save_section(audit, auditor, opened_at, "A", met=["A1"], note="Other tab.")
    before = snapshot(audit)

    response = auditor_client.post(
        url("audit_section", assignment, "A"),
        section_post(opened_at, met=["A2"], note="Typed here."),
    )

    assert response.status_code == 409
    page = response.content.decode()
    assert "There is a problem" in page
    assert CHANGED_SINCE_OPENED.replace("'", "&#x27;") in page
    assert "Typed here." in page  # kept, so the auditor can copy it
    assert 'value="A2" aria-describedby="criterion-A2-hint" checked' in page
    # The grade shown is the one the auditor's own (unsaved) ticks would earn.
    assert "Derived grade for this section: Inadequate (score 0.25)" in page
    assert (
        f'<a class="govuk-link" href="{url("audit_section", assignment, "A")}">Open the latest'
        in page
    )
    assert snapshot(audit) == before


@pytest.mark.parametrize(
    "data, message",
    [
        (
            section_post(1, met=["A1", "J1"]),
            UNKNOWN_CRITERION_TICKED.format(criterion="J1", key="A"),
        ),
        (section_post(1, not_applicable=True), NOT_APPLICABLE_NOT_ALLOWED.format(key="A")),
    ],
)
def test_tampered_ticks_show_the_grading_message_and_change_nothing(
    auditor_client, assignment, auditor, data, message
):
    audit = audit_start(assignment, auditor)
    before = snapshot(audit)

    response = auditor_client.post(url("audit_section", assignment, "A"), data)

    assert response.status_code == 400
    assert message.replace("'", "&#x27;") in response.content.decode()
    assert snapshot(audit) == before


def test_a_section_not_in_the_rubric_is_not_found(auditor_client, assignment):
    assert auditor_client.get(url("audit_section", assignment, "Z")).status_code == 404
    response = auditor_client.post(url("audit_section", assignment, "Z"), section_post(1))
    assert response.status_code == 404
    assert Audit.objects.get(assignment=assignment).ticks == {}


def test_a_post_without_the_version_saves_nothing(auditor_client, assignment, auditor):
    audit = audit_start(assignment, auditor)
    response = auditor_client.post(url("audit_section", assignment, "A"), {"met": ["A1"]})
    assert response.status_code == 400
    assert "reload the page" in response.content.decode()
    assert snapshot(audit)[0] == 1


# A submitted audit


def test_a_submitted_audit_is_read_only_and_its_section_refuses_posts(
    auditor_client, assignment, auditor
):
    audit = completed(assignment, auditor)
    audit = audit_submit(audit, auditor, audit.version)
    before = snapshot(audit)

    shown = auditor_client.get(url("audit_section", assignment, "A"))
    assert shown.status_code == 200
    page = shown.content.decode()
    assert "can no longer be changed" in page
    assert "<form" not in page.split('id="main-content"')[1].split("</main>")[0]

    refused = auditor_client.post(
        url("audit_section", assignment, "A"), section_post(audit.version, met=["A2"])
    )
    assert refused.status_code == 403
    assert ALREADY_SUBMITTED in refused.content.decode()
    for name in ("audit_findings", "audit_review"):
        response = auditor_client.post(
            url(name, assignment), {"version": audit.version, "summary": "Changed."}
        )
        assert response.status_code == 403
    preview = auditor_client.post(url("audit_grade_preview", assignment), {"section": "A"})
    assert preview.status_code == 403
    assert snapshot(audit) == before


# Findings, review and submit


def test_review_refuses_to_submit_until_every_section_is_done(auditor_client, assignment, auditor):
    audit = audit_start(assignment, auditor)
    audit = audit_save_section(audit, auditor, audit.version, "A", met=["A1"])

    response = auditor_client.post(url("audit_review", assignment), {"version": audit.version})

    assert response.status_code == 400
    assert SECTIONS_NOT_DONE.format(sections="J") in response.content.decode()
    assert snapshot(audit)[1] == Audit.Status.DRAFT


def test_a_stale_submit_is_refused(auditor_client, assignment, auditor):
    audit = completed(assignment, auditor)
    response = auditor_client.post(url("audit_review", assignment), {"version": audit.version - 1})
    assert response.status_code == 409
    assert snapshot(audit)[1] == Audit.Status.DRAFT


def test_the_whole_audit_by_client(auditor_client, assignment):
    overview = auditor_client.get(url("audit_overview", assignment))
    assert overview.status_code == 200
    audit = Audit.objects.get(assignment=assignment)

    section_a = auditor_client.get(url("audit_section", assignment, "A"))
    version = section_a.context["form"]["version"].value()
    response = auditor_client.post(
        url("audit_section", assignment, "A"),
        section_post(version, met=["A1"], note="The child's own words."),
    )
    assert response.url == url("audit_section", assignment, "J")

    section_j = auditor_client.get(response.url)
    response = auditor_client.post(
        url("audit_section", assignment, "J"),
        section_post(section_j.context["form"]["version"].value(), not_applicable=True),
    )
    assert response.url == url("audit_findings", assignment)

    findings = auditor_client.get(response.url)
    response = auditor_client.post(
        url("audit_findings", assignment),
        {
            "version": findings.context["form"]["version"].value(),
            "strengths": "Clear aspirations.",
            "recommendations": "Add the parents' views.",
            "summary": "A good plan.",
            "then": "continue",
        },
    )
    assert response.url == url("audit_review", assignment)

    review = auditor_client.get(response.url)
    page = review.content.decode()
    assert "Good (score 0.75)" in page
    assert "Not applicable" in page
    assert "The child&#x27;s own words." in page
    assert "Add the parents&#x27; views." in page
    assert "The portal will record an overall grade of <strong>Good</strong>" in page

    response = auditor_client.post(
        url("audit_review", assignment),
        {"version": review.context["form"]["version"].value()},
        follow=True,
    )
    audit.refresh_from_db()
    assert audit.status == Audit.Status.SUBMITTED
    assert audit.overall_grade == "good"
    assert audit.result["sections"]["J"] == {"not_applicable": True, "grade": None}
    page = response.content.decode()
    assert "Audit submitted. The portal recorded an overall grade of Good." in page
    assert "Overall grade: Good" in page
    listing = auditor_client.get(reverse("my_audits"))
    assert [row.status_label for row in listing.context["rows"]] == ["Submitted"]
    assert "Grade: Good" in listing.content.decode()


# The live grade


def test_grade_preview_returns_the_grade_the_ticks_would_earn_and_stores_nothing(
    auditor_client, assignment, auditor
):
    audit = audit_start(assignment, auditor)
    before = snapshot(audit)
    preview = url("audit_grade_preview", assignment)

    good = auditor_client.post(preview, {"section": "A", "met": ["A1"], "version": 1})
    assert good.status_code == 200
    assert good.json() == {
        "section": "A",
        "score": "0.75",
        "grade": "good",
        "text": "Derived grade for this section: Good (score 0.75)",
    }
    # An essential criterion unticked: at best Requires Improvement.
    capped = auditor_client.post(preview, {"section": "A", "met": ["A2"]}).json()
    assert (capped["score"], capped["grade"]) == ("0.25", "inadequate")
    not_applicable = auditor_client.post(preview, {"section": "J", "not_applicable": "on"})
    assert not_applicable.json()["text"] == NOT_APPLICABLE_SENTENCE
    assert snapshot(audit) == before


@pytest.mark.parametrize(
    "data, message",
    [
        ({"section": "A", "met": ["A9"]}, UNKNOWN_CRITERION_TICKED.format(criterion="A9", key="A")),
        ({"section": "A", "not_applicable": "on"}, NOT_APPLICABLE_NOT_ALLOWED.format(key="A")),
        ({"section": "Z", "met": []}, "Section “Z” is not in the rubric this audit uses."),
    ],
)
def test_grade_preview_rejects_tampered_ticks(auditor_client, assignment, auditor, data, message):
    audit_start(assignment, auditor)
    response = auditor_client.post(url("audit_grade_preview", assignment), data)
    assert response.status_code == 400
    assert response.json() == {"error": message}


def test_grade_preview_only_answers_posts(auditor_client, assignment):
    assert auditor_client.get(url("audit_grade_preview", assignment)).status_code == 405
