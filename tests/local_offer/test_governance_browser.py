"""A Partnership Board member signs in and reads a governance report in a real headless
Chromium: the section, the report with its tables, and the links to its PDF and CSV. Both
pages pass axe-core's WCAG 2.2 AA checks."""

import datetime

import pytest
from playwright.sync_api import expect

from portal.local_offer.governance import governance_index_restrict
from portal.local_offer.models import GovernanceReportIndexPage, GovernanceReportPage
from portal.local_offer.snapshots import report_snapshot_take
from tests.browser import (
    BROWSER_TEST_MARKS,
    check,
    chromium,  # noqa: F401 - the `browser` fixture
    open_tab,
    require_chromium,  # noqa: F401 - an autouse fixture
)
from tests.factories import PASSWORD, UserFactory
from tests.page_factories import public_site

from ..audits.factories import AuditCycleFactory, PlanFactory
from ..training.factories import audit_complete

pytestmark = BROWSER_TEST_MARKS

GOOD = {"A": ["A1"], "E": ["E1"], "J": []}


@pytest.fixture
def governance_report(home_page):
    from portal.audits.cycles import assignment_create

    site = public_site(home_page)
    auditor = UserFactory(roles=["Auditor"], agency="health")
    cycle = AuditCycleFactory(rubric=site.rubric, moderation_share=0)
    for _ in range(12):
        assignment = assignment_create(
            PlanFactory(), auditor, datetime.date(2026, 12, 1), None, cycle
        )
        audit_complete(assignment, auditor, GOOD)
    index = GovernanceReportIndexPage(title="Governance reports", slug="governance")
    home_page.add_child(instance=index)
    index.save_revision().publish()
    governance_index_restrict(index)
    report = GovernanceReportPage(
        title="Report to the board: 2026",
        slug="2026",
        period_start=datetime.date(2026, 1, 1),
        period_end=datetime.date(2026, 12, 31),
        introduction="<p>For the board meeting in December.</p>",
        commentary="<p>Section F is still the weakest part of plans.</p>",
    )
    index.add_child(instance=report)
    revision = report.save_revision()
    revision.publish()
    report_snapshot_take(revision)
    return index, report


def test_a_board_member_reads_a_governance_report(live_server, governance_report, browser):
    index, report = governance_report
    UserFactory(username="board1", roles=["Partnership Board"])
    context, tab = open_tab(browser, "desktop", {"width": 1280, "height": 900})
    tab.goto(live_server.url + index.url)
    expect(tab).to_have_url(f"{live_server.url}/accounts/login/?next={index.url}")
    tab.get_by_label("Username").fill("board1")
    tab.get_by_label("Password", exact=True).fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    tab.goto(live_server.url + index.url)
    check(tab, "governance-index")
    tab.get_by_role("link", name="Report to the board: 2026").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text("Report to the board: 2026")
    expect(tab.locator("main")).to_contain_text("Section F is still the weakest part of plans.")
    expect(tab.locator("main")).to_contain_text("12")
    expect(tab.get_by_role("link", name="PDF", exact=True)).to_have_attribute(
        "href", f"{report.url}pdf/"
    )
    check(tab, "governance-report")
    context.close()
