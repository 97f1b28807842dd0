"""A new auditor's way to their first plan, in a real headless Chromium: the invitation link,
setting a password, My training, a module's knowledge check, and a calibration case audited
with the real audit form and compared with the reference; then they can be given plans.
Every training and calibration screen passes axe-core's WCAG 2.2 AA checks on the way."""

import datetime
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from portal.audits.cycles import assignment_create
from portal.audits.models import Assignment
from portal.training.models import Accreditation
from portal.training.services import invitation_create
from tests.browser import (
    BROWSER_TEST_MARKS,
    check,
    chromium,  # noqa: F401 - the `browser` fixture
    open_tab,
    require_chromium,  # noqa: F401 - an autouse fixture
)
from tests.factories import UserFactory
from tests.page_factories import public_site

from ..audits.factories import PlanFactory
from .factories import (
    QUESTIONS,
    TrainingIndexPageFactory,
    TrainingModulePageFactory,
    case_with_reference,
)

pytestmark = BROWSER_TEST_MARKS

TABLET = {"width": 768, "height": 1024}
NEW_PASSWORD = "a-long-and-unusual-passphrase-2026"
GRADE = "#derived-grade"


@pytest.fixture
def training(home_page, django_capture_on_commit_callbacks):
    site = public_site(home_page)
    index = TrainingIndexPageFactory(parent=home_page)
    TrainingModulePageFactory(
        parent=index, title="Making judgements", questions=QUESTIONS, pass_mark=100
    )
    qa_lead = UserFactory(username="qalead1", roles=["QA lead"])
    # The reference: A fully met (outstanding), E met, J not applicable.
    case = case_with_reference(
        index,
        qa_lead,
        {"A": ["A1", "A2"], "E": ["E1"], "J": None},
        title="Calibration case: Year 3",
        plan_sections=[
            ("section", {"section": "A", "text": "<p>“I love trains,” says Sam.</p>"}),
            ("section", {"section": "E", "text": "<p>By July Sam reads 40 words.</p>"}),
        ],
    )
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invitation_create(
            email="new.auditor@example.gov.uk",
            first_name="Nadia",
            last_name="Khan",
            agency="health",
            invited_by=qa_lead,
        )
    return {"site": site, "qa_lead": qa_lead, "case": case, "invitation": invitation}


def invitation_path():
    """The path of the link in the invitation email."""
    [message] = mail.outbox
    link = next(line for line in message.body.splitlines() if "/training/invitation/" in line)
    return urlsplit(link.strip()).path


