"""A parent or carer reads a quality summary in a real headless Chromium: from the Local
Offer to the newest summary, its headline figures, the chart with the table beside it, and
the table's CSV download. Both pages pass axe-core's WCAG 2.2 AA checks."""

import datetime
from pathlib import Path

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from portal.audits.cycles import assignment_create
from portal.local_offer.models import QualitySummaryPage
from portal.local_offer.snapshots import report_snapshot_take
from tests.browser import (
    BROWSER_TEST_MARKS,
    check,
    chromium,  # noqa: F401 - the `browser` fixture
    open_tab,
    require_chromium,  # noqa: F401 - an autouse fixture
)
from tests.factories import UserFactory
from tests.page_factories import public_site

from ..audits.factories import AuditCycleFactory, PlanFactory
from ..training.factories import audit_complete

pytestmark = BROWSER_TEST_MARKS

# (2 × 0.75 + 3 × 1 + 1 × 0) / 6 = 0.75: good.
GOOD = {"A": ["A1"], "E": ["E1"], "J": []}
OUTSTANDING = {"A": ["A1", "A2"], "E": ["E1"], "J": None}


@pytest.fixture
def summary(home_page):
    cache.clear()
    site = public_site(home_page)
    auditor = UserFactory(roles=["Auditor"])
    cycle = AuditCycleFactory(rubric=site.rubric, moderation_share=0)
    for number in range(20):
        plan = PlanFactory(key_stage="KS2" if number % 2 else "KS3")
        assignment = assignment_create(plan, auditor, datetime.date(2026, 12, 1), None, cycle)
        audit_complete(assignment, auditor, OUTSTANDING if number < 8 else GOOD)
    page = QualitySummaryPage(
        title="Plan quality this autumn",
        slug="autumn",
        period_start=datetime.date(2026, 1, 1),
        period_end=datetime.date(2026, 12, 31),
        summary="How good were the plans we checked this autumn?",
        what_we_found="<p>Most plans were good.</p>",
        what_we_are_doing="<p>Training for writers of section F.</p>",
        what_the_grades_mean="<p>Good means the plan does what the law asks.</p>",
        feedback="<p>Email the SEND team.</p>",
    )
    site.local_offer.add_child(instance=page)
    revision = page.save_revision()
    revision.publish()
    report_snapshot_take(revision)
    return site, page


def test_a_reader_finds_a_summary_reads_its_chart_table_and_downloads_it(
    live_server, summary, browser
):
    site, _ = summary
    context, tab = open_tab(browser, "phone", {"width": 375, "height": 812})
    tab.goto(live_server.url + site.local_offer.url)
    check(tab, "local-offer-with-summaries")
    tab.get_by_role("link", name="Plan quality this autumn").click()

    expect(tab.get_by_role("heading", level=1)).to_have_text("Plan quality this autumn")
    expect(tab.locator(".portal-headline").first).to_contain_text("20")
    chart = tab.get_by_role("img", name="Chart: grades of the plans audited")
    expect(chart).to_be_visible()
    table = tab.get_by_role("table", name="Grades of the plans audited (number of audits)")
    expect(table.get_by_role("row", name="All audits")).to_contain_text("8")
    expect(table.get_by_role("row", name="All audits")).to_contain_text("12")
    check(tab, "quality-summary")

    with tab.expect_download() as download:
        tab.get_by_role("link", name="CSV of grades of the plans audited").click()
    content = Path(download.value.path()).read_text(encoding="utf-8")
    assert content.splitlines()[1] == "All audits,8,12,0,0,20"
    context.close()
