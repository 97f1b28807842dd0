"""Local Offer quality summaries: figures taken when the page is published and frozen with
that revision, shown after disclosure control, downloadable as CSV and JSON carrying exactly
what the page shows, listed newest first, served from the cache to anonymous readers, and
never carrying anything about one child."""

import csv
import datetime
import io
import json

import pytest
from django.core.cache import cache
from django.utils import timezone

from portal.audits.cycles import assignment_create
from portal.audits.models import Audit, AuditFact
from portal.local_offer.models import QualitySummaryPage, ReportSnapshot
from portal.local_offer.snapshots import report_snapshot_take
from portal.local_offer.tasks import report_snapshots_missing

from ..audits.factories import AuditCycleFactory, PlanFactory
from ..factories import UserFactory
from ..page_factories import LocalOfferIndexPageFactory
from ..training.factories import audit_complete

pytestmark = pytest.mark.django_db

OUTSTANDING = {"A": ["A1", "A2"], "J": None}
GOOD = {"A": ["A1"], "J": None}
REQUIRES_IMPROVEMENT = {"A": ["A2"], "J": ["J1"]}
NOTE = "Sam's mum says the school would not take him"


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()


@pytest.fixture
def local_offer(home_page):
    return LocalOfferIndexPageFactory(parent=home_page, slug="local-offer")


@pytest.fixture
def cycle(rubric_page):
    return AuditCycleFactory(rubric=rubric_page, moderation_share=0)


def audits(cycle, auditor, count, ticks, key_stage="KS2", on=None):
    """`count` submitted audits of new plans, noted with something no page may show."""
    made = []
    for _ in range(count):
        plan = PlanFactory(key_stage=key_stage)
        assignment = assignment_create(plan, auditor, datetime.date(2026, 12, 1), None, cycle)
        audit = audit_complete(assignment, auditor, ticks, submit=False)
        audit.section_notes = {"A": NOTE}
        audit.save(update_fields=["section_notes"])
        made.append(audit_complete(assignment, auditor, {}, submit=True))
    if on:
        moment = timezone.make_aware(datetime.datetime.combine(on, datetime.time(12)))
        Audit.objects.filter(pk__in=[a.pk for a in made]).update(submitted_at=moment)
        AuditFact.objects.filter(audit__in=made).update(submitted_on=on)
    return made


def summary(parent, title="Autumn 2026", start=None, end=None, **fields):
    page = QualitySummaryPage(
        title=title,
        slug=title.lower().replace(" ", "-"),
        period_start=start or datetime.date(2026, 9, 1),
        period_end=end or timezone.localdate(),
        show_key_stage=True,
        summary="How good were the plans we checked this autumn?",
        what_we_found="<p>Most plans were good.</p>",
        what_we_are_doing="<p>Training for writers of section F.</p>",
        what_the_grades_mean="<p>Good means the plan does what the law asks.</p>",
        feedback="<p>Email the SEND team.</p>",
        **fields,
    )
    parent.add_child(instance=page)
    return page


def publish(page, capture):
    with capture(execute=True):
        page.save_revision().publish()
    page.refresh_from_db()
    return page


def test_publishing_takes_the_figures_and_the_page_shows_them(
    client, local_offer, cycle, auditor, django_capture_on_commit_callbacks
):
    audits(cycle, auditor, 12, GOOD, key_stage="KS2")
    audits(cycle, auditor, 3, OUTSTANDING, key_stage="KS2")
    audits(cycle, auditor, 11, REQUIRES_IMPROVEMENT, key_stage="KS3")
    page = publish(summary(local_offer), django_capture_on_commit_callbacks)

    snapshot = ReportSnapshot.objects.get(revision=page.live_revision)
    grades = snapshot.data["tables"][0]
    assert snapshot.data["headline"]["audits"] == 26
    # Outstanding 3 is hidden; a second cell of the row hides with it.
    assert grades["cells"][0][0] == "c"
    assert grades["cells"][0].count("c") >= 2
    assert grades["total"] == 26

    response = client.get(page.url)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Plans audited" in body and ">26<" in body
    assert f"<strong>{snapshot.taken_at:%-d %B %Y}</strong> and will not change" in body
    assert "Grades by key stage" in body


