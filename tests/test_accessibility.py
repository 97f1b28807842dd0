"""Every public page type and the sign-in page, in a real headless Chromium, pass axe-core's
WCAG 2.2 AA checks on a desktop and on a phone-sized screen, with the site's own CSS and
JavaScript loaded (so colour contrast is checked against what readers really see).

Set PORTAL_SCREENSHOTS to a folder to keep a full-page screenshot of every page checked."""

import datetime

import pytest
from django.conf import settings
from playwright.sync_api import expect

from portal.framework.models import AccessibilityStatementPage
from tests.browser import (
    BROWSER_TEST_MARKS,
    check,
    chromium,  # noqa: F401 - the `browser` fixture
    open_tab,
    require_chromium,  # noqa: F401 - an autouse fixture
)
from tests.page_factories import public_site

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 812}}

pytestmark = BROWSER_TEST_MARKS


@pytest.fixture
def site(home_page):
    return public_site(home_page)


@pytest.fixture(params=list(VIEWPORTS))
def tab(request, browser):
    """A fresh browser tab at the parametrised screen size, failing on any script error."""
    context, page = open_tab(browser, request.param, VIEWPORTS[request.param])
    yield page
    context.close()


def test_public_pages_pass_axe(live_server, site, tab):
    pages = {
        "home": site.home,
        "framework": site.framework,
        "standards": site.standards,
        "standard": site.outcomes,
        "exemplars": site.exemplars,
        "exemplar": site.outcomes_exemplar,
        "rubric": site.rubric,
        "local-offer": site.local_offer,
    }
    for name, page in pages.items():
        response = tab.goto(live_server.url + page.url)
        assert response.status == 200, name
        check(tab, name)


def test_the_accessibility_statement_passes_axe(live_server, site, tab):
    statement = AccessibilityStatementPage(
        title="Accessibility statement",
        slug="accessibility-statement",
        introduction="<p>This statement applies to the quality assurance website.</p>",
        body=[
            ("heading", "What is not fully accessible yet"),
            ("paragraph", "<ul><li>Governance report PDFs are not tagged.</li></ul>"),
        ],
        prepared_on=datetime.date(2026, 11, 23),
        reviewed_on=datetime.date(2026, 11, 23),
    )
    site.home.add_child(instance=statement)
    statement.save_revision().publish()

    tab.goto(live_server.url + site.home.url)
    tab.get_by_role("contentinfo").get_by_role("link", name="Accessibility statement").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text("Accessibility statement")
    expect(tab.get_by_text("It was last reviewed on 23 November 2026.")).to_be_visible()
    check(tab, "accessibility-statement")


def test_skip_link_is_the_first_stop_and_moves_focus_to_the_content(live_server, site, tab):
    tab.goto(live_server.url + site.rubric.url)

    tab.keyboard.press("Tab")
    expect(tab.locator(".govuk-skip-link")).to_be_focused()
    tab.keyboard.press("Enter")
    expect(tab.locator("#main-content")).to_be_focused()


def test_standard_links_to_its_rubric_section(live_server, site, tab):
    tab.goto(live_server.url + site.outcomes.url)

    tab.get_by_role("link", name="Section E: Outcomes").click()

    expect(tab).to_have_url(f"{live_server.url}{site.rubric.url}#section-E")
    expect(tab.locator("#section-E")).to_be_in_viewport()


def test_not_found_page_passes_axe(live_server, site, tab):
    response = tab.goto(live_server.url + "/no-such-page/")

    assert response.status == 404
    expect(tab.get_by_role("heading", level=1)).to_have_text("Page not found")
    # Chromium reports the 404 response itself as a failed load: expected here.
    tab.script_errors.clear()
    check(tab, "not-found")


def test_sign_in_page_and_its_error_state_pass_axe(live_server, tab):
    tab.goto(live_server.url + "/accounts/login/")
    check(tab, "sign-in")

    tab.get_by_label("Username").fill("auditor1")
    tab.get_by_label("Password", exact=True).fill("not-the-password")
    tab.get_by_role("button", name="Sign in").click()

    summary = tab.locator(".govuk-error-summary")
    expect(summary).to_contain_text("There is a problem")
    expect(summary).to_contain_text("Please enter a correct username and password.")
    # GOV.UK Frontend moves focus to the summary so screen reader users hear it first.
    expect(summary).to_be_focused()
    expect(tab).to_have_title("Error: Sign in – " + settings.WAGTAIL_SITE_NAME)
    check(tab, "sign-in-error")
