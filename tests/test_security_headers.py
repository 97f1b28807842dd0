"""Security headers on every response: a Content-Security-Policy with no inline script or
style on public pages (and none written into their HTML), loosened for Wagtail's admin only
as far as it needs and never to another origin; Cross-Origin-Opener-Policy,
Permissions-Policy and the usual headers; a CSRF cookie scripts cannot read. That pages
really keep to the policy in a browser is in test_security_headers_browser.py."""

import datetime
import re

import pytest
from django.core.cache import cache

from portal.audits.cycles import assignment_create
from portal.local_offer.models import QualitySummaryPage
from portal.local_offer.snapshots import report_snapshot_take
from tests.factories import UserFactory
from tests.page_factories import public_site

from .audits.factories import AuditCycleFactory, PlanFactory
from .training.factories import audit_complete

PUBLIC_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
    "base-uri": ["'self'"],
    "object-src": ["'none'"],
}
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+=", re.IGNORECASE)


def policy(response):
    """The Content-Security-Policy header as {directive: [sources]}."""
    directives = (part.split() for part in response["Content-Security-Policy"].split(";"))
    return {name: sources for name, *sources in directives}


@pytest.fixture
def site_with_summary(home_page):
    return public_site_with_summary(home_page)


def public_site_with_summary(home_page):
    """The public site with a published quality summary on the Local Offer (charts and
    tables from its snapshot of 20 audits)."""
    cache.clear()
    site = public_site(home_page)
    auditor = UserFactory(roles=["Auditor"])
    cycle = AuditCycleFactory(rubric=site.rubric, moderation_share=0)
    outstanding = {"A": ["A1", "A2"], "E": ["E1"], "J": None}
    good = {"A": ["A1"], "E": ["E1"], "J": []}
    for number in range(20):
        plan = PlanFactory(key_stage="KS2" if number % 2 else "KS3")
        assignment = assignment_create(plan, auditor, datetime.date(2026, 12, 1), None, cycle)
        audit_complete(assignment, auditor, outstanding if number < 8 else good)
    summary = QualitySummaryPage(
        title="Plan quality this autumn",
        slug="autumn",
        period_start=datetime.date(2026, 1, 1),
        period_end=datetime.date(2026, 12, 31),
        summary="How good were the plans we checked this autumn?",
        what_we_found="<p>Most plans were good.</p>",
        what_we_are_doing="<p>Training for writers of section F.</p>",
        what_the_grades_mean="<p>Good means the plan does what the law asks.</p>",
        feedback="<p>Email the SEND team.</p>",
    )
    site.local_offer.add_child(instance=summary)
    revision = summary.save_revision()
    revision.publish()
    report_snapshot_take(revision)
    site.summary = summary
    return site


@pytest.mark.django_db
def test_a_public_page_allows_no_inline_script_or_style(client, home_page):
    response = client.get("/")

    assert response.status_code == 200
    assert policy(response) == PUBLIC_POLICY
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]


@pytest.mark.django_db
def test_public_pages_write_no_inline_script_style_or_event_handler(client, site_with_summary):
    site = site_with_summary
    pages = [
        site.home,
        site.framework,
        site.standards,
        site.outcomes,
        site.exemplars,
        site.outcomes_exemplar,
        site.rubric,
        site.local_offer,
        site.summary,
    ]
    # The summary's charts are SVG, sized by a class rather than a style attribute.
    assert 'class="portal-chart"' in client.get(site.summary.url).text
    for page in pages:
        html = client.get(page.url).text
        assert not INLINE_SCRIPT.findall(html), page.url
        assert not INLINE_STYLE.findall(html), page.url
        assert not EVENT_HANDLER.findall(html), page.url
    sign_in = client.get("/accounts/login/").text
    assert not INLINE_SCRIPT.findall(sign_in) + INLINE_STYLE.findall(sign_in)


@pytest.mark.django_db
def test_the_admin_is_loosened_only_for_inline_elements_and_its_own_frames(client, home_page):
    client.force_login(UserFactory(roles=["QA lead"]))

    response = client.get("/admin/pages/")

    assert response.status_code == 200
    admin = policy(response)
    assert admin["script-src"] == admin["style-src"] == ["'self'"]
    assert admin["script-src-elem"] == admin["style-src-elem"] == ["'self'", "'unsafe-inline'"]
    assert admin["frame-ancestors"] == ["'self'"]
    assert {name: admin[name] for name in PUBLIC_POLICY if name != "frame-ancestors"} == {
        name: sources for name, sources in PUBLIC_POLICY.items() if name != "frame-ancestors"
    }
    everything = " ".join(source for sources in admin.values() for source in sources)
    assert "http" not in everything and "*" not in everything


@pytest.mark.django_db
def test_scripts_cannot_read_the_csrf_cookie(client):
    response = client.get("/accounts/login/")

    assert response.cookies["csrftoken"]["httponly"]
