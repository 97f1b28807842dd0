"""The second factor in a real headless Chromium: a QA lead sets up an authenticator app by
scanning its QR code, saves their recovery codes and reaches the page they asked for; next
time, on Wagtail's own sign-in page, they give a recovery code and reach the admin. Every
two-factor page, and its error state, passes axe-core's WCAG 2.2 AA checks."""

import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from portal.framework import two_factor
from tests.browser import (
    BROWSER_TEST_MARKS,
    check,
    chromium,  # noqa: F401 - the `browser` fixture
    open_tab,
    require_chromium,  # noqa: F401 - an autouse fixture
)
from tests.factories import PASSWORD, UserFactory
from tests.page_factories import public_site

from .test_two_factor import app_code

pytestmark = BROWSER_TEST_MARKS


@pytest.fixture
def required(settings):
    settings.PORTAL_REQUIRE_SECOND_FACTOR = True


@pytest.mark.usefixtures("required")
def test_a_qa_lead_sets_up_an_app_then_signs_in_to_the_admin_with_a_recovery_code(
    live_server, home_page, browser
):
    public_site(home_page)
    UserFactory(username="qalead1", first_name="Sam", roles=["QA lead"])
    context, tab = open_tab(browser, "desktop", {"width": 1280, "height": 900})

    # They ask for the dashboard, sign in, and are asked to set up an app first.
    tab.goto(live_server.url + "/dashboard/")
    tab.get_by_label("Username").fill("qalead1")
    tab.get_by_label("Password", exact=True).fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text("Set up your authenticator app")
    expect(tab.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    check(tab, "two-factor-set-up")

    # Their app scans the QR code and shows a code, which they type.
    device = TOTPDevice.objects.get(user__username="qalead1", confirmed=False)
    tab.get_by_label("6-digit code from your authenticator app").fill(app_code(device))
    tab.get_by_role("button", name="Continue").click()

    expect(tab.get_by_role("heading", level=1)).to_have_text("Save your recovery codes")
    codes = tab.get_by_role("list", name="Your recovery codes").locator("code").all_inner_texts()
    assert len(codes) == 10
    check(tab, "two-factor-recovery-codes")
    tab.get_by_role("button", name="I have saved my codes, continue").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text("Quality dashboard")

    # Next time, on Wagtail's sign-in page, their phone is at home: a recovery code instead.
    tab.get_by_role("button", name="Sign out").click()
    tab.goto(live_server.url + "/admin/login/")
    tab.get_by_label("Username").fill("qalead1")
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text(
        "Enter the code from your authenticator app"
    )
    check(tab, "two-factor-verify")
    tab.get_by_role("link", name="Use a recovery code instead").click()
    tab.get_by_label("Enter a recovery code").fill("wrong-one")
    tab.get_by_role("button", name="Continue").click()
    summary = tab.locator(".govuk-error-summary")
    expect(summary).to_contain_text(two_factor.RECOVERY_CODE_WRONG)
    expect(summary).to_be_focused()
    check(tab, "two-factor-verify-error")
    # After a wrong code django-otp's back-off refuses any code for a second.
    tab.wait_for_timeout(1500)

    tab.get_by_label("Enter a recovery code").fill(codes[0])
    tab.get_by_role("button", name="Continue").click()
    expect(tab.locator(".govuk-notification-banner")).to_contain_text(two_factor.RECOVERY_CODE_USED)
    expect(tab.get_by_text("Unused recovery codes: 9")).to_be_visible()
    check(tab, "two-factor-recovery-code-used")
    tab.get_by_role("link", name="Continue").click()
    expect(tab).to_have_url(live_server.url + "/admin/")
    assert tab.script_errors == []
    context.close()
