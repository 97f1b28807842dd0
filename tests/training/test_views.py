"""The learner's screens: My training, modules completed and knowledge checks taken through
the training services, a calibration case audited with the real audit form and compared
with the reference, results only for their owner, and invitations that work once."""

import datetime
import re
from urllib.parse import urlparse

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import escape
from wagtail.rich_text import RichText

from portal.audits.models import Audit
from portal.training.marking import CHECK_NOT_ANSWERED
from portal.training.models import (
    Accreditation,
    CalibrationAttempt,
    Invitation,
    KnowledgeCheckAttempt,
    ModuleCompletion,
    TrainingModulePage,
)
from portal.training.services import (
    INVITATION_EXPIRED,
    INVITATION_UNKNOWN,
    INVITATION_USED,
    MODULE_HAS_CHECK,
    MODULE_NOT_FOR_YOU,
    MODULES_FIRST,
    NO_CASE_LEFT,
    calibration_start,
    invitation_create,
    knowledge_check_take,
    module_complete,
)
from portal.training.views import MODULE_COMPLETED, WELCOME

from ..factories import UserFactory
from .factories import (
    CalibrationCasePageFactory,
    TrainingIndexPageFactory,
    TrainingModulePageFactory,
    case_with_reference,
)

pytestmark = pytest.mark.django_db

# One correct option (radios), then two (checkboxes).
QUESTIONS = [
    (
        "question",
        {
            "question": "Whose words should section A give?",
            "options": [
                {"text": "The child's own words", "correct": True},
                {"text": "The caseworker's summary", "correct": False},
                {"text": "The school's report", "correct": False},
            ],
            "explanation": "Section A is the child's voice: quote them.",
        },
    ),
    (
        "question",
        {
            "question": "What makes provision in section F good?",
            "options": [
                {"text": "It is specific", "correct": True},
                {"text": "It is quantified", "correct": True},
                {"text": "It says 'access to' support", "correct": False},
            ],
            "explanation": "Provision must say who does what, how often and for how long.",
        },
    ),
]
# The QA lead's reference (SMALL_RUBRIC): A1 and A2 met, J not applicable.
REFERENCE = {"A": ["A1", "A2"], "J": None}


@pytest.fixture
def training_index(home_page):
    # Not at /training/, which is My training.
    return TrainingIndexPageFactory(parent=home_page, slug="auditor-training")


@pytest.fixture
def reading_module(training_index):
    return TrainingModulePageFactory(
        parent=training_index,
        title="How an audit works",
        body=[("paragraph", RichText("<p>Auditors tick criteria; the portal grades.</p>"))],
    )


@pytest.fixture
def check_module(training_index, reading_module):
    module = TrainingModulePageFactory(
        parent=training_index, title="What good looks like", questions=QUESTIONS, pass_mark=80
    )
    module.save_revision().publish()  # tries are recorded against the live revision
    return module


@pytest.fixture
def health_module(training_index, check_module):
    return TrainingModulePageFactory(
        parent=training_index,
        title="Health advice in plans",
        audience=TrainingModulePage.Audience.HEALTH,
    )


@pytest.fixture
def learner(db):
    return UserFactory(username="learner1", roles=["Auditor"], agency="education", accredited=False)


@pytest.fixture
def other_learner(db):
    return UserFactory(username="learner2", roles=["Auditor"], agency="education", accredited=False)


@pytest.fixture
def case(training_index, rubric_page, qa_lead):
    """A calibration case whose reference the QA lead recorded with the audit form."""
    return case_with_reference(training_index, qa_lead, REFERENCE, title="Sam, Year 4")


@pytest.fixture
def reference(case):
    return case.references.get()


def page_text(response):
    return response.content.decode()


def question_ids(module):
    return [block.id for block in module.questions]


def check_post(module, *choices):
    """The knowledge check as posted: option numbers per question, in order (None: left
    unanswered)."""
    return {
        question_id: chosen
        for question_id, chosen in zip(question_ids(module), choices, strict=True)
        if chosen is not None
    }


def finish_modules(learner, reading_module, check_module):
    module_complete(reading_module, learner)
    first, second = question_ids(check_module)
    knowledge_check_take(check_module, learner, {first: [0], second: [0, 1]})


