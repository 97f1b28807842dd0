"""QA leads' training screens in the admin: the training dashboard (statuses, the flag on
lapsed auditors who hold plans, filters, CSV/XLSX export, reach by agency), inviting auditors
and the invitations sent, calibration references, and the training rules setting. Auditors
and other staff get none of it."""

import csv
import datetime
import io
import re
from urllib.parse import urlparse

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import escape

from portal.audits.cycles import assignment_create
from portal.audits.models import Assignment
from portal.training import services
from portal.training.admin_views import (
    INVITATION_ALREADY_ACCEPTED,
    INVITATION_SENT,
)
from portal.training.models import (
    Accreditation,
    CalibrationReference,
    Invitation,
    TrainingSettings,
)
from portal.training.services import EMAIL_HAS_ACCOUNT

from ..audits.factories import PlanFactory
from ..factories import UserFactory
from .factories import (
    CalibrationCasePageFactory,
    TrainingIndexPageFactory,
    TrainingModulePageFactory,
    audit_complete,
    case_with_reference,
)

pytestmark = pytest.mark.django_db

ALL_MET = {"A": ["A1", "A2"], "J": None}
NONE_MET = {"A": [], "J": None}
DASHBOARD_HEADINGS = [
    "Name",
    "Email",
    "Agency",
    "Required modules done",
    "Calibration attempts",
    "Best criterion agreement (%)",
    "Accreditation",
    "Accreditation expires",
    "Flag",
]


def today():
    return timezone.localdate()


def auditor_named(first, last, **kwargs):
    username = f"{first}.{last}".lower()
    return UserFactory(
        username=username, first_name=first, last_name=last, roles=["Auditor"], **kwargs
    )


def expire(user, days_ago=1):
    Accreditation.objects.filter(auditor=user).update(
        expires_on=today() - datetime.timedelta(days=days_ago)
    )


def row_with(html, text):
    """The first table row (<tr>…</tr>) of the page holding `text`."""
    for match in re.finditer(re.escape(text), html):
        start = html.rfind("<tr", 0, match.start())
        if start > html.rfind("</tr>", 0, match.start()):
            return html[start : html.index("</tr>", match.end())]
    raise AssertionError(f"No table row holds {text!r}")


def shown_messages(response):
    return [str(message) for message in response.context["messages"]]


def downloaded(response):
    return b"".join(response.streaming_content)


@pytest.fixture
def training_index(home_page):
    return TrainingIndexPageFactory(parent=home_page)


@pytest.fixture
def staff_without_training(db):
    """Someone who may use the admin but holds none of the training permissions."""
    user = UserFactory(username="officer")
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    return user


@pytest.fixture
def statuses(qa_lead, rubric_page):
    """One auditor in each accreditation state, and two holding a plan to audit."""
    people = {
        "accredited": auditor_named("Ada", "Able", agency="education"),
        "soon": auditor_named("Sol", "Soon", agency="health"),
        "expired": auditor_named("Eve", "Expired", agency="health"),
        "untrained": auditor_named("Uma", "Untrained", agency="social_care", accredited=False),
        "lapsed": auditor_named("Lou", "Lapsed", agency="health"),
    }
    Accreditation.objects.filter(auditor=people["soon"]).update(
        expires_on=today() + datetime.timedelta(days=10)
    )
    expire(people["expired"], days_ago=40)
    due = today() + datetime.timedelta(days=14)
    assignment_create(PlanFactory(), people["accredited"], due, qa_lead)
    assignment_create(PlanFactory(), people["lapsed"], due, qa_lead)
    assignment_create(PlanFactory(), people["lapsed"], due, qa_lead)
    expire(people["lapsed"])
    return people


# The training dashboard


def test_the_dashboard_shows_each_auditors_accreditation_and_flags_lapsed_ones_with_plans(
    client, qa_lead, statuses
):
    client.force_login(qa_lead)
    html = client.get(reverse("training_dashboard")).content.decode()

    accredited = row_with(html, statuses["accredited"].email)
    assert "Ada Able" in accredited
    assert "Education" in accredited
    assert "Accredited" in accredited
    assert "still to audit" not in accredited  # accredited: their plan is not a problem

    assert "Expires soon" in row_with(html, statuses["soon"].email)
    expired = row_with(html, statuses["expired"].email)
    assert "Expired" in expired
    expired_on = today() - datetime.timedelta(days=40)
    assert date_format(expired_on, "j F Y") in expired
    assert "still to audit" not in expired  # no plans held: nothing to flag
    assert "Not yet accredited" in row_with(html, statuses["untrained"].email)

    lapsed = row_with(html, statuses["lapsed"].email)
    assert "Expired" in lapsed
    assert "2 plans still to audit" in lapsed
    warning = "One auditor holds plans to audit without a current accreditation"
    assert warning in " ".join(html.split())
    assert qa_lead.email not in html  # QA leads are not auditors


