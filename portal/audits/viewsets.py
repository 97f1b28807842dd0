"""Staff screens (Wagtail admin) for audits and cycles."""

from django import forms
from django.contrib.auth import get_user_model
from django.urls import path, reverse
from django.utils.functional import cached_property
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel, ObjectList
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.views.generic import CreateView, InspectView
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets import HeaderButton

from portal.framework.roles import AUDITOR

from .cycle_admin import CycleAssignView, CycleDrawSampleView, CycleInspectView
from .cycles import conflict_declare
from .models import Audit, AuditCycle, ConflictDeclaration, Plan
from .sampling import STRATIFY_ATTRIBUTES

STRATIFY_LABELS = {"key_stage": "Key stage", "primary_need": "Primary need", "locality": "Locality"}


class AuditCycleForm(WagtailAdminModelForm):
    stratify_by = forms.MultipleChoiceField(
        choices=[(name, STRATIFY_LABELS.get(name, name)) for name in STRATIFY_ATTRIBUTES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Keep in proportion",
        help_text="The sample keeps the register's shares of each of these.",
    )


class AuditInspectView(InspectView):
    """An audit as recorded, with "Raise an action" for a submitted one: a QA lead turns
    the auditor's recommendations into an action there."""

    @cached_property
    def header_buttons(self):
        buttons = list(super().header_buttons)
        if self.object.status == Audit.Status.SUBMITTED and self.request.user.has_perm(
            "audits.add_action"
        ):
            buttons.append(
                HeaderButton(
                    "Raise an action",
                    url=f"{reverse('action_raise')}?audit={self.object.pk}",
                    icon_name="tasks",
                )
            )
        return buttons


class AuditViewSet(ModelViewSet):
    """Every audit for QA leads: all audits of one plan together by searching its system ID,
    filters on cycle, auditor, grade and the plan's attributes. Read-only: grades are derived,
    never edited here."""

    model = Audit
    icon = "tasks"
    menu_label = "Audits"
    add_to_admin_menu = False
    inspect_view_enabled = True
    inspect_view_class = AuditInspectView
    list_display = [
        Column("plan", label="Plan", accessor="assignment.plan.system_id"),
        Column("auditor", label="Auditor", accessor="assignment.auditor"),
        Column("cycle", label="Cycle", accessor="assignment.cycle"),
        Column("status", label="Status", accessor="get_status_display"),
        Column("overall_grade", label="Overall grade", accessor="get_overall_grade_display"),
        DateColumn("submitted_at", label="Submitted"),
    ]
    list_filter = {
        "assignment__cycle": ["exact"],
        "assignment__auditor": ["exact"],
        "status": ["exact"],
        "overall_grade": ["exact"],
        "assignment__plan__key_stage": ["exact"],
        "assignment__plan__primary_need": ["exact"],
        "assignment__plan__setting_type": ["exact"],
    }
    search_fields = ["assignment__plan__system_id"]
    list_export = [
        "assignment.plan.system_id",
        "assignment.cycle",
        "assignment.auditor",
        "status",
        "overall_grade",
        "overall_score",
        "submitted_at",
    ]
    export_headings = {
        "assignment.plan.system_id": "Plan system ID",
        "assignment.cycle": "Cycle",
        "assignment.auditor": "Auditor",
    }
    export_filename = "audits"
    inspect_view_fields = [
        "assignment",
        "status",
        "overall_grade",
        "overall_score",
        "strengths",
        "recommendations",
        "summary",
        "submitted_at",
    ]
    ordering = ["assignment__plan__system_id", "-submitted_at"]
    # QA leads hold only the view permission, so these never appear to them: an audit is the
    # auditor's record, and its grades are derived.
    form_fields = ["summary"]

    def get_queryset(self, request):
        return Audit.objects.of_plans().select_related(
            "assignment__plan", "assignment__auditor", "assignment__cycle"
        )


class AuditCycleViewSet(ModelViewSet):
    """Audit cycles: the period or theme, the rubric, and the rules the sample is drawn by;
    the inspect page shows the sample, and QA leads draw it and assign its plans there."""

    model = AuditCycle
    icon = "date"
    menu_label = "Cycles"
    add_to_admin_menu = False
    inspect_view_enabled = True
    inspect_view_class = CycleInspectView
    inspect_template_name = "audits/admin/cycle_inspect.html"
    list_display = ["name", "tier", "theme", DateColumn("starts_on"), DateColumn("ends_on")]
    list_filter = ["tier"]
    search_fields = ["name", "theme"]
    edit_handler = ObjectList(
        [
            FieldPanel("name"),
            FieldPanel("tier"),
            FieldPanel("theme"),
            FieldRowPanel([FieldPanel("starts_on"), FieldPanel("ends_on")]),
            FieldPanel("rubric"),
            MultiFieldPanel(
                [
                    FieldRowPanel([FieldPanel("sample_size"), FieldPanel("sample_share")]),
                    FieldPanel("stratify_by"),
                    FieldPanel("double_audit_share"),
                ],
                heading="Sample",
                help_text="Give a sample size or a share of the eligible plans, not both.",
            ),
        ],
        base_form_class=AuditCycleForm,
    )

    def get_inspect_view_kwargs(self, **kwargs):
        return super().get_inspect_view_kwargs(
            draw_sample_url_name=self.get_url_name("draw_sample"),
            assign_url_name=self.get_url_name("assign"),
            **kwargs,
        )

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path(
                "draw-sample/<int:pk>/",
                self.construct_view(CycleDrawSampleView),
                name="draw_sample",
            ),
            path("assign/<int:pk>/", self.construct_view(CycleAssignView), name="assign"),
        ]


