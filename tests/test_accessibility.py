"""Every public page type and the sign-in page, in a real headless Chromium, pass axe-core's
WCAG 2.2 AA checks on a desktop and on a phone-sized screen, with the site's own CSS and
JavaScript loaded (so colour contrast is checked against what readers really see).

Set PORTAL_SCREENSHOTS to a folder to keep a full-page screenshot of every page checked."""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

# Playwright's sync API runs an event loop in this thread; Django's ORM, used here to build
# the pages, would otherwise refuse to run beside it.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import expect, sync_playwright

from tests.page_factories import public_site

CHROMIUM = shutil.which("chromium") or next(
    (path for path in ("/usr/bin/chromium",) if Path(path).exists()), None
)
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
AXE_RUN = """() => axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}
})"""
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 812}}
NO_CHROMIUM = (
    "No Chromium found (looked for `chromium` on PATH and /usr/bin/chromium). Install it with "
    "`apt-get install -y chromium`."
)
NO_AXE = f"axe-core is missing ({AXE}): run `npm ci` in the project folder."

pytestmark = [
    pytest.mark.browser,
    # Serialized rollback puts back the rows migrations made (plan sections, roles, Wagtail's
    # root page) after this module's transactional tests flush the database.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(autouse=True, scope="module")
def require_chromium():
    """Skip (or, in CI, fail) before any test data is built when there is no browser."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but the browser tests cannot run. {NO_CHROMIUM}")
        pytest.skip(NO_CHROMIUM)
    if not AXE.exists():
        pytest.fail(NO_AXE)


@pytest.fixture
def browser(live_server):
    """Chromium for one test, started after the test database is set up and stopped before
    it is torn down: while Playwright's event loop runs, Django hands out a different
    connection object, without the state it needs to restore the database."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
        # Close the connections the ORM opened beside the event loop, or they keep the test
        # database open and it cannot be dropped at the end of the run.
        connections.close_all()


@pytest.fixture
def site(home_page):
    return public_site(home_page)


@pytest.fixture(params=list(VIEWPORTS))
def tab(request, browser):
    """A fresh browser tab at the parametrised screen size, failing on any script error."""
    context = browser.new_context(viewport=VIEWPORTS[request.param], locale="en-GB")
    page = context.new_page()
    page.viewport_name = request.param
    page.script_errors = []
    page.on("pageerror", lambda error: page.script_errors.append(str(error)))
    page.on("console", lambda message: record_console_error(page, message))
    yield page
    context.close()


def record_console_error(page, message):
    if message.type == "error":
        page.script_errors.append(f"{message.text} ({message.location.get('url')})")


def describe(violations):
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        lines.extend(
            f"    {node['target']}: {node.get('failureSummary', '').splitlines()[-1:]}"
            for node in violation["nodes"]
        )
    return "\n".join(lines)


def check(tab, name):
    """The page as styled by the portal's CSS, initialised by its JavaScript, and free of
    WCAG A/AA violations that axe can detect."""
    font = tab.evaluate("getComputedStyle(document.body).fontFamily")
    assert "system-ui" in font, f"{name}: portal.css did not load (body font is {font!r})"
    expect(tab.locator("body")).to_have_class("govuk-template__body govuk-frontend-supported")
    expect(tab.locator(".govuk-skip-link")).to_have_attribute("data-govuk-skip-link-init", "")
    assert tab.script_errors == [], f"{name}: script errors {tab.script_errors}"

    tab.add_script_tag(path=str(AXE))
    violations = tab.evaluate(AXE_RUN)["violations"]
    assert violations == [], f"{name} ({tab.viewport_name}):\n{describe(violations)}"

    folder = os.environ.get("PORTAL_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=f"{folder}/{name}-{tab.viewport_name}.png", full_page=True)


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