def test_an_invited_auditor_trains_passes_calibration_and_becomes_assignable(
    live_server, training, browser
):
    context, tab = open_tab(browser, "tablet", TABLET)

    # The invitation: a one-time link to set a password.
    tab.goto(live_server.url + invitation_path())
    expect(tab.get_by_role("heading", level=1)).to_have_text("Set your password")
    expect(tab.get_by_text("new.auditor@example.gov.uk").first).to_be_visible()
    check(tab, "training-invitation")
    tab.get_by_label("Create a password").fill(NEW_PASSWORD)
    tab.get_by_label("Confirm your password").fill(NEW_PASSWORD)
    tab.get_by_role("button", name="Set password and sign in").click()

    # Signed in, on My training: what remains before they can audit.
    expect(tab.get_by_role("heading", level=1)).to_have_text("My training")
    expect(tab.locator("main")).to_contain_text("Not yet accredited")
    expect(tab.locator("main")).to_contain_text("Making judgements")
    check(tab, "training-my-training")

    # A module with a knowledge check.
    tab.locator("main").get_by_role("link", name="Making judgements").first.click()
    expect(tab.get_by_role("heading", level=1)).to_have_text("Making judgements")
    check(tab, "training-module")
    tab.get_by_label("The portal, from the criteria ticked").check()
    tab.get_by_label("What the section does well and misses").check()
    tab.get_by_role("button", name="Submit your answers").click()
    expect(tab.locator("main")).to_contain_text("100%")
    check(tab, "training-knowledge-check-result")

    # Calibration, with the same audit form as a real plan, the case's text beside it.
    tab.goto(live_server.url + "/training/")
    tab.get_by_role("button", name="Start a calibration case").click()
    expect(tab.get_by_role("heading", level=1)).to_contain_text("Calibration case: Year 3")
    check(tab, "calibration-overview")
    tab.get_by_role("button", name="Start the audit").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text(
        "Section A: Views, interests and aspirations"
    )
    expect(tab.locator(".portal-case-text")).to_contain_text("I love trains")
    check(tab, "calibration-section")
    tab.get_by_label("The child's views are in their own words.").check()
    tab.get_by_label("Parents' views are recorded.").check()
    expect(tab.locator(GRADE)).to_contain_text("Outstanding")
    tab.get_by_role("button", name="Save and continue").click()
    tab.get_by_label("Outcomes are specific, measurable and time-bound.").check()
    tab.get_by_role("button", name="Save and continue").click()
    tab.get_by_label("Section J does not apply to this plan").check()
    tab.get_by_role("button", name="Save and continue").click()
    tab.get_by_role("button", name="Save and continue").click()  # findings: none needed
    check(tab, "calibration-review")
    tab.get_by_role("button", name="Submit audit").click()

    # Compared with the reference: passed, and accredited.
    expect(tab.get_by_role("heading", level=1)).to_have_text("Calibration passed")
    expect(tab.locator("main")).to_contain_text("You are accredited until")
    check(tab, "calibration-passed")
    context.close()

    auditor = training["invitation"].user
    auditor.refresh_from_db()
    assert auditor.is_active
    accreditation = Accreditation.objects.get(auditor=auditor)
    assert accreditation.expires_on > timezone.localdate()
    # ... and now a QA lead can give them a plan.
    assignment = assignment_create(
        PlanFactory(), auditor, datetime.date.today(), training["qa_lead"]
    )
    assert Assignment.objects.filter(pk=assignment.pk, auditor=auditor).exists()


def test_a_failed_calibration_shows_each_disputed_criterion_with_its_guidance(
    live_server, training, browser
):
    learner = UserFactory(username="learner1", roles=["Auditor"], accredited=False)
    context, tab = open_tab(browser, "tablet", TABLET)
    tab.goto(live_server.url + "/accounts/login/")
    tab.get_by_label("Username").fill("learner1")
    tab.get_by_label("Password", exact=True).fill("correct-horse-battery-staple")
    tab.get_by_role("button", name="Sign in").click()

    # The module first, marked complete by passing its check in the service.
    tab.goto(live_server.url + "/training/")
    module_link = tab.locator("main").get_by_role("link", name="Making judgements").first
    module_link.click()
    tab.get_by_label("The portal, from the criteria ticked").check()
    tab.get_by_label("What the section does well and misses").check()
    tab.get_by_role("button", name="Submit your answers").click()

    tab.goto(live_server.url + "/training/")
    tab.get_by_role("button", name="Start a calibration case").click()
    tab.get_by_role("button", name="Start the audit").click()
    tab.get_by_label("The child's views are in their own words.").check()
    tab.get_by_role("button", name="Save and continue").click()
    tab.get_by_role("button", name="Save and continue").click()  # E: nothing met
    tab.get_by_label("Section J does not apply to this plan").check()
    tab.get_by_role("button", name="Save and continue").click()
    tab.get_by_role("button", name="Save and continue").click()
    tab.get_by_role("button", name="Submit audit").click()

    expect(tab.get_by_role("heading", level=1)).to_have_text("Calibration not passed")
    main = tab.locator("main")
    expect(main).to_contain_text("Parents' views are recorded.")
    expect(main).to_contain_text("Each outcome says by when and how progress is measured.")
    expect(tab.get_by_role("button", name="Try another case")).to_be_visible()
    check(tab, "calibration-not-passed")
    context.close()
    assert not Accreditation.objects.filter(auditor=learner).exists()
