"""Staff screens for the training app, in one "Training" admin menu for QA leads: the training
dashboard, invitations (invite an auditor, the invitations sent) and calibration references.
The training and accreditation rules are a setting, under Settings. Each screen and its menu
item need the permission named here; the views are in portal.training.admin_views."""

from django.contrib.auth.models import Permission
from django.urls import path, reverse
from django.utils.functional import cached_property
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.viewsets.base import ViewSet, ViewSetGroup

from . import admin_views


class PermissionMenuItem(MenuItem):
    """A menu item shown only to users with `permission`."""

    def __init__(self, *args, permission, **kwargs):
        super().__init__(*args, **kwargs)
        self.permission = permission

    def is_shown(self, request):
        return request.user.has_perm(self.permission)


class PermissionMenuMixin:
    """A viewset whose menu item is shown only to users with its `permission`."""

    permission = None

    def get_menu_item(self, order=None):
        return PermissionMenuItem(
            label=self.menu_label,
            url=self.menu_url,
            name=self.name,
            icon_name=self.menu_icon,
            order=self.get_menu_item_order(order),
            permission=self.permission,
        )


class TrainingMenuEntry(PermissionMenuMixin, ViewSet):
    """A training screen's place in the Training menu. Its URL has a plain name (registered
    by register_admin_urls below) so that emails and other apps can link to it."""

    url_name = None

    @cached_property
    def menu_url(self):
        return reverse(self.url_name)


class InvitationViewSet(PermissionMenuMixin, ViewSet):
    """The invitations sent, read only, with "Send again"."""

    name = "training_invitations"
    url_prefix = "training/invitations"
    icon = "mail"
    menu_label = "Invitations"
    permission = admin_views.VIEW_INVITATIONS

    def get_urlpatterns(self):
        view_kwargs = {
            "index_url_name": self.get_url_name("index"),
            "index_results_url_name": self.get_url_name("index_results"),
        }
        index = admin_views.InvitationIndexView
        return [
            path("", index.as_view(**view_kwargs), name="index"),
            path("results/", index.as_view(results_only=True, **view_kwargs), name="index_results"),
            path(
                "<int:pk>/send-again/",
                admin_views.InvitationSendAgainView.as_view(),
                name="send_again",
            ),
        ]


class TrainingViewSetGroup(ViewSetGroup):
    menu_label = "Training"
    menu_icon = "group"
    menu_order = 260
    items = (
        TrainingMenuEntry(
            "training_dashboard_menu",
            menu_label="Dashboard",
            icon="group",
            url_name="training_dashboard",
            permission=admin_views.VIEW_DASHBOARD,
        ),
        InvitationViewSet(),
        TrainingMenuEntry(
            "training_invite_menu",
            menu_label="Invite an auditor",
            icon="mail",
            url_name="training_invite",
            permission=admin_views.INVITE,
        ),
        TrainingMenuEntry(
            "calibration_references_menu",
            menu_label="Calibration references",
            icon="tick-inverse",
            url_name="calibration_references",
            permission=admin_views.VIEW_REFERENCES,
        ),
    )


@hooks.register("register_admin_viewset")
def register_training_viewsets():
    return TrainingViewSetGroup()


@hooks.register("register_admin_urls")
def register_training_admin_urls():
    dashboard = admin_views.TrainingDashboardView
    return [
        path("training/", dashboard.as_view(), name="training_dashboard"),
        path(
            "training/results/",
            dashboard.as_view(results_only=True),
            name="training_dashboard_results",
        ),
        path("training/invite/", admin_views.InviteView.as_view(), name="training_invite"),
        path(
            "training/calibration-references/",
            admin_views.CalibrationReferencesView.as_view(),
            name="calibration_references",
        ),
        path(
            "training/calibration-references/<int:pk>/record/",
            admin_views.CalibrationReferenceRecordView.as_view(),
            name="calibration_reference_record",
        ),
    ]


@hooks.register("register_permissions")
def training_permissions():
    # So that administrators can grant them to groups in Settings › Groups.
    return Permission.objects.filter(
        content_type__app_label="training",
        codename__in=[
            "view_accreditation",
            "add_invitation",
            "view_invitation",
            "view_calibrationreference",
            "add_calibrationreference",
        ],
    )
