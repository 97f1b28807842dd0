from django.conf import settings

from .selectors import accessibility_statement, site_navigation_pages


def site_navigation(request):
    """The public site's main navigation (the home page's live, public, in-menu children) and
    the area's name (WAGTAIL_SITE_NAME) for its header; not `site_name`, which Django's
    LoginView sets to the host name."""
    if request.path.startswith("/admin/"):
        return {}
    return {
        "site_navigation": site_navigation_pages(request),
        "accessibility_statement": accessibility_statement(),
        "area_name": settings.WAGTAIL_SITE_NAME,
    }