def section_post(audit, **data):
    audit.refresh_from_db()
    return {"version": audit.version, "note": "", "then": "continue", **data}


def audit_the_case(client, assignment, *, a_met, j):
    """Audit the calibration case through the audit form, as the learner would, and submit."""
    client.get(reverse("audit_overview", args=[assignment.pk]))  # starts the audit
    audit = Audit.objects.get(assignment=assignment)
    client.post(reverse("audit_section", args=[assignment.pk, "A"]), section_post(audit, met=a_met))
    j_ticks = {"not_applicable": "on"} if j == "not applicable" else {"met": j}
    client.post(reverse("audit_section", args=[assignment.pk, "J"]), section_post(audit, **j_ticks))
    audit.refresh_from_db()
    return client.post(reverse("audit_review", args=[assignment.pk]), {"version": audit.version})


# My training


def test_my_training_shows_what_remains_before_the_learner_can_audit(
    client, learner, reading_module, check_module, health_module
):
    client.force_login(learner)
    response = client.get(reverse("my_training"))

    assert response.status_code == 200
    page = page_text(response)
    assert "Not yet accredited" in page
    still_to_do = page[
        page.index('id="still-to-do"') : page.index("</ol>", page.index("still-to-do"))
    ]
    assert "How an audit works" in still_to_do
    assert "What good looks like" in still_to_do
    assert "Pass a calibration case" in still_to_do
    # A module for auditors from health is not part of an education auditor's training.
    assert "Health advice in plans" not in page
    assert "Not started" in page
    assert "Start a calibration case" not in page
    assert MODULES_FIRST.format(modules="How an audit works, What good looks like") in page
    assert f'href="{reverse("my_training")}" aria-current="page">My training' in page


def test_my_training_shows_accreditation_and_its_expiry(client, learner, training_index):
    Accreditation.objects.create(auditor=learner, expires_on=datetime.date(2020, 3, 31))
    client.force_login(learner)
    assert "Your accreditation expired on 31 March 2020" in page_text(
        client.get(reverse("my_training"))
    )

    until = timezone.localdate() + datetime.timedelta(days=200)
    Accreditation.objects.create(auditor=learner, expires_on=until)
    page = page_text(client.get(reverse("my_training")))
    assert f"You are accredited until {date_format(until, 'j F Y')}" in page
    assert "Before you can audit" not in page