def test_the_dashboard_shows_modules_attempts_and_best_agreement(
    client, qa_lead, rubric_page, training_index
):
    everyone = TrainingModulePageFactory(parent=training_index, audience="all")
    TrainingModulePageFactory(parent=training_index, audience="education")
    TrainingModulePageFactory(parent=training_index, audience="all", required=False)
    learner = auditor_named("Hal", "Health", agency="health", accredited=False)
    services.module_complete(everyone, learner)
    case_with_reference(training_index, qa_lead, ALL_MET)
    attempt = services.calibration_start(learner)
    audit_complete(attempt.assignment, learner, NONE_MET)
    attempt.refresh_from_db()
    assert attempt.passed is False

    client.force_login(qa_lead)
    row = row_with(client.get(reverse("training_dashboard")).content.decode(), learner.email)
    # The education module is not meant for them; the optional one never counts.
    assert "1 of 1" in row
    assert f"{int(attempt.criterion_agreement * 100)}%" in row
    assert "Not yet accredited" in row


def test_the_dashboard_filters_by_agency_and_status(client, qa_lead, statuses):
    client.force_login(qa_lead)
    html = client.get(reverse("training_dashboard"), {"agency": "health"}).content.decode()
    for key in ("soon", "expired", "lapsed"):
        assert statuses[key].email in html
    for key in ("accredited", "untrained"):
        assert statuses[key].email not in html

    html = client.get(reverse("training_dashboard"), {"status": "expired"}).content.decode()
    assert statuses["expired"].email in html
    assert statuses["lapsed"].email in html
    assert statuses["soon"].email not in html
    assert statuses["accredited"].email not in html


def test_the_dashboard_exports_as_csv_with_the_same_columns(client, qa_lead, statuses):
    client.force_login(qa_lead)
    response = client.get(reverse("training_dashboard"), {"export": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(downloaded(response).decode("utf-8"))))
    assert rows[0] == DASHBOARD_HEADINGS
    by_email = {row[1]: dict(zip(DASHBOARD_HEADINGS, row, strict=True)) for row in rows[1:]}
    assert set(by_email) == {user.email for user in statuses.values()}
    lapsed = by_email[statuses["lapsed"].email]
    assert lapsed["Name"] == "Lou Lapsed"
    assert lapsed["Agency"] == "Health"
    assert lapsed["Accreditation"] == "Expired"
    assert lapsed["Flag"] == "2 plans still to audit"
    assert by_email[statuses["soon"].email]["Accreditation"] == "Expires soon"
    assert by_email[statuses["untrained"].email]["Accreditation"] == "Not yet accredited"
    assert by_email[statuses["untrained"].email]["Accreditation expires"] == ""


