"""The moderation screens, under /moderation/. Names are not namespaced, so the dashboard and
the action screens can link to "moderation_queue" and "moderation_case"."""

from django.urls import path

from . import moderation_views as views

urlpatterns = [
    path("", views.moderation_queue_view, name="moderation_queue"),
    path("<int:case_id>/", views.moderation_case, name="moderation_case"),
    path(
        "cycles/<int:cycle_id>/agreement/",
        views.cycle_agreement_view,
        name="cycle_agreement",
    ),
]
