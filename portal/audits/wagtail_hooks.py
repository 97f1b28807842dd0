"""Staff screens for the audits app, in one "Audits" admin menu: the plan register (list with
filters on every attribute, inspect, CSV/XLSX export) and its import (upload, check, confirm,
progress). The screens translate between HTTP and portal.audits.plan_register."""

from pathlib import PurePath

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.views.generic import FormView, TemplateView, View
from wagtail import hooks
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic import IndexView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.viewsets.base import ViewSet, ViewSetGroup
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets import HeaderButton
from wagtail.log_actions import LogFormatter

from . import plan_register, register
from .models import KeyStage, Plan, PlanImport, PlanStage, PrimaryNeed, SettingType
from .viewsets import AuditCycleViewSet, AuditViewSet, ConflictDeclarationViewSet

IMPORT_PERMISSION = "audits.add_planimport"
PLANS_IMPORTED_LOG = (
    "Imported the plan register file “{file_name}” ({source}): {new} new, {updated} updated, "
    "{unchanged} unchanged."
)
UPLOAD_TYPES = (".csv", ".xlsx")


def _localities():
    localities = Plan.objects.order_by("locality").values_list("locality", flat=True).distinct()
    return [(name, name) for name in localities]


class PlanFilterSet(WagtailFilterSet):
    key_stage = django_filters.MultipleChoiceFilter(
        choices=KeyStage.choices, widget=forms.CheckboxSelectMultiple
    )
    primary_need = django_filters.MultipleChoiceFilter(
        choices=PrimaryNeed.choices, widget=forms.CheckboxSelectMultiple
    )
    setting_type = django_filters.MultipleChoiceFilter(
        choices=SettingType.choices, widget=forms.CheckboxSelectMultiple
    )
    locality = django_filters.MultipleChoiceFilter(
        label="Locality or team", choices=_localities, widget=forms.CheckboxSelectMultiple
    )
    plan_stage = django_filters.ChoiceFilter(
        choices=PlanStage.choices, widget=forms.RadioSelect, empty_label="All"
    )
    date_issued = django_filters.DateFromToRangeFilter(
        label="Date issued", widget=DateRangePickerWidget
    )

    class Meta:
        model = Plan
        fields = [column for column in register.COLUMNS if column != "system_id"]


class PlanIndexView(IndexView):
    @cached_property
    def header_buttons(self):
        buttons = list(super().header_buttons)
        if self.request.user.has_perm(IMPORT_PERMISSION):
            buttons.append(
                HeaderButton("Import plans", url=reverse("plan_import:upload"), icon_name="upload")
            )
        return buttons


class PlanViewSet(ModelViewSet):
    """The register: QA leads list, filter, inspect and export plans; they change it only by
    importing a register file."""

    model = Plan
    icon = "doc-full"
    menu_label = "Plans"
    index_view_class = PlanIndexView
    list_display = list(register.COLUMNS)
    list_per_page = 50
    filterset_class = PlanFilterSet
    search_fields = ["system_id"]
    search_backend_name = None
    list_export = list(register.COLUMNS)
    # The export is a register file: the canonical column names, so it imports back.
    export_headings = {column: column for column in register.COLUMNS}
    export_filename = "plans"
    inspect_view_enabled = True
    inspect_view_fields = [*register.COLUMNS, "created_at", "updated_at"]
    copy_view_enabled = False
    form_fields = list(register.COLUMNS)


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Register file",
        help_text=(
            "A CSV (UTF-8) file or an Excel workbook (.xlsx) with the columns system_id, "
            "key_stage, primary_need, setting_type, locality, plan_stage and date_issued."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(UPLOAD_TYPES)}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        name = PurePath(upload.name).name
        if PurePath(name).suffix.lower() not in UPLOAD_TYPES:
            raise forms.ValidationError(plan_register.FILE_TYPE.format(name=name))
        limit = plan_register.max_bytes()
        if upload.size > limit:
            raise forms.ValidationError(
                plan_register.FILE_TOO_LARGE.format(limit=limit // (1024 * 1024))
            )
        return upload


class ImportPermissionMixin:
    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm(IMPORT_PERMISSION):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class ImportBreadcrumbsMixin:
    header_icon = "upload"

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("plans:index"), "label": "Plans"},
            {"url": reverse("plan_import:upload"), "label": "Import plans"},
            {"url": "", "label": self.get_page_title()},
        ]


