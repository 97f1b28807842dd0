"""A QA lead publishes a quality summary without a developer, in a real headless Chromium:
writes it in the Wagtail admin and submits it; another QA lead approves, which publishes it
and takes its figures; then a parent opens it from the Local Offer and downloads a table."""

import datetime

import pytest
from django.core.cache import cache
from django.urls import reverse
from playwright.sync_api import expect

from portal.audits.cycles import assignment_create
from portal.local_offer.models import QualitySummaryPage, ReportSnapshot
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

DESKTOP = {"width": 1280, "height": 900}
# (2 × 0.75 + 3 × 1 + 1 × 0) / 6 = 0.75: good.
GOOD = {"A": ["A1"], "E": ["E1"], "J": []}


@pytest.fixture
def site(home_page):
    cache.clear()
    site = public_site(home_page)
    auditor = UserFactory(roles=["Auditor"])
    cycle = AuditCycleFactory(rubric=site.rubric, moderation_share=0)
    for _ in range(12):
        assignment = assignment_create(
            PlanFactory(), auditor, datetime.date(2026, 12, 1), None, cycle
        )
        audit_complete(assignment, auditor, GOOD)
    return site


def sign_in_to_admin(tab, live_server, username):
    tab.goto(f"{live_server.url}/admin/login/")
    tab.get_by_label("Username").fill(username)
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()


def fill_rich_text(tab, field, text):
    """Type into a rich text field's editor (Draftail)."""
    editor = tab.locator(f"#panel-child-content-{field}-section [contenteditable=true]")
    editor.click()
    tab.keyboard.type(text)
    editor.blur()  # the editor writes the field's value when it loses focus


def test_a_qa_lead_writes_a_summary_another_approves_and_a_parent_reads_it(
    live_server, site, browser, client
):
    author = UserFactory(username="qalead1", roles=["QA lead"])
    approver = UserFactory(username="qalead2", roles=["QA lead"])
    context, tab = open_tab(browser, "desktop", DESKTOP)
    sign_in_to_admin(tab, live_server, author.username)
    tab.goto(
        live_server.url
        + reverse(
            "wagtailadmin_pages:add",
            args=["local_offer", "qualitysummarypage", site.local_offer.pk],
        )
    )
    tab.locator("#id_title").fill("Plan quality in 2026")
    tab.locator("#id_summary").fill("What we found when we checked plans this year.")
    tab.locator("#id_period_start").fill("2026-01-01")
    tab.locator("#id_period_end").fill("2026-12-31")
    fill_rich_text(tab, "what_we_found", "Most plans were good.")
    fill_rich_text(tab, "what_we_are_doing", "Training for section F.")
    fill_rich_text(tab, "what_the_grades_mean", "Good means the plan does what the law asks.")
    fill_rich_text(tab, "feedback", "Email the SEND team.")
    # Draftail saves what was typed into its form field a moment after the last key.
    tab.wait_for_timeout(1000)
    tab.get_by_role("button", name="More actions").click()
    tab.get_by_role("button", name="Submit to Framework approval by a second QA lead").click()
    expect(tab.locator(".messages")).to_contain_text("submitted")
    context.close()

    page = QualitySummaryPage.objects.get(title="Plan quality in 2026")
    assert not page.live
    client.force_login(approver)
    response = client.post(
        reverse(
            "wagtailadmin_pages:workflow_action",
            args=[page.pk, "approve", page.current_workflow_task_state.pk],
        ),
        {"comment": "Figures and wording checked."},
    )
    assert response.status_code == 302
    page.refresh_from_db()
    assert page.live
    snapshot = ReportSnapshot.objects.get(revision=page.live_revision)
    assert snapshot.data["headline"]["audits"] == 12

    context, tab = open_tab(browser, "phone", {"width": 375, "height": 812})
    tab.goto(live_server.url + site.local_offer.url)
    tab.get_by_role("link", name="Plan quality in 2026").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text("Plan quality in 2026")
    table = tab.get_by_role("table", name="Grades of the plans audited (number of audits)")
    expect(table.get_by_role("row", name="All audits")).to_contain_text("12")
    check(tab, "published-summary")
    with tab.expect_download() as download:
        tab.get_by_role("link", name="CSV of grades of the plans audited").click()
    assert download.value.suggested_filename == "plan-quality-in-2026-grades.csv"
    context.close()
