from .selectors import site_navigation_pages


def site_navigation(request):
    """The public site's main navigation: the home page's live, public, in-menu children."""
    if request.path.startswith("/admin/"):
        return {}
    return {"site_navigation": site_navigation_pages(request)}
