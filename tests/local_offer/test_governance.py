"""Governance reports for the Partnership Board: only QA leads, board members and
administrators can read them (with or without the section's view restriction), their figures
are frozen when published, the PDF and CSV carry the same aggregates and nothing about one
child or one auditor, a draft is made for the QA leads every two months, and board members
are told of a published report by a link without figures."""

import csv
import datetime
import io
import os
import re

import pytest
from django.core import mail
from django.urls import reverse
from wagtail.models import PageViewRestriction

from portal.audits.models import ModerationCase
from portal.audits.moderation import moderation_case_record
from portal.local_offer.governance import (
    governance_index_restrict,
    governance_report_draft_create,
    moderation_by_agency,
    months_before,
)
from portal.local_offer.models import (
    GovernanceReportIndexPage,
    GovernanceReportPage,
    ReportSnapshot,
)
from portal.local_offer.tasks import governance_report_draft

from ..audits.factories import AuditCycleFactory
from ..factories import PASSWORD, UserFactory
from .test_summaries import GOOD, NOTE, OUTSTANDING, REQUIRES_IMPROVEMENT, audits

pytestmark = pytest.mark.django_db

COMMENTARY = "Section F is still the weakest part of plans."


@pytest.fixture
def index(home_page):
    page = GovernanceReportIndexPage(title="Governance reports", slug="governance")
    home_page.add_child(instance=page)
    page.save_revision().publish()
    governance_index_restrict(page)
    return page


@pytest.fixture
def cycle(rubric_page):
    return AuditCycleFactory(rubric=rubric_page, moderation_share=0)


@pytest.fixture
def board_member(db):
    return UserFactory(username="board1", roles=["Partnership Board"])


def report(parent, title="Autumn 2026 governance", start=None, end=None):
    page = GovernanceReportPage(
        title=title,
        slug=title.lower().replace(" ", "-"),
        period_start=start or datetime.date(2026, 9, 1),
        period_end=end or datetime.date(2026, 11, 30),
        introduction="<p>For the board meeting in December.</p>",
        commentary=f"<p>{COMMENTARY}</p>",
    )
    parent.add_child(instance=page)
    return page


def publish(page, capture):
    with capture(execute=True):
        page.save_revision().publish()
    page.refresh_from_db()
    return page


def signed_in(client, user):
    client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def published(index, cycle, auditor, django_capture_on_commit_callbacks):
    made = audits(cycle, auditor, 12, GOOD, key_stage="KS2")
    made += audits(cycle, auditor, 3, OUTSTANDING, key_stage="KS2")
    made += audits(cycle, auditor, 8, REQUIRES_IMPROVEMENT, key_stage="KS3")
    page = publish(report(index), django_capture_on_commit_callbacks)
    page.audits_made = made
    return page


# Who may read ----------------------------------------------------------------------------


@pytest.mark.parametrize("restricted", [True, False], ids=["with-privacy", "serve-only"])
def test_anonymous_visitors_are_sent_to_sign_in(client, published, restricted):
    if not restricted:
        PageViewRestriction.objects.all().delete()
    for url in (published.url, f"{published.url}pdf/", f"{published.url}csv/"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]
        assert "next=" in response["Location"]


@pytest.mark.parametrize("restricted", [True, False], ids=["with-privacy", "serve-only"])
@pytest.mark.parametrize("role", ["Auditor", "Action owner", "Moderator"])
def test_other_staff_are_refused(client, published, restricted, role):
    if not restricted:
        PageViewRestriction.objects.all().delete()
    signed_in(client, UserFactory(roles=[role]))
    for url in (published.url, f"{published.url}pdf/", f"{published.url}csv/"):
        response = client.get(url)
        body = response.content.decode(errors="replace")
        assert COMMENTARY not in body and "Plans audited" not in body
        if restricted:
            # Wagtail's privacy answers first: back to sign in as someone allowed.
            assert response.status_code in (302, 403)
        else:
            assert response.status_code == 403


def test_the_section_index_is_refused_to_other_staff_too(client, published, auditor):
    PageViewRestriction.objects.all().delete()
    signed_in(client, auditor)
    response = client.get(published.get_parent().url)
    assert response.status_code == 403
    assert published.title not in response.content.decode()


@pytest.mark.parametrize("restricted", [True, False], ids=["with-privacy", "serve-only"])
def test_board_members_qa_leads_and_administrators_read_it_uncached(
    client, published, board_member, qa_lead, restricted
):
    if not restricted:
        PageViewRestriction.objects.all().delete()
    admin = UserFactory(is_superuser=True)
    for user in (board_member, qa_lead, admin):
        signed_in(client, user)
        response = client.get(published.url)
        assert response.status_code == 200
        body = response.content.decode()
        assert COMMENTARY in body
        assert "Plans audited" in body and ">23<" in body
        assert "no-cache" in response["Cache-Control"] and "private" in response["Cache-Control"]
        listing = client.get(published.get_parent().url).content.decode()
        assert published.title in listing
        client.logout()


