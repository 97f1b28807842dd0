from django.urls import include, path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.widgets import Button

from . import views
from .models import HomePage, RubricPage


@hooks.register("register_admin_urls")
def rubric_admin_urls():
    urls = [
        path("import/", views.import_new_view, name="rubric_import_new"),
        path("<int:page_id>/export/", views.export_view, name="rubric_export"),
        path("<int:page_id>/import/", views.import_view, name="rubric_import"),
    ]
    return [path("rubric/", include(urls))]


def _rubric_buttons(page, user):
    if not isinstance(page.specific_deferred, RubricPage):
        return
    if not page.permissions_for_user(user).can_edit():
        return
    yield Button(
        "Export rubric as JSON",
        reverse("rubric_export", args=[page.pk]),
        icon_name="download",
        priority=60,
    )
    yield Button(
        "Import rubric from JSON",
        reverse("rubric_import", args=[page.pk]),
        icon_name="upload",
        priority=61,
    )


@hooks.register("register_page_header_buttons")
def rubric_header_buttons(page, user, view_name, next_url=None):
    yield from _rubric_buttons(page, user)


@hooks.register("register_page_listing_more_buttons")
def rubric_listing_buttons(page, user, next_url=None):
    yield from _rubric_buttons(page, user)


class RubricImportMenuItem(MenuItem):
    def is_shown(self, request):
        home = HomePage.objects.first()
        return home is not None and home.permissions_for_user(request.user).can_add_subpage()


@hooks.register("register_admin_menu_item")
def rubric_import_menu_item():
    return RubricImportMenuItem(
        "Import a rubric", reverse("rubric_import_new"), icon_name="upload", order=900
    )
