"""The learner's screens, under /training/. Names are not namespaced, so anything can link to
"my_training" (the accreditation reminder email does)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.my_training, name="my_training"),
    path("modules/<int:page_id>/complete/", views.module_complete, name="module_complete"),
    path("modules/<int:page_id>/check/", views.knowledge_check, name="knowledge_check"),
    path(
        "modules/<int:page_id>/check/<int:attempt_id>/",
        views.knowledge_check_result,
        name="knowledge_check_result",
    ),
    path("calibration/start/", views.calibration_start, name="calibration_start"),
    path(
        "calibration/<int:assignment_id>/",
        views.calibration_result,
        name="calibration_result",
    ),
    path("invitation/<str:token>/", views.invitation_accept, name="invitation_accept"),
]