def test_creating_the_section_in_the_admin_restricts_it_to_leads_and_board(
    client, home_page, django_capture_on_commit_callbacks
):
    admin = UserFactory(is_superuser=True, is_staff=True)
    signed_in(client, admin)
    url = reverse(
        "wagtailadmin_pages:add",
        args=["local_offer", "governancereportindexpage", home_page.pk],
    )
    response = client.post(url, {"title": "Governance reports", "slug": "governance"})
    assert response.status_code == 302
    index = GovernanceReportIndexPage.objects.get()
    restriction = PageViewRestriction.objects.get(page=index)
    assert restriction.restriction_type == PageViewRestriction.GROUPS
    assert {group.name for group in restriction.groups.all()} == {
        "QA lead",
        "Partnership Board",
    }


# Figures ---------------------------------------------------------------------------------


def test_figures_are_frozen_at_publication_with_fuller_breakdowns(
    client, published, cycle, auditor, board_member
):
    audits(cycle, auditor, 10, REQUIRES_IMPROVEMENT)
    snapshot = ReportSnapshot.objects.get(revision=published.live_revision)
    data = snapshot.data
    assert data["headline"]["audits"] == 23
    assert data["headline"]["good_or_better"] == 65  # 15 of 23
    names = [table["name"] for table in data["tables"]]
    assert names == ["grades", "key_stage", "sections"]
    # Outstanding 3 is more than the governance threshold (2): shown, not "c".
    assert data["tables"][0]["cells"][0][0] == 3
    measures = {measure["name"]: measure for measure in data["measures"]}
    assert set(measures) == {"moderation", "moderation_by_agency", "actions", "training"}
    assert measures["moderation"]["rows"][0][0] == cycle.name
    assert data["thresholds"] == {"primary_max": 2, "min_group": 5}

    body = signed_in(client, board_member).get(published.url).content.decode()
    assert ">23<" in body and ">33<" not in body
    assert "Moderation outcomes and agreement by cycle" in body
    assert "Auditor training and accreditation by agency" in body


def _moderate(audit, moderator, grade):
    case = ModerationCase.objects.get(audits=audit)
    return moderation_case_record(
        case,
        moderator,
        case.version,
        grade=grade,
        section_grades={},
        rationale="Agreed.",
        close=True,
    )


def test_moderation_by_agency_counts_only_the_closed_cases_of_the_reports_cycles(
    rubric_page, cycle, django_capture_on_commit_callbacks
):
    """Weak grades are always moderated: an education auditor's three, of which moderation
    kept one, raised one and left one open; a health auditor's two, one lowered and one
    raised; and a health audit raised in another cycle, which this report does not cover."""
    education = UserFactory(username="edu1", roles=["Auditor"], agency="education")
    health = UserFactory(username="health1", roles=["Auditor"], agency="health")
    moderator = UserFactory(username="mod1", roles=["Moderator"])
    other_cycle = AuditCycleFactory(rubric=rubric_page, moderation_share=0)
    kept, raised, still_open = audits(cycle, education, 3, REQUIRES_IMPROVEMENT)
    lowered, raised_too = audits(cycle, health, 2, REQUIRES_IMPROVEMENT)
    (elsewhere,) = audits(other_cycle, health, 1, REQUIRES_IMPROVEMENT)
    _moderate(kept, moderator, "requires_improvement")
    _moderate(raised, moderator, "good")
    _moderate(lowered, moderator, "inadequate")
    _moderate(raised_too, moderator, "outstanding")
    _moderate(elsewhere, moderator, "good")
    assert ModerationCase.objects.get(audits=still_open).status != ModerationCase.Status.CLOSED

    assert moderation_by_agency([cycle]) == {
        "Education": {"moderated": 2, "same": 1, "raised": 1, "lowered": 0},
        "Health": {"moderated": 2, "same": 0, "raised": 1, "lowered": 1},
    }
    assert moderation_by_agency([cycle, other_cycle])["Health"] == {
        "moderated": 3,
        "same": 0,
        "raised": 2,
        "lowered": 1,
    }


def test_a_later_report_shows_the_change_since_the_previous_one(
    client, published, index, cycle, auditor, board_member, django_capture_on_commit_callbacks
):
    later = audits(cycle, auditor, 6, GOOD, on=datetime.date(2026, 12, 5))
    assert later
    second = publish(
        report(
            index,
            "Winter 2026 governance",
            start=datetime.date(2026, 12, 1),
            end=datetime.date(2026, 12, 31),
        ),
        django_capture_on_commit_callbacks,
    )
    change = ReportSnapshot.objects.get(revision=second.live_revision).data["change"]
    assert change["previous_title"] == published.title
    assert (change["audits_then"], change["audits_now"]) == (23, 6)
    assert (change["good_or_better_then"], change["good_or_better_now"]) == (65, 100)
    body = signed_in(client, board_member).get(second.url).content.decode()
    assert f"Change since {published.title}" in body
    listing = client.get(index.url).content.decode()
    assert listing.index(second.title) < listing.index(published.title)


# Downloads -------------------------------------------------------------------------------


def _weasyprint_usable():
    try:
        import weasyprint  # noqa: F401
    except OSError:
        return False
    return True


