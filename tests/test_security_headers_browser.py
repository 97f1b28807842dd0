"""The Content-Security-Policy in a real headless Chromium: public pages (the home page, the
Local Offer and a quality summary with its charts) report no violation and still pass
axe-core; a QA lead signs in to Wagtail's admin, opens the page explorer, edits a page and
previews it, all without a violation. tests/browser.py turns every violation into a console
error, which fails the test."""

import pytest
from playwright.sync_api import expect

from tests.browser import (
    BROWSER_TEST_MARKS,
    check,
    chromium,  # noqa: F401 - the `browser` fixture
    open_tab,
    require_chromium,  # noqa: F401 - an autouse fixture
)
from tests.factories import PASSWORD, UserFactory

from .test_security_headers import public_site_with_summary

pytestmark = BROWSER_TEST_MARKS

DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def site_with_summary(home_page):
    return public_site_with_summary(home_page)


@pytest.fixture
def tab(browser):
    context, page = open_tab(browser, "desktop", DESKTOP)
    yield page
    context.close()


def test_public_pages_keep_to_the_policy_and_pass_axe(live_server, site_with_summary, tab):
    site = site_with_summary
    pages = {"home": site.home, "local-offer": site.local_offer, "summary": site.summary}
    for name, page in pages.items():
        response = tab.goto(live_server.url + page.url)

        assert "script-src 'self';" in response.headers["content-security-policy"] + ";"
        check(tab, f"policy-{name}")
    expect(tab.get_by_role("img", name="Chart: grades of the plans audited")).to_be_visible()


def test_the_admin_works_within_its_policy(live_server, site_with_summary, tab):
    site = site_with_summary
    UserFactory(username="qalead1", roles=["QA lead"])
    tab.goto(live_server.url + "/admin/login/")
    tab.get_by_label("Username").fill("qalead1")
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab).to_have_url(live_server.url + "/admin/")

    tab.goto(live_server.url + f"/admin/pages/{site.home.pk}/")
    expect(tab.get_by_role("link", name="Quality Assurance Framework").first).to_be_visible()
    tab.get_by_role("link", name="Quality Assurance Framework").first.click()
    expect(tab.get_by_role("heading", level=1).first).to_contain_text("Quality Assurance")
    tab.get_by_role("button", name="Toggle preview").click()
    preview = tab.frame_locator("#w-preview-iframe")
    expect(preview.get_by_role("heading", level=1)).to_have_text("Quality Assurance Framework")
    tab.wait_for_load_state("networkidle")

    assert tab.script_errors == []
