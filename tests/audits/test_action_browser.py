"""An action from raising to done in a real headless Chromium on a tablet: a QA lead raises
it from a moderation case, the owner finds it in My actions, opens it, is asked for a reason
when cancelling without one, marks it done with a note, and the history shows the update.
Every screen passes axe-core's WCAG 2.2 AA checks on the way."""

import datetime

import pytest
from playwright.sync_api import expect

from portal.audits.models import Action, AuditCycle, ModerationCase
from tests.browser import (
    BROWSER_TEST_MARKS,
    check,
    chromium,  # noqa: F401 - the `browser` fixture
    open_tab,
    require_chromium,  # noqa: F401 - an autouse fixture
)
from tests.factories import PASSWORD, UserFactory
from tests.training.factories import audit_complete

from .factories import AssignmentFactory, PlanFactory

TABLET = {"width": 768, "height": 1024}
FITS = "document.documentElement.scrollWidth <= window.innerWidth"

pytestmark = BROWSER_TEST_MARKS


@pytest.fixture
def case(rubric_page):
    """The moderation case a weakly graded audit put plan EHC-007001 in."""
    auditor = UserFactory(username="auditor1", roles=["Auditor"])
    cycle = AuditCycle.objects.create(
        name="Cycle 1: new plans",
        tier=AuditCycle.Tier.NEW_PLANS,
        starts_on=datetime.date(2026, 1, 1),
        ends_on=datetime.date(2026, 3, 31),
        rubric=rubric_page,
        sample_size=1,
    )
    assignment = AssignmentFactory(
        plan=PlanFactory(system_id="EHC-007001"), cycle=cycle, auditor=auditor
    )
    audit = audit_complete(assignment, auditor, {"A": [], "J": []})
    return ModerationCase.objects.get(audits=audit)


@pytest.fixture
def people(db):
    UserFactory(username="qalead1", first_name="Grace", last_name="Lee", roles=["QA lead"])
    UserFactory(
        username="owner1",
        first_name="Olu",
        last_name="Adeyemi",
        roles=["Action owner"],
        agency="health",
    )


def new_tab(browser):
    return open_tab(browser, "tablet", TABLET)


def sign_in(tab, live_server, username):
    tab.goto(live_server.url + "/accounts/login/")
    tab.get_by_label("Username").fill(username)
    tab.get_by_label("Password", exact=True).fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text("My audits")


def test_an_action_is_raised_from_moderation_and_its_owner_marks_it_done(
    live_server, browser, case, people
):
    due_on = datetime.date.today() + datetime.timedelta(days=30)

    # The QA lead raises the action from the moderation case.
    context, tab = new_tab(browser)
    sign_in(tab, live_server, "qalead1")
    tab.goto(f"{live_server.url}/actions/raise/?case={case.pk}")
    expect(tab.get_by_role("heading", level=1)).to_have_text("Raise an action")
    expect(tab.locator(".govuk-summary-list")).to_contain_text("Moderation of plan EHC-007001")
    check(tab, "action-raise")

    tab.get_by_role("button", name="Raise action").click()
    expect(tab.locator(".govuk-error-summary")).to_contain_text("Say what is to be done.")
    # The refused form comes back as 400, which Chromium reports on the console as an error.
    assert len(tab.script_errors) == 1 and "status of 400" in tab.script_errors[0]
    tab.script_errors.clear()
    check(tab, "action-raise-errors")

    tab.get_by_label("What is to be done").fill("Rewrite outcomes so each can be measured.")
    tab.get_by_label("Amend the plan before it is issued").check()
    tab.get_by_label("Health").check()
    tab.get_by_label("Owner").select_option(label="Olu Adeyemi (Health)")
    tab.get_by_label("Day").fill(str(due_on.day))
    tab.get_by_label("Month").fill(str(due_on.month))
    tab.get_by_label("Year").fill(str(due_on.year))
    tab.get_by_role("button", name="Raise action").click()

    action = Action.objects.get()
    expect(tab.get_by_role("heading", level=1)).to_have_text(f"Action {action.reference}")
    expect(tab.locator(".govuk-notification-banner")).to_contain_text(
        f"Action {action.reference} raised for Olu Adeyemi"
    )
    tab.goto(f"{live_server.url}/actions/all/")
    expect(tab.get_by_role("row", name=action.reference)).to_contain_text("Olu Adeyemi")
    assert tab.evaluate(FITS), "the list of every action is wider than a tablet's screen"
    check(tab, "actions-all")
    context.close()

    # The owner, in a browser of their own, finds it and marks it done.
    context, tab = new_tab(browser)
    sign_in(tab, live_server, "owner1")
    tab.get_by_role("link", name="My actions").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text("My actions")
    row = tab.get_by_role("row", name=action.reference)
    expect(row).to_contain_text("EHC-007001")
    expect(row).to_contain_text("Open")
    check(tab, "actions-mine")

    tab.get_by_role("link", name=action.reference).click()
    expect(tab.get_by_role("heading", level=1)).to_have_text(f"Action {action.reference}")
    check(tab, "action-detail")

    # Cancelling without a reason is refused, keeping the note typed.
    tab.get_by_label("Cancelled").check()
    tab.get_by_label("Note (optional)").fill("Outcomes rewritten with the family.")
    tab.get_by_role("button", name="Save update").click()
    expect(tab.locator(".govuk-error-summary")).to_contain_text("Say why the action is cancelled.")
    tab.get_by_role("link", name="Say why the action is cancelled.").click()
    expect(tab.get_by_label("If you cancel the action, why?")).to_be_focused()
    assert len(tab.script_errors) == 1 and "status of 400" in tab.script_errors[0]
    tab.script_errors.clear()
    check(tab, "action-update-errors")

    tab.get_by_label("Done").check()
    expect(tab.get_by_label("Note (optional)")).to_have_value("Outcomes rewritten with the family.")
    tab.get_by_role("button", name="Save update").click()

    expect(tab.locator(".govuk-notification-banner")).to_contain_text(
        f"Action {action.reference} updated: it is now done."
    )
    history = tab.get_by_role("table", name="History")
    expect(history.get_by_role("row").last).to_contain_text("Outcomes rewritten with the family.")
    expect(history.get_by_role("row").last).to_contain_text("Olu Adeyemi")
    expect(tab.get_by_role("button", name="Save update")).to_have_count(0)
    check(tab, "action-done")
    context.close()

    action.refresh_from_db()
    assert action.status == Action.Status.DONE
