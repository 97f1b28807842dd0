"""Staff screens (Wagtail admin) for audits and cycles."""

from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.viewsets.model import ModelViewSet

from .models import Audit, AuditCycle


class AuditViewSet(ModelViewSet):
    """Every audit for QA leads: all audits of one plan together by searching its system ID,
    filters on cycle, auditor, grade and the plan's attributes. Read-only: grades are derived,
    never edited here."""

    model = Audit
    icon = "tasks"
    menu_label = "Audits"
    add_to_admin_menu = False
    inspect_view_enabled = True
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

    def get_queryset(self, request):
        return Audit.objects.select_related(
            "assignment__plan", "assignment__auditor", "assignment__cycle"
        )


class AuditCycleViewSet(ModelViewSet):
    """Audit cycles: the period or theme, the rubric, and the rules the sample is drawn by."""

    model = AuditCycle
    icon = "date"
    menu_label = "Cycles"
    add_to_admin_menu = False
    inspect_view_enabled = True
    list_display = ["name", "tier", "theme", DateColumn("starts_on"), DateColumn("ends_on")]
    list_filter = ["tier"]
    search_fields = ["name", "theme"]
    form_fields = [
        "name",
        "tier",
        "theme",
        "starts_on",
        "ends_on",
        "rubric",
        "sample_size",
        "sample_share",
        "stratify_by",
        "double_audit_share",
    ]