def test_the_dashboard_exports_as_xlsx_with_the_same_columns(client, qa_lead, statuses):
    client.force_login(qa_lead)
    response = client.get(reverse("training_dashboard"), {"export": "xlsx", "agency": "health"})
    sheet = openpyxl.load_workbook(io.BytesIO(downloaded(response))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == DASHBOARD_HEADINGS
    by_email = {row[1]: dict(zip(DASHBOARD_HEADINGS, row, strict=True)) for row in rows[1:]}
    assert set(by_email) == {statuses[key].email for key in ("soon", "expired", "lapsed")}
    expired = by_email[statuses["expired"].email]
    assert expired["Accreditation"] == "Expired"
    assert expired["Accreditation expires"] == today() - datetime.timedelta(days=40)
    assert by_email[statuses["lapsed"].email]["Flag"] == "2 plans still to audit"


def test_reach_by_agency_counts_modules_calibration_and_accreditation(
    client, qa_lead, rubric_page, training_index
):
    everyone = TrainingModulePageFactory(parent=training_index, audience="all")
    health_only = TrainingModulePageFactory(parent=training_index, audience="health")
    TrainingModulePageFactory(parent=training_index, audience="all", required=False)
    case_with_reference(training_index, qa_lead, ALL_MET)

    h_done = auditor_named("Hana", "Done", agency="health")
    h_expired = auditor_named("Hugo", "Expired", agency="health")
    auditor_named("Hope", "New", agency="health", accredited=False)
    e_passed = auditor_named("Ed", "Passed", agency="education", accredited=False)
    e_failed = auditor_named("Eli", "Failed", agency="education", accredited=False)
    for module in (everyone, health_only):
        services.module_complete(module, h_done)
    services.module_complete(everyone, h_expired)  # but not the health module
    expire(h_expired)
    for learner, ticks in ((e_passed, ALL_MET), (e_failed, NONE_MET)):
        services.module_complete(everyone, learner)
        attempt = services.calibration_start(learner)
        audit_complete(attempt.assignment, learner, ticks)

    client.force_login(qa_lead)
    html = client.get(reverse("training_dashboard")).content.decode()
    assert "Training reach by agency on" in html

    def figures(agency):
        row = row_with(html, f'<th scope="row">{agency}</th>')
        return [int(cell) for cell in re.findall(r"<td>(\d+)</td>", row)]

    # auditors, completed required modules, passed calibration, accredited now, expired
    assert figures("Education") == [2, 2, 1, 1, 0]
    assert figures("Health") == [3, 1, 0, 1, 1]
    assert "Social care" not in html.split("Training reach by agency")[1].split("</table>")[0]


# Inviting auditors


def invitation_form(**changes):
    return {
        "first_name": "Sam",
        "last_name": "Jones",
        "email": "Sam.Jones@NHS.example",
        "agency": "health",
        **changes,
    }


def test_a_qa_lead_invites_an_auditor_who_gets_a_working_link(
    client, qa_lead, django_capture_on_commit_callbacks
):
    client.force_login(qa_lead)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("training_invite"), invitation_form(), follow=True)

    invitation = Invitation.objects.get()
    expires = date_format(timezone.localtime(invitation.expires_at), "j F Y, H:i")
    assert shown_messages(response) == [
        INVITATION_SENT.format(email="sam.jones@nhs.example", date=expires)
    ]
    assert response.redirect_chain[-1][0] == reverse("training_invitations:index")
    listing = row_with(response.content.decode(), "sam.jones@nhs.example")
    assert "Sam Jones" in listing
    assert "Pending" in listing
    assert escape(qa_lead.get_full_name()) in listing
    assert invitation.token_hash not in response.content.decode()

    user = get_user_model().objects.get(email="sam.jones@nhs.example")
    assert not user.is_active
    assert set(user.groups.values_list("name", flat=True)) == {"Auditor", "Agency: Health"}
    assert user.staff_profile.agency == "health"

    assert [message.to for message in mail.outbox] == [["sam.jones@nhs.example"]]
    link = re.search(r"https?://\S+", mail.outbox[0].body).group()
    token = urlparse(link).path.rstrip("/").rsplit("/", 1)[-1]
    assert services.invitation_for_token(token) == invitation
    client.logout()
    assert client.get(urlparse(link).path).status_code == 200


@pytest.mark.parametrize("email", ["qalead1@example.gov.uk", "AUDITOR1@example.gov.uk"])
def test_inviting_someone_with_an_account_is_refused_on_the_email_field(
    client, qa_lead, auditor, email
):
    client.force_login(qa_lead)
    response = client.post(reverse("training_invite"), invitation_form(email=email))
    assert response.status_code == 200
    assert response.context["form"].errors["email"] == [EMAIL_HAS_ACCOUNT]
    assert EMAIL_HAS_ACCOUNT in response.content.decode()
    assert not Invitation.objects.exists()


def test_send_again_replaces_the_link_and_accepted_invitations_cannot_be_resent(
    client, qa_lead, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = services.invitation_create(
            email="kim@example.gov.uk",
            first_name="Kim",
            last_name="Lee",
            agency="education",
            invited_by=qa_lead,
        )
    accepted = services.invitation_create(
        email="pat@example.gov.uk",
        first_name="Pat",
        last_name="Roe",
        agency="social_care",
        invited_by=qa_lead,
    )
    services.invitation_accept(accepted.link.rstrip("/").rsplit("/", 1)[-1], "a-long-pass-phrase")

    client.force_login(qa_lead)
    html = client.get(reverse("training_invitations:index")).content.decode()
    assert "Send again" in row_with(html, "kim@example.gov.uk")
    assert "Accepted" in row_with(html, "pat@example.gov.uk")
    assert "Send again" not in row_with(html, "pat@example.gov.uk")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("training_invitations:send_again", args=[first.pk]), follow=True
        )
    renewed = Invitation.objects.filter(email="kim@example.gov.uk").latest("pk")
    assert renewed.pk != first.pk
    assert [message.to for message in mail.outbox] == [["kim@example.gov.uk"]] * 2
    expires = date_format(timezone.localtime(renewed.expires_at), "j F Y, H:i")
    assert shown_messages(response) == [
        INVITATION_SENT.format(email="kim@example.gov.uk", date=expires)
    ]
    html = response.content.decode()
    assert "Replaced by a newer invitation" in html
    first.refresh_from_db()
    assert first.expires_at <= timezone.now()  # the old link no longer works

    response = client.post(
        reverse("training_invitations:send_again", args=[accepted.pk]), follow=True
    )
    assert shown_messages(response) == [
        INVITATION_ALREADY_ACCEPTED.format(email="pat@example.gov.uk")
    ]
    assert Invitation.objects.filter(email="pat@example.gov.uk").count() == 1