class UploadView(
    ImportPermissionMixin, ImportBreadcrumbsMixin, WagtailAdminTemplateMixin, FormView
):
    """Choose a register file; it is checked, nothing written, before the preview."""

    template_name = "audits/admin/plan_import_upload.html"
    form_class = UploadForm
    page_title = "Import plans"

    def get_breadcrumbs_items(self):
        return super().get_breadcrumbs_items()[:-1]

    def form_valid(self, form):
        plan_import = plan_register.plans_import_start(form.cleaned_data["file"], self.request.user)
        return redirect("plan_import:detail", plan_import.pk)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            recent_imports=PlanImport.objects.select_related("uploaded_by")[:10],
            async_bytes=plan_register.async_bytes(),
            **kwargs,
        )


class DetailView(
    ImportPermissionMixin, ImportBreadcrumbsMixin, WagtailAdminTemplateMixin, TemplateView
):
    """One upload: its progress while it runs, the preview with "Confirm import" once checked,
    or what was imported or refused."""

    template_name = "audits/admin/plan_import_detail.html"
    refresh_seconds = 2

    @cached_property
    def plan_import(self):
        return get_object_or_404(
            PlanImport.objects.select_related("uploaded_by"), pk=self.kwargs["pk"]
        )

    def get_page_title(self):
        return self.plan_import.file_name

    def get_context_data(self, **kwargs):
        plan_import = self.plan_import
        rows_done, rows_total = plan_register.plan_import_progress(plan_import)
        state = plan_register.plan_import_state(plan_import)
        result = plan_import.result
        return super().get_context_data(
            plan_import=plan_import,
            state=state,
            result=result,
            rows_done=rows_done,
            rows_total=rows_total,
            percent=(100 * rows_done // rows_total) if rows_total else 0,
            refresh_seconds=self.refresh_seconds if state == plan_register.STATE_RUNNING else None,
            errors_hidden=result.get("errors_total", 0) - len(result.get("errors", [])),
            **kwargs,
        )


class ConfirmView(ImportPermissionMixin, View):
    """Import a checked upload: re-reads the stored file, writes it whole or not at all."""

    http_method_names = ["post"]

    def post(self, request, pk):
        plan_import = get_object_or_404(PlanImport, pk=pk)
        try:
            plan_register.plan_import_confirm(plan_import, request.user)
        except ValueError as error:
            messages.error(request, str(error))
        return redirect("plan_import:detail", plan_import.pk)


class ImportMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.has_perm(IMPORT_PERMISSION)


class PlanImportViewSet(ViewSet):
    name = "plan_import"
    url_prefix = "plans/import"
    icon = "upload"
    menu_label = "Import plans"
    menu_item_class = ImportMenuItem

    def get_urlpatterns(self):
        return [
            path("", UploadView.as_view(), name="upload"),
            path("<int:pk>/", DetailView.as_view(), name="detail"),
            path("<int:pk>/confirm/", ConfirmView.as_view(), name="confirm"),
        ]


class AuditsViewSetGroup(ViewSetGroup):
    menu_label = "Audits"
    menu_icon = "clipboard-list"
    menu_order = 250
    items = (
        PlanViewSet("plans"),
        PlanImportViewSet(),
        AuditCycleViewSet("cycles"),
        AuditViewSet("audits"),
        ConflictDeclarationViewSet("conflicts"),
    )


@hooks.register("register_admin_viewset")
def register_audits_viewsets():
    return AuditsViewSetGroup()


@hooks.register("register_permissions")
def plan_import_permissions():
    return Permission.objects.filter(
        content_type__app_label="audits", codename__in=["add_planimport", "view_planimport"]
    )


@hooks.register("register_log_actions")
def register_plan_import_log_actions(actions):
    @actions.register_action(plan_register.PLANS_IMPORTED_ACTION)
    class PlansImported(LogFormatter):
        label = "Import plans"

        def format_message(self, log_entry):
            data = {"source": "admin", "new": 0, "updated": 0, "unchanged": 0, **log_entry.data}
            data.setdefault("file_name", log_entry.label)
            return PLANS_IMPORTED_LOG.format(**data)
