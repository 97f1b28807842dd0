"""The public pages parents, carers and auditors read: each shows what it is for, carries the
site's navigation and skip link, and sets no cookie for an anonymous reader."""

from html import unescape

import pytest
from django.template.loader import render_to_string

from tests.page_factories import public_site

SKIP_LINK = '<a href="#main-content" class="govuk-skip-link"'


@pytest.fixture
def site(home_page):
    return public_site(home_page)


def get_public(client, page):
    """An anonymous GET of a page, checked for what every public page must have."""
    response = client.get(page.url)
    assert response.status_code == 200, page.url
    assert "Set-Cookie" not in response.headers, f"{page.url} set a cookie for a reader"
    assert not response.cookies, page.url
    # Entities decoded, so assertions read as the page does ("child's", not "child&#x27;s").
    html = unescape(response.content.decode())
    assert SKIP_LINK in html
    assert '<main class="govuk-main-wrapper" id="main-content">' in html
    assert '<html lang="en-GB"' in html
    return html


def test_home_page_links_to_every_part_of_the_framework(client, site):
    html = get_public(client, site.home)

    for page in (site.framework, site.standards, site.exemplars, site.rubric, site.local_offer):
        assert f'href="{page.url}"' in html, page.title
    assert "How education, health and social care check" in html
    assert "No child's plan or personal details are shown here." in html
    # The home page is the top: no breadcrumbs.
    assert 'aria-label="Breadcrumb"' not in html


def test_every_page_has_site_navigation_and_no_crown(client, site):
    for page in (site.home, site.framework, site.outcomes, site.rubric, site.local_offer):
        html = get_public(client, page)
        menu = html[html.index('<nav aria-label="Menu"') : html.index("</nav>")]
        in_menu = (site.framework, site.standards, site.exemplars, site.rubric, site.local_offer)
        positions = [menu.index(f'href="{item.url}"') for item in in_menu]
        assert positions == sorted(positions), "menu follows the page order under home"
        assert "govuk-header__logotype" not in html
        assert "govuk-footer__crown" not in html
        assert "Crown copyright" not in html
        assert "Open Government Licence" not in html
        assert 'href="/accounts/login/"' in html


def test_framework_page_shows_numbered_tiers_principles_and_who_does_what(client, site):
    html = get_public(client, site.framework)

    assert "Tier 1</span>" in html
    assert "Compliance checks" in html
    assert "Tier 2</span>" in html
    assert "Multi-agency qualitative audits" in html
    assert "Monthly" in html
    assert "Co-produced" in html
    assert '<th scope="col" class="govuk-table__header" role="columnheader">Role</th>' in html
    assert "Reviews weak and sampled audits and agrees grades." in html
    assert "What happens next" in html
    # The reader's place: the menu item for this page is marked current.
    assert f'href="{site.framework.url}" aria-current="page"' in html


def test_standards_index_lists_standards_in_number_order(client, site):
    html = get_public(client, site.standards)

    assert html.index("The child's voice is heard") < html.index("Outcomes are SMART")
    assert "Standard 1" in html
    assert "The plan is written with the child, in their own words." in html


def test_standard_page_links_to_the_rubric_sections_that_evidence_it(client, site):
    html = get_public(client, site.outcomes)

    assert "Evidenced in the audit rubric by" in html
    assert f'href="{site.rubric.url}#section-E">Section E: Outcomes</a>' in html
    assert "Why this matters" in html
    # Deeper than home: breadcrumbs back up, and the standards menu item is marked active.
    assert 'aria-label="Breadcrumb"' in html
    assert f'href="{site.standards.url}">Quality standards</a>' in html
    assert f'href="{site.standards.url}" aria-current="true"' in html


def test_standard_page_without_a_published_rubric_names_sections_without_links(client, site):
    site.rubric.unpublish()

    html = get_public(client, site.outcomes)

    assert "Section E: Outcomes" in html
    assert "#section-E" not in html


def test_exemplar_index_groups_exemplars_by_plan_section(client, site):
    html = get_public(client, site.exemplars)

    section_a = html.index('id="section-A"')
    section_e = html.index('id="section-E"')
    assert section_a < html.index("Views in the child's own words") < section_e
    assert section_e < html.index("SMART outcomes")


