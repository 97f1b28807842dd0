"""A QA lead reads the quality dashboard in a real headless Chromium on a tablet: the charts
drawn as SVG beside their tables, a filter applied and the figures narrowed, and a period
that is not a real date explained. Every state of the page passes axe-core's WCAG 2.2 AA
checks."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from portal.audits.actions import action_raise
from portal.audits.dashboard_forms import PERIOD_START_NOT_REAL
from portal.audits.models import Action
from tests.browser import (
    BROWSER_TEST_MARKS,
    check,
    chromium,  # noqa: F401 - the `browser` fixture
    open_tab,
    require_chromium,  # noqa: F401 - an autouse fixture
)
from tests.factories import PASSWORD, UserFactory

from .test_dashboard import GRADES_CAPTION, build

TABLET = {"width": 768, "height": 1024}

pytestmark = BROWSER_TEST_MARKS


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


def grade_cell(tab, grade):
    """The count in the overall grades table's row for `grade`."""
    table = tab.get_by_role("table", name=GRADES_CAPTION)
    return table.get_by_role("row", name=grade, exact=False).get_by_role("cell").first


def no_sideways_scrolling(tab):
    width = tab.evaluate("document.documentElement.scrollWidth")
    assert width <= tab.viewport_size["width"], f"the page is {width}px wide"


def test_a_qa_lead_reads_and_filters_the_dashboard(live_server, rubric_page, qa_lead, tab):
    build(rubric_page)
    action_raise(
        raised_by=qa_lead,
        description="Review the template for section J.",
        kind=Action.Kind.REVIEW_PROCESS,
        agency="health",
        owner=UserFactory(roles=["Action owner"], agency="health"),
        due_on=timezone.localdate() + datetime.timedelta(days=7),
    )
    sign_in(tab, live_server, qa_lead.username)
    tab.get_by_role("link", name="Dashboard").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text("Quality dashboard")

    # Six charts, each an image named for what it shows, and every table after its chart.
    charts = tab.get_by_role("img", name="Chart: ", exact=False)
    expect(charts).to_have_count(6)
    for index in range(6):
        expect(charts.nth(index)).to_be_visible()
    expect(
        tab.get_by_role("img", name="Chart: grades of each plan section", exact=False)
    ).to_be_visible()
    expect(tab.get_by_role("table")).to_have_count(7)
    expect(grade_cell(tab, "Good")).to_have_text("4")
    expect(grade_cell(tab, "All grades")).to_have_text("8")
    expect(tab.locator("#applied-filters")).to_have_text("Showing every submitted audit of a plan.")
    actions = tab.get_by_role("table", name="Actions by owning agency")
    expect(actions.get_by_role("row", name="Health")).to_have_text("Health 1 0 0")
    no_sideways_scrolling(tab)
    check(tab, "dashboard")

    tab.get_by_role("combobox", name="Key stage").select_option(label="Key stage 4")
    tab.get_by_role("button", name="Apply filters").click()
    expect(tab.locator("#applied-filters")).to_contain_text("Key stage: Key stage 4")
    expect(grade_cell(tab, "All grades")).to_have_text("3")
    expect(grade_cell(tab, "Good")).to_have_text("1")
    expect(tab.get_by_role("combobox", name="Key stage")).to_have_value("KS4")
    by_key_stage = tab.get_by_role("table", name="Overall grades by key stage")
    expect(by_key_stage.get_by_role("row")).to_have_count(2)  # the headings and key stage 4
    expect(charts).to_have_count(6)
    no_sideways_scrolling(tab)
    check(tab, "dashboard-filtered")

    # A date that does not exist: the error summary takes focus and no figures are shown.
    group = tab.get_by_role("group", name="Submitted from")
    group.get_by_label("Day").fill("31")
    group.get_by_label("Month").fill("2")
    group.get_by_label("Year").fill("2025")
    tab.get_by_role("button", name="Apply filters").click()
    summary = tab.locator(".govuk-error-summary")
    expect(summary).to_contain_text(PERIOD_START_NOT_REAL)
    expect(summary).to_be_focused()
    expect(charts).to_have_count(0)
    # Chromium reports the refused filter's 400 response itself as a failed load: expected.
    tab.script_errors.clear()
    check(tab, "dashboard-error")

    summary.get_by_role("link", name=PERIOD_START_NOT_REAL).click()
    expect(group.get_by_label("Day")).to_be_focused()