# Calibration references


def test_calibration_references_list_every_case_with_its_reference_and_pass_rate(
    client, qa_lead, second_qa_lead, rubric_page, training_index
):
    referenced = case_with_reference(training_index, second_qa_lead, ALL_MET, title="Sam, KS2")
    draft = CalibrationCasePageFactory(parent=training_index, title="Ria, post-16", live=False)
    for name, ticks in (("Pia", ALL_MET), ("Nia", NONE_MET)):
        learner = auditor_named(name, "Learner", agency="education", accredited=False)
        attempt = services.calibration_start(learner)
        audit_complete(attempt.assignment, learner, ticks)

    client.force_login(qa_lead)
    html = client.get(reverse("calibration_references")).content.decode()
    row = row_with(html, referenced.title)
    assert f"Recorded by {escape(second_qa_lead.get_full_name())}" in row
    assert "Outstanding" in row
    assert "50% (1 of 2 passed)" in row
    assert "Record again" in row
    row = row_with(html, draft.title)
    assert "(draft)" in row
    assert "No reference yet" in row
    assert "Record reference ticks" in row


def test_recording_a_reference_opens_the_audit_form_on_the_qa_leads_own_assignment(
    client, qa_lead, rubric_page, training_index
):
    case = CalibrationCasePageFactory(parent=training_index)
    client.force_login(qa_lead)
    response = client.post(reverse("calibration_reference_record", args=[case.pk]))

    reference = CalibrationReference.objects.get(case=case)
    assert reference.assignment.auditor == qa_lead
    assert response.url == reverse("audit_overview", args=[reference.assignment_id])
    assert client.get(response.url).status_code == 200

    # Until it is submitted, the same reference is carried on, not a second one started.
    html = client.get(reverse("calibration_references")).content.decode()
    assert "Carry on recording" in row_with(html, case.title)
    client.post(reverse("calibration_reference_record", args=[case.pk]))
    assert CalibrationReference.objects.filter(case=case).count() == 1


# Who may do what


def test_the_training_menu_and_rules_are_there_for_qa_leads_only(
    client, qa_lead, staff_without_training
):
    client.force_login(qa_lead)
    home = client.get(reverse("wagtailadmin_home")).content.decode()
    for url in (
        reverse("training_dashboard"),
        reverse("training_invitations:index"),
        reverse("training_invite"),
        reverse("calibration_references"),
    ):
        assert url in home
    assert "Training and accreditation rules" in home

    client.force_login(staff_without_training)
    home = client.get(reverse("wagtailadmin_home")).content.decode()
    assert reverse("training_dashboard") not in home
    assert reverse("calibration_references") not in home
    assert "Training and accreditation rules" not in home


def test_a_qa_lead_changes_the_pass_mark_in_settings(client, qa_lead):
    client.force_login(qa_lead)
    response = client.get(
        reverse("wagtailsettings:edit", args=["training", "trainingsettings"]), follow=True
    )
    assert response.status_code == 200
    response = client.post(
        response.redirect_chain[-1][0],
        {
            "calibration_min_agreement": "70",
            "calibration_overall_must_match": "on",
            "accreditation_months": "12",
            "reminder_days": "30",
            "invitation_days": "7",
        },
    )
    assert response.status_code == 302
    assert TrainingSettings.load().calibration_min_agreement == 70


def training_requests(case, invitation):
    return [
        ("get", reverse("training_dashboard")),
        ("get", reverse("training_dashboard_results")),
        ("get", reverse("training_dashboard") + "?export=csv"),
        ("get", reverse("training_invite")),
        ("post", reverse("training_invite")),
        ("get", reverse("training_invitations:index")),
        ("post", reverse("training_invitations:send_again", args=[invitation.pk])),
        ("get", reverse("calibration_references")),
        ("post", reverse("calibration_reference_record", args=[case.pk])),
    ]


@pytest.mark.parametrize("who", ["auditor", "staff_without_training"])
def test_nobody_else_reaches_any_training_screen(
    client, request, who, qa_lead, rubric_page, training_index
):
    user = request.getfixturevalue(who)
    case = CalibrationCasePageFactory(parent=training_index)
    invitation = services.invitation_create(
        email="kim@example.gov.uk",
        first_name="Kim",
        last_name="Lee",
        agency="education",
        invited_by=qa_lead,
    )
    client.force_login(user)
    for method, url in training_requests(case, invitation):
        response = client.post(url, invitation_form()) if method == "post" else client.get(url)
        assert response.status_code == 302, url
        if who == "staff_without_training":
            assert response.url == reverse("wagtailadmin_home"), url
        else:
            assert response.url.startswith(reverse("wagtailadmin_login")), url
    assert Invitation.objects.count() == 1
    assert not CalibrationReference.objects.exists()
    assert not Assignment.objects.exists()