def test_exemplar_page_labels_each_excerpt_in_words(client, site):
    html = get_public(client, site.outcomes_exemplar)

    assert "Needs improvement" in html
    assert "What good looks like" in html
    # Each label comes before its own excerpt.
    weak = html.index('portal-excerpt__label">Needs improvement')
    good = html.index('portal-excerpt__label">What good looks like')
    assert weak < html.index("Sam will make progress with reading.") < good
    assert good < html.index("By the end of Year 8")
    assert "Not measurable and has no date." in html
    assert f'href="{site.rubric.url}#section-E"' in html


def test_rubric_page_explains_grades_and_lists_criteria(client, site):
    html = get_public(client, site.rubric)

    assert "<strong>Outstanding</strong>: 85% or more of the weighted criteria met" in html
    assert "<strong>Good</strong>: 65% or more" in html
    assert "<strong>Inadequate</strong>: less than 40%" in html
    assert "Requires Improvement" in html
    assert 'id="section-E"' in html
    assert "Outcomes are specific, measurable and time-bound." in html
    assert 'data-label="Essential"><strong>Yes</strong>' in html
    assert "Each outcome says by when and how progress is measured." in html
    assert "Yes: if this section is Inadequate" in html
    assert "Yes: auditors may mark this section not applicable" in html
    assert f'href="{site.rubric.url}rubric.json"' in html
    assert "Download this rubric as JSON" in html
    assert f'href="{site.views.url}">Views in the child\'s own words</a>' in html


def test_rubric_json_download_link_works(client, site):
    response = client.get(f"{site.rubric.url}rubric.json")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert [section["key"] for section in response.json()["sections"]] == ["A", "E", "J"]


def test_rubric_page_links_only_live_exemplars(client, site):
    site.views.unpublish()

    html = get_public(client, site.rubric)

    assert site.views.url not in html
    assert "Views in the child's own words" not in html


def test_rubric_page_states_a_fractional_threshold_exactly(client, site):
    site.rubric.threshold_outstanding = "0.8550"
    site.rubric.save_revision().publish()

    html = get_public(client, site.rubric)

    assert "<strong>Outstanding</strong>: 85.5% or more" in html


def test_local_offer_page_shows_introduction_and_body(client, site):
    html = get_public(client, site.local_offer)

    assert "What we found when we checked the quality of plans." in html
    assert "The first quality summary is published in spring." in html


def test_unpublished_page_is_not_found_for_the_public(client, site):
    url = site.outcomes.url
    site.outcomes.unpublish()

    response = client.get(url)

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert "Set-Cookie" not in response.headers


def test_unpublished_page_leaves_the_navigation(client, site):
    site.exemplars.unpublish()

    html = get_public(client, site.home)

    assert "What good looks like" not in html


def test_signed_in_staff_can_sign_out_from_a_public_page(client, site, qa_lead):
    client.force_login(qa_lead)

    html = client.get(site.framework.url).content.decode()

    assert 'action="/accounts/logout/"' in html
    assert "Sign out" in html
    assert 'href="/admin/">Staff area</a>' in html
    assert 'href="/accounts/login/"' not in html


def test_auditors_are_offered_their_audits_not_the_staff_area(client, site, auditor):
    client.force_login(auditor)

    html = client.get(site.framework.url).content.decode()

    assert 'href="/audits/">My audits</a>' in html
    assert "Staff area" not in html


def test_login_page_has_labelled_fields_and_autocomplete(client, db):
    response = client.get("/accounts/login/")

    html = response.content.decode()
    assert response.status_code == 200
    assert '<label class="govuk-label" for="id_username">Username</label>' in html
    assert 'autocomplete="username"' in html
    assert 'autocomplete="current-password"' in html
    assert 'href="/accounts/login/" aria-current="page"' in html
    assert "govuk-error-summary" not in html


def test_login_with_wrong_password_shows_an_error_summary(client, qa_lead):
    response = client.post(
        "/accounts/login/", {"username": qa_lead.username, "password": "not-the-password"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>Error: Sign in" in html
    assert "There is a problem" in html
    assert '<a href="#id_username">Please enter a correct username and password.' in html
    assert 'aria-describedby="id_username-error"' in html


def test_unknown_address_gets_the_not_found_page(client, site):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_server_error_page_renders_without_a_request():
    # Django renders 500.html with no request and no context processors.
    html = render_to_string("500.html")

    assert "Sorry, there is a problem with the service" in html
    assert "EHCP Quality Assurance" in html
    assert SKIP_LINK in html
