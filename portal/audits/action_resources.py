"""Actions as a django-import-export resource, for the QA leads' CSV and XLSX download of the
all-actions list: one row per action, with readable headers and dates in the local time."""

from django.utils import timezone
from import_export import fields, resources
from import_export.formats import base_formats

from .models import Action

FORMATS = {"csv": base_formats.CSV, "xlsx": base_formats.XLSX}
COLUMNS = {
    "reference": "Reference",
    "description": "What is to be done",
    "kind": "Kind",
    "agency": "Owning agency",
    "owner": "Owner",
    "due_on": "Due",
    "status": "Status",
    "overdue": "Overdue",
    "plan": "Plan system ID",
    "raised_by": "Raised by",
    "raised_on": "Raised on",
    "closed_on": "Closed on",
}
DATE_FORMAT = "%Y-%m-%d"


def _name(user):
    return (user.get_full_name() or user.get_username()) if user else ""


def _day(moment):
    return timezone.localdate(moment).strftime(DATE_FORMAT) if moment else ""


class ActionResource(resources.ModelResource):
    """Export only: every value is given as the list shows it (labels, not codes)."""

    reference = fields.Field(column_name=COLUMNS["reference"])
    description = fields.Field(attribute="description", column_name=COLUMNS["description"])
    kind = fields.Field(column_name=COLUMNS["kind"])
    agency = fields.Field(column_name=COLUMNS["agency"])
    owner = fields.Field(column_name=COLUMNS["owner"])
    due_on = fields.Field(column_name=COLUMNS["due_on"])
    status = fields.Field(column_name=COLUMNS["status"])
    overdue = fields.Field(column_name=COLUMNS["overdue"])
    plan = fields.Field(column_name=COLUMNS["plan"])
    raised_by = fields.Field(column_name=COLUMNS["raised_by"])
    raised_on = fields.Field(column_name=COLUMNS["raised_on"])
    closed_on = fields.Field(column_name=COLUMNS["closed_on"])

    class Meta:
        model = Action
        fields = tuple(COLUMNS)
        export_order = tuple(COLUMNS)

    def __init__(self, today=None, **kwargs):
        super().__init__(**kwargs)
        self.today = today or timezone.localdate()

    def dehydrate_reference(self, action):
        return action.reference

    def dehydrate_kind(self, action):
        return action.get_kind_display()

    def dehydrate_agency(self, action):
        return action.get_agency_display()

    def dehydrate_owner(self, action):
        return _name(action.owner)

    def dehydrate_due_on(self, action):
        return action.due_on.strftime(DATE_FORMAT)

    def dehydrate_status(self, action):
        return action.get_status_display()

    def dehydrate_overdue(self, action):
        return "Yes" if action.is_open and action.due_on < self.today else "No"

    def dehydrate_plan(self, action):
        return action.plan.system_id if action.plan_id else ""

    def dehydrate_raised_by(self, action):
        return _name(action.raised_by)

    def dehydrate_raised_on(self, action):
        return _day(action.raised_at)

    def dehydrate_closed_on(self, action):
        return _day(action.closed_at)


def actions_export(actions, file_format):
    """The actions as CSV (text) or XLSX (bytes). Descriptions are free text: in XLSX a
    leading "=" is dropped so that no cell is read as a formula."""
    dataset = ActionResource().export(actions.select_related("owner", "plan", "raised_by"))
    if file_format == "xlsx":
        return FORMATS["xlsx"]().export_data(dataset, escape=True)
    return FORMATS[file_format]().export_data(dataset)