PLAN_NOT_FOUND = "No plan with system ID “{system_id}” is in the register."


class ConflictDeclarationForm(WagtailAdminModelForm):
    """A QA lead records an auditor's conflict of interest with a plan, found by its system ID
    (a register of thousands of plans is no list to choose from)."""

    plan_system_id = forms.CharField(label="Plan system ID", max_length=40)

    class Meta:
        model = ConflictDeclaration
        fields = ["auditor", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["auditor"].queryset = (
            get_user_model()
            .objects.filter(groups__name=AUDITOR, is_active=True)
            .order_by("last_name", "first_name", "username")
        )
        self.order_fields(["auditor", "plan_system_id", "reason"])

    def clean_plan_system_id(self):
        system_id = self.cleaned_data["plan_system_id"].strip()
        plan = Plan.objects.filter(system_id__iexact=system_id).first()
        if plan is None:
            raise forms.ValidationError(PLAN_NOT_FOUND.format(system_id=system_id))
        return plan


class ConflictCreateView(CreateView):
    def save_instance(self):
        data = self.form.cleaned_data
        return conflict_declare(
            data["auditor"], data["plan_system_id"], data["reason"], declared_by=self.request.user
        )


class ConflictDeclarationViewSet(ModelViewSet):
    """Conflicts of interest: an auditor is never assigned a plan they contributed to, or that
    someone they manage contributed to."""

    model = ConflictDeclaration
    icon = "warning"
    menu_label = "Conflicts of interest"
    add_to_admin_menu = False
    add_view_class = ConflictCreateView
    list_display = [
        Column("plan", label="Plan", accessor="plan.system_id"),
        Column("auditor", label="Auditor", accessor="auditor"),
        Column("reason", label="Reason", accessor="get_reason_display"),
        DateColumn("declared_at", label="Declared"),
    ]
    list_filter = ["reason", "auditor"]
    search_fields = ["plan__system_id"]

    def get_form_class(self, for_update=False):
        return ConflictDeclarationForm

    def get_queryset(self, request):
        return ConflictDeclaration.objects.select_related("plan", "auditor")