def test_the_pdf_carries_the_headline_figures(client, published, board_member):
    if not _weasyprint_usable():
        if os.environ.get("CI"):
            pytest.fail("WeasyPrint's system libraries (Pango) are missing in CI.")
        pytest.skip("WeasyPrint's system libraries (Pango) are not installed here.")
    from pypdf import PdfReader

    response = signed_in(client, board_member).get(f"{published.url}pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    text = re.sub(r"\s+", " ", text)
    assert published.title in text
    assert "Plans audited 23" in text
    assert "65%" in text
    assert COMMENTARY in text


def test_the_csv_has_every_table_under_its_title(client, published, qa_lead):
    response = signed_in(client, qa_lead).get(f"{published.url}csv/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    titles = [row[0] for row in rows if len(row) == 1]
    for title in (
        "Grades of the plans audited",
        "Grades by key stage",
        "How each section of the plan was graded",
        "Moderation outcomes and agreement by cycle",
        "Auditor training and accreditation by agency",
    ):
        assert title in titles
    grades = rows[rows.index(["Grades of the plans audited"]) + 1 :][:3]
    assert grades[0][0] == "Plans audited" and grades[0][-1] == "Total"
    assert grades[1][0] == "All audits" and grades[1][-1] == "23"


def test_nothing_about_one_child_or_one_auditor_reaches_the_report(
    client, published, auditor, board_member
):
    signed_in(client, board_member)
    texts = [
        client.get(published.url).content.decode(),
        client.get(f"{published.url}csv/").content.decode(),
    ]
    if _weasyprint_usable():
        from pypdf import PdfReader

        pdf = client.get(f"{published.url}pdf/").content
        texts.append(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))
    system_ids = [audit.assignment.plan.system_id for audit in published.audits_made]
    for text in texts:
        assert NOTE not in text and not re.search(r"\bSam\b", text)
        assert not any(system_id in text for system_id in system_ids)
        assert auditor.get_full_name() not in text
        assert auditor.username not in text


# Drafts and emails -----------------------------------------------------------------------


def test_the_first_draft_covers_the_last_two_months_and_qa_leads_are_told(
    index, qa_lead, board_member, auditor, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        draft_id = governance_report_draft.delay().get()
    draft = GovernanceReportPage.objects.get(pk=draft_id)
    today = datetime.date.today()
    assert not draft.live
    assert draft.get_parent().specific == index
    assert draft.period_start == months_before(today, 2)
    assert draft.period_end == today - datetime.timedelta(days=1)
    [message] = mail.outbox
    assert message.to == [qa_lead.email]
    assert f"/admin/pages/{draft.pk}/edit/" in message.body
    assert message.body.startswith("A draft governance report")


def test_the_next_draft_starts_the_day_after_the_last_report(
    index, qa_lead, django_capture_on_commit_callbacks
):
    report(index, start=datetime.date(2026, 9, 1), end=datetime.date(2026, 11, 30))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert governance_report_draft_create(today=datetime.date(2027, 1, 29)) is None
    assert GovernanceReportPage.objects.count() == 1
    assert mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        draft = governance_report_draft_create(today=datetime.date(2027, 1, 30))
    assert (draft.period_start, draft.period_end) == (
        datetime.date(2026, 12, 1),
        datetime.date(2027, 1, 29),
    )
    assert draft.title == "Governance report: 1 December 2026 to 29 January 2027"
    assert [message.to for message in mail.outbox] == [[qa_lead.email]]
    # The next day finds the new draft's period too recent: no second draft.
    assert governance_report_draft_create(today=datetime.date(2027, 1, 31)) is None


def test_publishing_emails_board_members_a_link_without_figures(
    index, cycle, auditor, board_member, qa_lead, django_capture_on_commit_callbacks
):
    UserFactory(roles=["Partnership Board"], is_active=False)
    audits(cycle, auditor, 12, GOOD)
    mail.outbox.clear()
    page = publish(report(index), django_capture_on_commit_callbacks)
    [message] = mail.outbox
    assert message.to == [board_member.email]
    assert page.title in message.subject
    assert page.url in message.body
    assert "12" not in message.body.replace(page.url, "")
    assert "%" not in message.body and COMMENTARY not in message.body


def test_months_before_keeps_to_the_end_of_shorter_months():
    assert months_before(datetime.date(2027, 4, 30), 2) == datetime.date(2027, 2, 28)
    assert months_before(datetime.date(2027, 1, 15), 2) == datetime.date(2026, 11, 15)


def test_the_demo_report_is_published_with_figures_in_a_private_section(client, home_page, auditor):
    from portal.local_offer.demo import load_demo_governance

    admin = UserFactory(is_superuser=True)
    assert load_demo_governance(home_page, admin).startswith("Demo governance report")
    report = GovernanceReportPage.objects.get()
    assert report.live and report.snapshot() is not None
    restriction = PageViewRestriction.objects.get(page=report.get_parent())
    assert restriction.restriction_type == PageViewRestriction.GROUPS
    signed_in(client, auditor)
    response = client.get(report.url)
    assert response.status_code in (302, 403)
    assert "Section F is still the weakest" not in response.content.decode()
    assert load_demo_governance(home_page, admin) is None
