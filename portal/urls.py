from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from portal import health
from portal.framework import two_factor
from portal.framework import views as framework_views

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="registration/login.html"),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/two-factor/set-up/", two_factor.enrol, name="two_factor_enrol"),
    path("accounts/two-factor/verify/", two_factor.verify, name="two_factor_verify"),
    path(
        "accounts/two-factor/recovery-codes/",
        two_factor.recovery_codes,
        name="two_factor_recovery_codes",
    ),
    path("audits/", include("portal.audits.urls")),
    path("moderation/", include("portal.audits.moderation_urls")),
    path("actions/", include("portal.audits.action_urls")),
    path("dashboard/", include("portal.audits.dashboard_urls")),
    path("training/", include("portal.training.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

urlpatterns += [
    re_path(
        r"^(?P<page_path>(?:[\w\-]+/)*)rubric\.json$",
        framework_views.public_rubric_json,
        name="public_rubric_json",
    ),
    path("", include(wagtail_urls)),
]