def test_later_audits_never_change_a_published_page_but_a_new_revision_does(
    client, local_offer, cycle, auditor, django_capture_on_commit_callbacks
):
    audits(cycle, auditor, 12, GOOD)
    page = publish(summary(local_offer), django_capture_on_commit_callbacks)
    first = page.live_revision
    audits(cycle, auditor, 10, REQUIRES_IMPROVEMENT)
    assert ReportSnapshot.objects.get(revision=first).data["headline"]["audits"] == 12
    cache.clear()
    assert ">12<" in client.get(page.url).content.decode()

    page = publish(page, django_capture_on_commit_callbacks)
    assert page.live_revision != first
    assert ReportSnapshot.objects.get(revision=page.live_revision).data["headline"]["audits"] == 22
    assert ">22<" in client.get(page.url).content.decode()


def test_too_few_audits_publish_no_figures(
    client, local_offer, cycle, auditor, django_capture_on_commit_callbacks
):
    audits(cycle, auditor, 6, GOOD)
    page = publish(summary(local_offer), django_capture_on_commit_callbacks)
    body = client.get(page.url).content.decode()
    assert "Too few plans were audited" in body
    assert "Grades by key stage" not in body
    assert ReportSnapshot.objects.get().data["tables"] == []


def test_downloads_carry_exactly_what_the_page_shows(
    client, local_offer, cycle, auditor, django_capture_on_commit_callbacks
):
    audits(cycle, auditor, 14, GOOD)
    audits(cycle, auditor, 4, OUTSTANDING)
    page = publish(summary(local_offer), django_capture_on_commit_callbacks)
    shown = ReportSnapshot.objects.get().data["tables"][0]

    response = client.get(f"{page.url}data/grades/csv/")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "Plans audited",
        "Outstanding",
        "Good",
        "Requires Improvement",
        "Inadequate",
        "Total",
    ]
    assert rows[1] == [
        "All audits",
        *[str(cell) for cell in shown["cells"][0]],
        str(shown["row_totals"][0]),
    ]
    assert "c" in rows[1]

    data = json.loads(client.get(f"{page.url}data/grades/json/").content)
    assert data["cells"] == shown["cells"]
    assert data["taken_at"] == ReportSnapshot.objects.get().data["taken_at"]
    assert client.get(f"{page.url}data/nothing/csv/").status_code == 404
    assert client.get(f"{page.url}data/grades/xml/").status_code == 404


def test_nothing_about_one_child_reaches_the_page_or_its_downloads(
    client, local_offer, cycle, auditor, django_capture_on_commit_callbacks
):
    made = audits(cycle, auditor, 12, GOOD, key_stage="KS2")
    made += audits(cycle, auditor, 4, GOOD, key_stage="POST19")  # a group under 10
    page = publish(summary(local_offer), django_capture_on_commit_callbacks)
    texts = [client.get(page.url).content.decode()]
    for table in ReportSnapshot.objects.get().data["tables"]:
        for kind in ("csv", "json"):
            texts.append(client.get(f"{page.url}data/{table['name']}/{kind}/").content.decode())
    system_ids = [audit.assignment.plan.system_id for audit in made]
    for text in texts:
        assert NOTE not in text and "Sam" not in text
        assert not any(system_id in text for system_id in system_ids)
        assert "Post-19" not in text  # the small group is not published


def test_the_local_offer_lists_summaries_newest_first(
    client, local_offer, cycle, auditor, django_capture_on_commit_callbacks
):
    older = publish(
        summary(local_offer, "Spring 2026", datetime.date(2026, 3, 1), datetime.date(2026, 5, 31)),
        django_capture_on_commit_callbacks,
    )
    newer = publish(summary(local_offer), django_capture_on_commit_callbacks)
    body = client.get(local_offer.url).content.decode()
    assert body.index(newer.title) < body.index(older.title)


def test_the_trend_compares_with_earlier_summaries(
    client, local_offer, cycle, auditor, django_capture_on_commit_callbacks
):
    audits(cycle, auditor, 10, GOOD, on=datetime.date(2026, 4, 15))
    audits(cycle, auditor, 10, REQUIRES_IMPROVEMENT, on=datetime.date(2026, 4, 16))
    publish(
        summary(local_offer, "Spring 2026", datetime.date(2026, 3, 1), datetime.date(2026, 5, 31)),
        django_capture_on_commit_callbacks,
    )
    audits(cycle, auditor, 15, GOOD)
    autumn = publish(summary(local_offer), django_capture_on_commit_callbacks)
    trend = ReportSnapshot.objects.get(revision=autumn.live_revision).data["trend"]
    assert [(row["audits"], row["good_or_better"]) for row in trend] == [(20, 50)]
    body = client.get(autumn.url).content.decode()
    assert "Compared with earlier summaries" in body and "50%" in body


