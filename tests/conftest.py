import copy

import pytest
from django.core.cache import cache
from wagtail.models import Page, Site

from portal.audits.recording import grader_of_revision, rubric_of_revision
from portal.framework.services import rubric_import
from portal.local_offer.public_cache import GENERATION_KEY

from .factories import HomePageFactory, RubricPageFactory, UserFactory

SMALL_RUBRIC = {
    "thresholds": {"outstanding": "0.85", "good": "0.65", "requires_improvement": "0.40"},
    "sections": [
        {
            "key": "A",
            "title": "Views, interests and aspirations",
            "weight": 2,
            "limiting": True,
            "may_be_not_applicable": False,
            "guidance": "<p>Look for the child's own voice.</p>",
            "exemplars": [],
            "criteria": [
                {
                    "key": "A1",
                    "text": "The child's views are in their own words.",
                    "weight": 3,
                    "essential": True,
                    "guidance": "Quotes, drawings, recordings.",
                },
                {
                    "key": "A2",
                    "text": "Parents' views are recorded.",
                    "weight": 1,
                    "essential": False,
                    "guidance": "",
                },
            ],
        },
        {
            "key": "J",
            "title": "Personal budget",
            "weight": 1,
            "limiting": False,
            "may_be_not_applicable": True,
            "guidance": "",
            "exemplars": [],
            "criteria": [
                {
                    "key": "J1",
                    "text": "The budget's use is set out.",
                    "weight": 1,
                    "essential": False,
                    "guidance": "",
                },
            ],
        },
    ],
}


@pytest.fixture(autouse=True)
def fresh_rubric_cache():
    """Pinned rubrics are cached by revision id for the life of the process; a test database
    rolled back or flushed hands the same ids out again, for other rubrics."""
    rubric_of_revision.cache_clear()
    grader_of_revision.cache_clear()


@pytest.fixture(autouse=True)
def fresh_public_page_cache():
    """Public pages are cached by path under a token that publishing replaces: a new token
    for every test, so no test reads a page cached by another (or by an earlier run, where
    the cache is Redis)."""
    cache.delete(GENERATION_KEY)


@pytest.fixture
def rubric_data():
    """A small valid rubric in the interchange format; a fresh copy for each test."""
    return copy.deepcopy(SMALL_RUBRIC)


@pytest.fixture
def home_page(db):
    """The site's home page, replacing Wagtail's welcome page as the default site root."""
    root = Page.get_first_root_node()
    home = HomePageFactory(parent=root, slug="home-test")
    site = Site.objects.get(is_default_site=True)
    site.root_page = home
    site.save()
    Page.objects.filter(depth=2).exclude(pk=home.pk).delete()
    return home


@pytest.fixture
def rubric_page(home_page, rubric_data):
    """A published rubric page holding SMALL_RUBRIC."""
    page = RubricPageFactory(parent=home_page, slug="rubric")
    revision, _ = rubric_import(page, rubric_data)
    revision.publish()
    page.refresh_from_db()
    return page


@pytest.fixture
def qa_lead(db):
    return UserFactory(username="qalead1", roles=["QA lead"])


@pytest.fixture
def second_qa_lead(db):
    return UserFactory(username="qalead2", roles=["QA lead"])


@pytest.fixture
def auditor(db):
    return UserFactory(username="auditor1", roles=["Auditor"])
