"""Reads of framework content for templates and views."""

import json

from wagtail.models import Page, Site


def site_navigation_pages(request):
    """Live, public pages shown in menus directly under the site's home page."""
    site = Site.find_for_request(request)
    if site is None:
        return Page.objects.none()
    return site.root_page.get_children().live().public().in_menu().specific()


def accessibility_statement():
    """The live, public accessibility statement every page's footer links to, or None."""
    from .models import AccessibilityStatementPage

    return AccessibilityStatementPage.objects.live().public().first()


def published_rubric(page_id):
    """The live, public rubric page with this id, or None."""
    from .models import RubricPage

    return RubricPage.objects.live().public().filter(pk=page_id).first()


def _criteria_in_stream(raw):
    """{key: text} of the criteria in a rubric's stored sections (raw StreamField JSON)."""
    sections = json.loads(raw) if isinstance(raw, str) else raw or []
    texts = {}
    for section in sections:
        for item in section.get("value", {}).get("criteria", []):
            criterion = item.get("value", item) if "type" in item else item
            if criterion.get("key"):
                texts[criterion["key"]] = criterion.get("text", "")
    return texts


def rubric_criterion_history(rubric):
    """The criteria ({key: text}) of every saved revision of a rubric page, oldest first."""
    if rubric.pk is None:
        return []
    contents = rubric.revisions.order_by("created_at", "pk").values_list("content", flat=True)
    return [_criteria_in_stream(content.get("sections")) for content in contents]
