"""A moderator's work in a real headless Chromium on a tablet: the queue, a plan's two
disagreeing audits side by side, a moderated grade refused without a rationale and then
recorded with one, the closed case, and the cycle's agreement figures. Every moderation
screen passes axe-core's WCAG 2.2 AA checks on the way."""

import datetime

import pytest
from playwright.sync_api import expect

from portal.audits.cycles import assignment_create
from portal.audits.models import Audit, ModerationCase
from portal.audits.moderation import RATIONALE_MISSING
from tests.browser import (
    BROWSER_TEST_MARKS,
    check,
    chromium,  # noqa: F401 - the `browser` fixture
    open_tab,
    require_chromium,  # noqa: F401 - an autouse fixture
)
from tests.factories import PASSWORD, UserFactory
from tests.training.factories import audit_complete

from .factories import AuditCycleFactory, PlanFactory, SampledPlanFactory

TABLET = {"width": 768, "height": 1024}
DUE = datetime.date(2026, 12, 18)

pytestmark = BROWSER_TEST_MARKS


@pytest.fixture
def case(rubric_page):
    """EHC-000101, double-audited: Amira ticked everything (Outstanding); Ben left A2 unmet
    and marked J not applicable (Good)."""
    cycle = AuditCycleFactory(name="Cycle 1: new plans", rubric=rubric_page)
    plan = PlanFactory(system_id="EHC-000101")
    SampledPlanFactory(cycle=cycle, plan=plan, double_audit=True)
    for username, name, agency, ticks in (
        ("amira", "Amira", "education", {"A": ["A1", "A2"], "J": ["J1"]}),
        ("ben", "Ben", "health", {"A": ["A1"], "J": None}),
    ):
        auditor = UserFactory(username=username, first_name=name, roles=["Auditor"], agency=agency)
        assignment = assignment_create(plan, auditor, DUE, None, cycle=cycle)
        audit_complete(assignment, auditor, ticks)
    UserFactory(username="moderator1", first_name="Mo", last_name="Reid", roles=["Moderator"])
    return ModerationCase.objects.get()


@pytest.fixture
def tab(browser):
    context, page = open_tab(browser, "tablet", TABLET)
    yield page
    context.close()


def sign_in(tab, live_server, username):
    tab.goto(live_server.url + "/accounts/login/")
    tab.get_by_label("Username").fill(username)
    tab.get_by_label("Password", exact=True).fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()


def test_a_moderator_compares_two_audits_and_closes_the_case(live_server, case, tab):
    grades_before = sorted(Audit.objects.values_list("overall_grade", flat=True))
    sign_in(tab, live_server, "moderator1")
    expect(tab.get_by_role("heading", level=1)).to_have_text("My audits")

    tab.goto(live_server.url + "/moderation/")
    expect(tab.get_by_role("heading", level=1)).to_have_text("Moderation queue")
    row = tab.get_by_role("row", name="EHC-000101")
    expect(row).to_contain_text("Audited by two auditors")
    expect(row).to_contain_text("Waiting for a moderator")
    check(tab, "moderation-queue")

    tab.get_by_role("link", name="EHC-000101").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text("Plan EHC-000101")
    expect(tab.locator("#disagreement-summary")).to_have_text(
        "Auditors disagree on 2 criteria in 2 sections."
    )
    # Overall grades, sections A and J, findings: each table has a column per audit.
    expect(tab.get_by_role("columnheader", name="Audit 1 – Amira")).to_have_count(4)
    expect(tab.get_by_role("columnheader", name="Audit 2 – Ben")).to_have_count(4)
    disagreeing = tab.get_by_role("row", name="A2: Parents' views are recorded.")
    expect(disagreeing).to_contain_text("Disagreement")
    expect(disagreeing).to_contain_text("Met")
    expect(disagreeing).to_contain_text("Not met")
    expect(tab.get_by_role("row", name="A1:")).not_to_contain_text("Disagreement")
    check(tab, "moderation-case")

    # Closing needs a rationale: the error summary says so, and the grade chosen is kept.
    tab.get_by_label("Good", exact=True).check()
    tab.get_by_role("button", name="Close the case").click()
    summary = tab.locator(".govuk-error-summary")
    expect(summary).to_contain_text(RATIONALE_MISSING)
    expect(summary).to_be_focused()
    expect(tab.get_by_label("Good", exact=True)).to_be_checked()
    # Chromium reports the refused post's 400 response itself as a failed load: expected.
    tab.script_errors.clear()
    check(tab, "moderation-case-error")

    tab.get_by_role("combobox", name="Section A").select_option("Good")
    tab.get_by_label("Rationale").fill("Parents' views are not in the plan, so Good.")
    tab.get_by_role("button", name="Close the case").click()

    expect(tab.locator(".govuk-notification-banner")).to_contain_text(
        "Case closed: Grade changed (Good)."
    )
    record = tab.locator("#decision-record")
    expect(record).to_contain_text("Grade changed")
    expect(record).to_contain_text("Section A: Views, interests and aspirations – Good")
    expect(record).to_contain_text("Parents' views are not in the plan, so Good.")
    expect(record).to_contain_text("Mo Reid")
    expect(tab.locator("main form")).to_have_count(0)
    check(tab, "moderation-case-closed")
    assert sorted(Audit.objects.values_list("overall_grade", flat=True)) == grades_before

    tab.get_by_role("link", name="Moderation queue").click()
    expect(tab.get_by_text("There are no open cases.")).to_be_visible()
    tab.get_by_role("link", name="Agreement in Cycle 1: new plans").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text("Agreement between auditors")
    within_one = tab.locator("#double-audits .govuk-summary-list__row", has_text="Within one")
    expect(within_one).to_contain_text("100% (1 of 1 plan)")
    expect(tab.get_by_role("table", name="How moderation changed")).to_contain_text("Amira")
    check(tab, "moderation-agreement")
