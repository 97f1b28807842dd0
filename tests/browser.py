"""What every browser test shares: Debian's Chromium driven by Playwright's sync API, and a
check that a page is styled, initialised and free of the WCAG A/AA violations axe-core finds.

Import `require_chromium` and `chromium` into a test module to use them as fixtures there; the
latter is the `browser` fixture (named apart so that tests taking `browser` do not shadow it).
Set PORTAL_SCREENSHOTS to a folder to keep a full-page screenshot of every page checked."""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

# Playwright's sync API runs an event loop in this thread; Django's ORM, used by the tests to
# build their data, would otherwise refuse to run beside it.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import expect, sync_playwright

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
NO_CHROMIUM = (
    "No Chromium found (looked for `chromium` on PATH and /usr/bin/chromium). Install it with "
    "`apt-get install -y chromium`."
)
NO_AXE = f"axe-core is missing ({AXE}): run `npm ci` in the project folder."
# Every Content-Security-Policy violation is reported as a console error, so a test fails on
# one like on any script error. Playwright runs this before the page's own scripts, outside
# the page's policy.
REPORT_CSP_VIOLATIONS = """document.addEventListener("securitypolicyviolation", (event) => {
    console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI}`
        + ` at ${event.sourceFile}:${event.lineNumber}`);
});"""

BROWSER_TEST_MARKS = [
    pytest.mark.browser,
    # Serialized rollback puts back the rows migrations made (plan sections, roles, Wagtail's
    # root page) after a module's transactional tests flush the database.
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


@pytest.fixture(name="browser")
def chromium(live_server):
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


def open_tab(browser, viewport_name, viewport):
    """A new browser context and tab at one screen size that records every script error.
    Returns (context, tab); close the context when done."""
    context = browser.new_context(viewport=viewport, locale="en-GB")
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    tab = context.new_page()
    tab.viewport_name = viewport_name
    tab.script_errors = []
    tab.on("pageerror", lambda error: tab.script_errors.append(str(error)))
    tab.on("console", lambda message: record_console_error(tab, message))
    return context, tab


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

    # Evaluated through the browser's debugging protocol rather than added as an inline
    # <script>, which the portal's Content-Security-Policy rightly refuses.
    tab.evaluate(AXE.read_text())
    violations = tab.evaluate(AXE_RUN)["violations"]
    assert violations == [], f"{name} ({tab.viewport_name}):\n{describe(violations)}"

    folder = os.environ.get("PORTAL_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=f"{folder}/{name}-{tab.viewport_name}.png", full_page=True)
