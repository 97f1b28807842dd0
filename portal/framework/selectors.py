"""Reads of framework content for templates and views."""

from wagtail.models import Page, Site


def site_navigation_pages(request):
    """Live, public pages shown in menus directly under the site's home page."""
    site = Site.find_for_request(request)
    if site is None:
        return Page.objects.none()
    return site.root_page.get_children().live().public().in_menu().specific()


def published_rubric(page_id):
    """The live, public rubric page with this id, or None."""
    from .models import RubricPage

    return RubricPage.objects.live().public().filter(pk=page_id).first()