def test_anonymous_readers_get_the_cached_page_until_the_next_publication(
    client, local_offer, cycle, auditor, django_capture_on_commit_callbacks
):
    audits(cycle, auditor, 12, GOOD)
    page = publish(summary(local_offer), django_capture_on_commit_callbacks)
    assert ">12<" in client.get(page.url).content.decode()
    # Whatever happens to the stored figures, the cached page is what readers get...
    ReportSnapshot.objects.filter(revision=page.live_revision).update(
        data={**ReportSnapshot.objects.get().data, "headline": {"published": False}}
    )
    assert ">12<" in client.get(page.url).content.decode()
    # ... and signed-in staff see it uncached.
    client.force_login(UserFactory())
    assert "Too few plans" in client.get(page.url).content.decode()
    client.logout()
    # A new publication is a new page for the cache.
    publish(page, django_capture_on_commit_callbacks)
    assert ">12<" in client.get(page.url).content.decode()
    assert ReportSnapshot.objects.count() == 2


def test_a_cached_page_and_its_downloads_cost_readers_no_database_query(
    client,
    local_offer,
    cycle,
    auditor,
    django_capture_on_commit_callbacks,
    django_assert_num_queries,
):
    audits(cycle, auditor, 12, GOOD)
    page = publish(summary(local_offer), django_capture_on_commit_callbacks)
    csv_url = f"{page.url}data/grades/csv/"
    first_page, first_csv = client.get(page.url), client.get(csv_url)
    with django_assert_num_queries(0):
        again_page, again_csv = client.get(page.url), client.get(csv_url)
    assert again_page.content == first_page.content and ">12<" in again_page.content.decode()
    assert again_csv.content == first_csv.content
    # Headers added outside the cache (the Content-Security-Policy) are on cached copies too.
    assert again_page["Content-Security-Policy"] == first_page["Content-Security-Policy"]


def test_signed_in_readers_and_pages_without_figures_are_never_served_from_the_cache(
    client, local_offer, cycle, auditor, qa_lead, django_capture_on_commit_callbacks
):
    audits(cycle, auditor, 12, GOOD)
    page = summary(local_offer)
    page.save_revision().publish()  # its figures' task runs after commit: not yet
    page.refresh_from_db()
    assert "being prepared" in client.get(page.url).content.decode()
    report_snapshot_take(page.live_revision)
    # The page without figures was not kept: readers see the figures once they are taken.
    assert ">12<" in client.get(page.url).content.decode()
    # A signed-in reader is not given the anonymous copy (it has "Sign in", not "Sign out").
    client.force_login(qa_lead)
    body = client.get(page.url).content.decode()
    assert "Sign out" in body and ">12<" in body


def test_publishing_or_unpublishing_clears_the_cached_pages_and_listing(
    client, local_offer, cycle, auditor, django_capture_on_commit_callbacks
):
    audits(cycle, auditor, 12, GOOD)
    autumn = publish(summary(local_offer), django_capture_on_commit_callbacks)
    assert "Autumn 2026" in client.get(local_offer.url).content.decode()
    winter = publish(
        summary(local_offer, title="Winter 2026", start=datetime.date(2026, 9, 2)),
        django_capture_on_commit_callbacks,
    )
    assert "Winter 2026" in client.get(local_offer.url).content.decode()
    assert client.get(autumn.url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        autumn.unpublish()
    assert client.get(autumn.url).status_code == 404
    assert "Autumn 2026" not in client.get(local_offer.url).content.decode()
    assert client.get(winter.url).status_code == 200


def test_figures_the_broker_never_got_to_take_are_taken_by_the_next_sweep(
    client, local_offer, cycle, auditor
):
    """Published while the broker was down: the page has no figures until beat's sweep."""
    audits(cycle, auditor, 12, GOOD)
    page = summary(local_offer)
    page.save_revision().publish()  # its on-commit hand-over never runs here
    page.refresh_from_db()
    assert not ReportSnapshot.objects.exists()

    assert report_snapshots_missing() == 1
    assert ReportSnapshot.objects.get().revision == page.live_revision
    assert ">12<" in client.get(page.url).content.decode()
    assert report_snapshots_missing() == 0