def test_signed_out_visitors_are_sent_to_sign_in_for_my_training(client):
    response = client.get(reverse("my_training"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login") + "?next=")


# Modules


def test_marking_a_module_complete(client, learner, reading_module, check_module):
    client.force_login(learner)
    page = page_text(client.get(reading_module.url))
    assert "Auditors tick criteria; the portal grades." in page
    assert "Mark this module as complete" in page

    response = client.post(reverse("module_complete", args=[reading_module.pk]), follow=True)

    assert response.redirect_chain == [(reading_module.url, 302)]
    page = page_text(response)
    assert MODULE_COMPLETED.format(title="How an audit works") in page
    today = date_format(timezone.localdate(), "j F Y")
    assert f"You completed this module on {today}" in page
    assert "Mark this module as complete" not in page
    assert ModuleCompletion.objects.filter(learner=learner, module=reading_module).exists()
    still_to_do = page_text(client.get(reverse("my_training")))
    assert "Complete the module <a" in still_to_do
    assert "How an audit works</a></li>" not in still_to_do


def test_a_module_with_a_knowledge_check_is_completed_only_by_passing_it(
    client, learner, check_module
):
    client.force_login(learner)
    response = client.post(reverse("module_complete", args=[check_module.pk]), follow=True)
    assert response.redirect_chain == [(check_module.url, 302)]
    assert MODULE_HAS_CHECK in page_text(response)
    assert not ModuleCompletion.objects.exists()


def test_signed_out_readers_see_a_sign_in_link_instead_of_the_forms(client, check_module):
    page = page_text(client.get(check_module.url))
    assert f'href="/accounts/login/?next={check_module.url}">Sign in</a>' in page
    assert "to take the knowledge check" in page
    assert "Submit your answers" not in page


def test_a_module_for_another_agency_is_refused(client, learner, health_module):
    client.force_login(learner)
    assert "it is not part of your training" in page_text(client.get(health_module.url))

    response = client.post(reverse("module_complete", args=[health_module.pk]))

    assert response.status_code == 403
    assert MODULE_NOT_FOR_YOU in page_text(response)
    assert not ModuleCompletion.objects.exists()


# Knowledge checks


def test_the_module_page_asks_the_questions_without_giving_the_answers(
    client, learner, check_module
):
    client.force_login(learner)
    page = page_text(client.get(check_module.url))

    first, second = question_ids(check_module)
    assert "Question 1: Whose words should section A give?" in page
    # One correct option: radios; several: checkboxes. Values are option numbers only.
    assert page.count(f'name="{first}" type="radio"') == 3
    assert page.count(f'name="{second}" type="checkbox"') == 3
    assert re.findall(rf'name="{first}" type="radio" value="(\w+)"', page) == ["0", "1", "2"]
    assert "quote them" not in page  # the explanation waits for the result
    assert "True" not in page and "correct&quot;" not in page


def test_passing_the_knowledge_check_completes_the_module(client, learner, check_module):
    client.force_login(learner)
    response = client.post(
        reverse("knowledge_check", args=[check_module.pk]),
        check_post(check_module, "0", ["0", "1"]),
        follow=True,
    )

    attempt = KnowledgeCheckAttempt.objects.get(learner=learner)
    assert response.redirect_chain == [
        (reverse("knowledge_check_result", args=[check_module.pk, attempt.pk]), 302)
    ]
    page = page_text(response)
    assert "Knowledge check passed" in page
    assert "You scored 100%" in page
    assert escape("Section A is the child's voice: quote them.") in page
    assert "Try again" not in page
    assert ModuleCompletion.objects.get(learner=learner, module=check_module).score == 100
    assert "Knowledge check score: 100%" in page_text(client.get(reverse("my_training")))


def test_failing_the_knowledge_check_marks_each_question_and_offers_another_try(
    client, learner, check_module
):
    client.force_login(learner)
    response = client.post(
        reverse("knowledge_check", args=[check_module.pk]),
        check_post(check_module, "0", ["0"]),  # the second needs both correct options
        follow=True,
    )

    page = page_text(response)
    assert "Knowledge check not passed" in page
    assert "You scored 50%. You need 80% to pass." in page
    assert page.count('govuk-tag--green">Right') == 1
    assert page.count('govuk-tag--red">Wrong') == 1
    assert "Provision must say who does what, how often and for how long." in page
    assert f'href="{check_module.url}#knowledge-check"' in page
    assert "Try again" in page
    assert not ModuleCompletion.objects.exists()
    assert "Your last try scored 50%" in page_text(client.get(check_module.url))


def test_an_unanswered_question_is_refused_and_nothing_is_recorded(client, learner, check_module):
    client.force_login(learner)
    response = client.post(
        reverse("knowledge_check", args=[check_module.pk]), check_post(check_module, "1", None)
    )

    assert response.status_code == 400
    page = page_text(response)
    assert "There is a problem" in page
    message = CHECK_NOT_ANSWERED.format(number=2)
    second = question_ids(check_module)[1]
    assert f'<a href="#q{second}">{message}</a>' in page
    assert "<title>Error: What good looks like" in page
    # What the learner chose is kept, and still nothing says which option is correct.
    first = question_ids(check_module)[0]
    assert f'name="{first}" type="radio" value="1" checked' in page
    assert "quote them" not in page
    assert not KnowledgeCheckAttempt.objects.exists()


def test_a_knowledge_check_result_is_only_for_the_learner_who_took_it(
    client, learner, other_learner, check_module
):
    first, second = question_ids(check_module)
    attempt = knowledge_check_take(check_module, learner, {first: [0], second: [2]})
    client.force_login(other_learner)
    response = client.get(reverse("knowledge_check_result", args=[check_module.pk, attempt.pk]))
    assert response.status_code == 404


# Calibration


def test_calibration_is_refused_until_the_required_modules_are_complete(
    client, learner, reading_module, check_module, reference
):
    client.force_login(learner)
    response = client.post(reverse("calibration_start"), follow=True)

    assert response.redirect_chain == [(reverse("my_training"), 302)]
    message = MODULES_FIRST.format(modules="How an audit works, What good looks like")
    assert page_text(response).count(message) == 2  # the banner, and the reason in place
    assert not CalibrationAttempt.objects.exists()

    finish_modules(learner, reading_module, check_module)
    assert "Start a calibration case" in page_text(client.get(reverse("my_training")))
    response = client.post(reverse("calibration_start"), follow=True)

    attempt = CalibrationAttempt.objects.get(learner=learner)
    assert response.redirect_chain == [
        (reverse("audit_overview", args=[attempt.assignment_id]), 302)
    ]
    page = page_text(response)
    assert "This is a calibration case" in page
    assert "Sam, Year 4" in page
    assert "Continue your calibration case" in page_text(client.get(reverse("my_training")))


def test_with_no_case_left_the_learner_is_told_so(
    client, learner, reading_module, check_module, training_index
):
    finish_modules(learner, reading_module, check_module)
    client.force_login(learner)
    assert NO_CASE_LEFT in page_text(client.get(reverse("my_training")))
    response = client.post(reverse("calibration_start"), follow=True)
    assert NO_CASE_LEFT in page_text(response)


def test_a_calibration_audited_differently_shows_where_the_learner_differed(
    client, learner, reading_module, check_module, reference
):
    finish_modules(learner, reading_module, check_module)
    assignment = calibration_start(learner).assignment
    client.force_login(learner)

    # The reference met A1 and A2 and left J not applicable; this learner met only A2 and J1.
    response = audit_the_case(client, assignment, a_met=["A2"], j=["J1"])

    assert response.status_code == 302
    assert response.url == reverse("calibration_result", args=[assignment.pk])
    page = page_text(client.get(response.url))
    assert "Calibration not passed" in page
    assert "at least 80% of the criteria had to be judged as the" in page
    assert "33.33% (1 of 3)" in page
    assert "0 of 2" in page
    assert "Yours: Requires Improvement<br>" in page
    assert "Reference: Outstanding<br>" in page
    assert escape("The child's views are in their own words. (essential)") in page
    assert "Quotes, drawings, recordings." in page  # the criterion's guidance
    judged = re.findall(r'judged</dt>\s*<dd class="govuk-summary-list__value">([^<]+)</dd>', page)
    assert judged == ["Met", "Not met", "Section not applicable", "Met"]
    assert "Try another case" in page
    assert not Accreditation.objects.filter(auditor=learner).exists()
    # The submitted audit's own page leads to the result, not the audit form.
    overview = client.get(reverse("audit_overview", args=[assignment.pk]))
    assert overview.url == reverse("calibration_result", args=[assignment.pk])

    my_training = page_text(client.get(reverse("my_training")))
    assert "33.33%" in my_training
    assert "Not passed" in my_training


def test_a_calibration_audited_as_the_reference_accredits_the_learner(
    client, learner, reading_module, check_module, reference
):
    finish_modules(learner, reading_module, check_module)
    client.force_login(learner)
    client.post(reverse("calibration_start"))
    assignment = CalibrationAttempt.objects.get(learner=learner).assignment

    response = audit_the_case(client, assignment, a_met=["A1", "A2"], j="not applicable")

    page = page_text(client.get(response.url))
    accreditation = Accreditation.objects.get(auditor=learner)
    assert "Calibration passed" in page
    assert f"You are accredited until {date_format(accreditation.expires_on, 'j F Y')}" in page
    assert "100% (2 of 2)" in page
    assert "You judged every criterion and graded every section as the reference did." in page
    assert "Try another case" not in page
    assert "You are accredited until" in page_text(client.get(reverse("my_training")))


def test_a_calibration_result_and_audit_are_only_for_the_learner(
    client, learner, other_learner, qa_lead, reading_module, check_module, reference
):
    finish_modules(learner, reading_module, check_module)
    assignment = calibration_start(learner).assignment
    client.force_login(learner)
    audit_the_case(client, assignment, a_met=["A1"], j="not applicable")

    for someone_else in (other_learner, qa_lead):
        client.force_login(someone_else)
        assert client.get(reverse("calibration_result", args=[assignment.pk])).status_code == 404
        assert client.get(reverse("audit_overview", args=[assignment.pk])).status_code == 404


def test_an_unsubmitted_calibration_has_no_result_yet(
    client, learner, reading_module, check_module, reference
):
    finish_modules(learner, reading_module, check_module)
    assignment = calibration_start(learner).assignment
    client.force_login(learner)
    response = client.get(reverse("calibration_result", args=[assignment.pk]))
    assert response.status_code == 302
    assert response.url == reverse("audit_overview", args=[assignment.pk])


def test_the_qa_lead_sees_the_reference_they_recorded(client, qa_lead, reference):
    client.force_login(qa_lead)
    response = client.get(reverse("calibration_result", args=[reference.assignment_id]))
    page = page_text(response)
    assert response.status_code == 200
    assert "Reference recorded" in page
    assert "Overall grade: Outstanding" in page
    assert "Section A: Views, interests and aspirations" in page


def test_the_calibration_case_page_previews_the_plan_in_section_order(client, training_index):
    case = CalibrationCasePageFactory(
        parent=training_index,
        plan_sections=[
            ("section", {"section": "J", "text": "<p>No personal budget.</p>"}),
            ("section", {"section": "A", "text": "<p>“I like trains.”</p>"}),
        ],
    )
    page = page_text(client.get(case.url))
    assert page.index("Section A") < page.index("Section J")
    assert "“I like trains.”" in page


# Invitations


@pytest.fixture
def invitation(qa_lead):
    return invitation_create(
        email="new.auditor@example.gov.uk",
        first_name="Robin",
        last_name="Shaw",
        agency="health",
        invited_by=qa_lead,
    )


def invitation_path(invitation):
    return urlparse(invitation.link).path


PASSWORDS = {
    "new_password1": "trains-and-timetables-42",
    "new_password2": "trains-and-timetables-42",
}


def test_accepting_an_invitation_signs_the_auditor_in_to_my_training(client, invitation):
    response = client.get(invitation_path(invitation))

    assert response.status_code == 200
    page = page_text(response)
    assert "Welcome, Robin Shaw" in page
    assert "new.auditor@example.gov.uk" in page
    assert "Your username is your email address" in page
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "no-store" in response.headers["Cache-Control"]

    response = client.post(invitation_path(invitation), PASSWORDS, follow=True)

    assert response.redirect_chain == [(reverse("my_training"), 302)]
    assert response.context["user"].username == "new.auditor@example.gov.uk"
    page = page_text(response)
    assert WELCOME.format(name="Robin Shaw") in page
    assert "My training" in page
    assert client.login(username="new.auditor@example.gov.uk", password=PASSWORDS["new_password1"])


def test_a_weak_or_mistyped_password_is_refused(client, invitation):
    response = client.post(
        invitation_path(invitation), {"new_password1": "short", "new_password2": "shorter"}
    )
    assert response.status_code == 400
    page = page_text(response)
    assert "There is a problem" in page
    assert "The passwords do not match" in page
    assert response.headers["Referrer-Policy"] == "same-origin"

    response = client.post(
        invitation_path(invitation), {"new_password1": "12345678", "new_password2": "12345678"}
    )
    assert response.status_code == 400
    assert "This password is too short" in page_text(response)
    assert not Invitation.objects.get(pk=invitation.pk).accepted_at


def test_an_invitation_link_works_once(client, invitation):
    client.post(invitation_path(invitation), PASSWORDS)
    client.logout()

    response = client.get(invitation_path(invitation))

    assert response.status_code == 410
    assert INVITATION_USED in page_text(response)
    response = client.post(invitation_path(invitation), PASSWORDS)
    assert response.status_code == 410
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_an_expired_or_unknown_invitation_link_is_refused(client, invitation):
    expired = datetime.datetime(2026, 1, 5, 12, tzinfo=datetime.UTC)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=expired)

    response = client.post(invitation_path(invitation), PASSWORDS)

    assert response.status_code == 410
    assert INVITATION_EXPIRED.format(date="5 January 2026") in page_text(response)
    assert not UserFactory._meta.model.objects.get(email=invitation.email).is_active

    response = client.get(reverse("invitation_accept", args=["not-a-real-token"]))
    assert response.status_code == 404
    assert INVITATION_UNKNOWN in page_text(response)
