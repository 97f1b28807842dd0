"""An auditor's whole audit in a real headless Chromium on a tablet: sign in, open My audits,
tick criteria section by section watching the live derived grade, mark a section not
applicable, write findings, review, submit and see the overall grade the portal derived.
Every audit screen passes axe-core's WCAG 2.2 AA checks on the way."""

import datetime

import pytest
from guardian.shortcuts import assign_perm
from playwright.sync_api import expect

from portal.audits.models import (
    Audit,
)
from tests.browser import (
    BROWSER_TEST_MARKS,
    check,
    chromium,  # noqa: F401 - the `browser` fixture
    open_tab,
    require_chromium,  # noqa: F401 - an autouse fixture
)
from tests.factories import PASSWORD, UserFactory
from tests.page_factories import public_site

from .factories import AssignmentFactory, AuditCycleFactory, PlanFactory

VIEWPORTS = {"tablet": {"width": 768, "height": 1024}, "desktop": {"width": 1280, "height": 900}}
GRADE = "#derived-grade"

pytestmark = BROWSER_TEST_MARKS


@pytest.fixture
def site(home_page):
    return public_site(home_page)


@pytest.fixture
def assignment(site):
    auditor = UserFactory(username="auditor1", first_name="Priya", roles=["Auditor"])
    assignment = AssignmentFactory(
        plan=PlanFactory(system_id="EHC-004711", primary_need="SLCN"),
        cycle=AuditCycleFactory(name="Cycle 1: new plans", rubric=site.rubric),
        auditor=auditor,
        due_on=datetime.date(2026, 12, 1),
    )
    assign_perm("audits.view_assignment", auditor, assignment)
    return assignment


@pytest.fixture(params=list(VIEWPORTS))
def tab(request, browser):
    context, page = open_tab(browser, request.param, VIEWPORTS[request.param])
    yield page
    context.close()


def sign_in(tab, live_server, username):
    tab.goto(live_server.url + "/accounts/login/")
    tab.get_by_label("Username").fill(username)
    tab.get_by_label("Password", exact=True).fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()


