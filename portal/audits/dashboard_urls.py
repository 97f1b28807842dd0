"""The staff quality dashboard, under /dashboard/: the page, and each of its tables as a
download (/dashboard/export/sections.csv?<the page's filters>)."""

from django.urls import path

from . import dashboard_views as views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export/<slug:table>.<slug:file_format>", views.dashboard_export, name="dashboard_export"),
]
