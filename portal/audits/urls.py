"""The auditor's screens, under /audits/. Names are not namespaced, so anything can link to
"my_audits" (the page auditors land on after signing in)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.my_audits, name="my_audits"),
    path("<int:assignment_id>/", views.audit_overview, name="audit_overview"),
    path("<int:assignment_id>/section/<str:key>/", views.audit_section, name="audit_section"),
    path("<int:assignment_id>/findings/", views.audit_findings, name="audit_findings"),
    path("<int:assignment_id>/review/", views.audit_review, name="audit_review"),
    path(
        "<int:assignment_id>/grade-preview/",
        views.audit_grade_preview,
        name="audit_grade_preview",
    ),
]