def test_an_auditor_records_and_submits_an_audit_section_by_section(
    live_server, site, assignment, tab
):
    sign_in(tab, live_server, "auditor1")

    # Signing in lands on My audits.
    expect(tab.get_by_role("heading", level=1)).to_have_text("My audits")
    expect(tab.get_by_role("row", name="EHC-004711")).to_contain_text("Not started")
    check(tab, "audit-my-audits")

    tab.get_by_role("link", name="EHC-004711").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text("Plan EHC-004711")
    check(tab, "audit-overview")
    tab.get_by_role("button", name="Start the audit").click()

    # Section A: the live grade follows the ticks, before anything is saved.
    expect(tab.get_by_role("heading", level=1)).to_have_text(
        "Section A: Views, interests and aspirations"
    )
    expect(tab.locator(".govuk-caption-m")).to_contain_text("section 1 of 3")
    expect(tab.get_by_role("link", name="Views in the child's own words")).to_be_visible()
    expect(tab.locator(GRADE)).to_have_attribute("aria-live", "polite")
    check(tab, "audit-section")
    tab.get_by_label("The child's views are in their own words.").check()
    expect(tab.locator(GRADE)).to_have_text("Derived grade for this section: Good (score 0.75)")
    tab.get_by_label("Parents' views are recorded.").check()
    expect(tab.locator(GRADE)).to_have_text("Derived grade for this section: Outstanding (score 1)")
    tab.get_by_label("Parents' views are recorded.").uncheck()
    expect(tab.locator(GRADE)).to_have_text("Derived grade for this section: Good (score 0.75)")
    assert Audit.objects.get().ticks == {}  # the preview stores nothing
    tab.get_by_label("Note on section A (optional)").fill("Aspirations in the child's words.")
    tab.get_by_role("button", name="Save and continue").click()

    # Section E: an essential criterion unticked keeps the section at best Requires
    # Improvement; ticking it gives Outstanding.
    expect(tab.get_by_role("heading", level=1)).to_have_text("Section E: Outcomes")
    outcome = tab.get_by_label("Outcomes are specific, measurable and time-bound.")
    outcome.check()
    expect(tab.locator(GRADE)).to_have_text("Derived grade for this section: Outstanding (score 1)")
    tab.get_by_role("button", name="Save and continue").click()

    # Section J may be not applicable: ticking that clears the criteria.
    expect(tab.get_by_role("heading", level=1)).to_have_text("Section J: Personal budget")
    tab.get_by_label("The budget's use is set out.").check()
    expect(tab.locator(GRADE)).to_contain_text("Outstanding")
    tab.get_by_label("Section J does not apply to this plan").check()
    expect(tab.get_by_label("The budget's use is set out.")).not_to_be_checked()
    expect(tab.locator(GRADE)).to_have_text(
        "This section is marked not applicable, so it is left out of the plan's grade."
    )
    tab.get_by_role("button", name="Save and continue").click()

    expect(tab.get_by_role("heading", level=1)).to_have_text(
        "Strengths, recommendations and summary"
    )
    tab.get_by_label("Strengths").fill("Clear, ambitious outcomes.")
    tab.get_by_label("Recommendations").fill("Record the parents' views in section A.")
    tab.get_by_label("Summary").fill("A good plan with one gap.")
    tab.get_by_role("button", name="Save and continue").click()

    expect(tab.get_by_role("heading", level=1)).to_have_text(
        "Check your audit before you submit it"
    )
    expect(tab.get_by_text("Good (score 0.75)")).to_be_visible()
    # Overall: (2 × 0.75 + 3 × 1) / 5 = 0.9, with J left out.
    expect(
        tab.get_by_text("The portal will record an overall grade of Outstanding")
    ).to_be_visible()
    check(tab, "audit-review")
    tab.get_by_role("button", name="Submit audit").click()

    expect(tab.get_by_role("heading", name="Overall grade: Outstanding")).to_be_visible()
    expect(tab.locator(".govuk-notification-banner")).to_contain_text(
        "The portal recorded an overall grade of Outstanding."
    )
    check(tab, "audit-submitted")
    audit = Audit.objects.get()
    assert audit.status == Audit.Status.SUBMITTED
    assert audit.overall_grade == "outstanding"
    assert audit.ticks["sections"]["J"] == {"not_applicable": True}

    # Read-only from now on: the section has no form.
    tab.goto(f"{live_server.url}/audits/{assignment.pk}/section/A/")
    expect(
        tab.get_by_text("This audit has been submitted, so it can no longer be changed.")
    ).to_be_visible()
    expect(tab.locator("main form")).to_have_count(0)


def test_a_stale_tab_is_told_its_changes_were_not_saved(live_server, assignment, browser):
    context, first = open_tab(browser, "tablet", VIEWPORTS["tablet"])
    sign_in(first, live_server, "auditor1")
    section_a = f"{live_server.url}/audits/{assignment.pk}/section/A/"
    first.goto(section_a)
    second = context.new_page()
    second.goto(section_a)

    second.get_by_label("The child's views are in their own words.").check()
    second.get_by_role("button", name="Save and continue").click()
    expect(second.get_by_role("heading", level=1)).to_have_text("Section E: Outcomes")

    first.get_by_label("Note on section A (optional)").fill("Typed in the old tab.")
    first.get_by_role("button", name="Save and continue").click()

    summary = first.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Your changes were not saved")
    expect(summary).to_be_focused()
    expect(first.get_by_label("Note on section A (optional)")).to_have_value(
        "Typed in the old tab."
    )
    # Chromium reports the refused save's 409 response itself as a failed load: expected.
    first.script_errors.clear()
    check(first, "audit-section-changed")
    assert Audit.objects.get().section_notes == {"A": ""}

    first.get_by_role("link", name="Open the latest saved version").click()
    expect(first.get_by_label("The child's views are in their own words.")).to_be_checked()
    expect(first.locator(GRADE)).to_have_text("Derived grade for this section: Good (score 0.75)")
    context.close()
