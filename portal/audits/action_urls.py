"""The action screens, under /actions/. Names are not namespaced, so emails and other
screens link to "my_actions", "action_detail" and "all_actions" directly."""

from django.urls import path

from . import action_views

urlpatterns = [
    path("", action_views.my_actions, name="my_actions"),
    path("all/", action_views.all_actions, name="all_actions"),
    path(
        "all/download.<str:file_format>",
        action_views.actions_export_view,
        name="actions_export",
    ),
    path("raise/", action_views.action_raise, name="action_raise"),
    path("<int:action_id>/", action_views.action_detail, name="action_detail"),
]
