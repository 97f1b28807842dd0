"""Forms of the action screens. They read what was posted and refuse only what the action
services would refuse too, with the services' own messages; whether an action may be raised
or moved on is decided by portal.audits.actions."""

import datetime

from django import forms

from portal.training.models import Agency

from .actions import (
    DESCRIPTION_MISSING,
    OWNER_NOT_ELIGIBLE,
    UNKNOWN_AGENCY,
    UNKNOWN_KIND,
    UNKNOWN_STATUS,
    owner_candidates,
)
from .forms import NOTE_MAX_LENGTH, VersionField
from .models import Action, AuditCycle

DESCRIPTION_MAX_LENGTH = 5000
OWNER_MISSING = "Choose the person who owns the action."
DUE_DATE_MISSING = "Enter the date the action is due by, as a day, month and year."
DUE_DATE_NOT_REAL = "The due date must be a real date, for example 27 3 2026."


class DayMonthYearWidget(forms.MultiWidget):
    """GOV.UK's date input: day, month and year posted as <name>_day, _month and _year."""

    def __init__(self, attrs=None):
        super().__init__(
            {"day": forms.TextInput, "month": forms.TextInput, "year": forms.TextInput}, attrs
        )

    def decompress(self, value):
        return [value.day, value.month, value.year] if value else [None, None, None]


class DayMonthYearField(forms.Field):
    """A date typed as three numbers. The parts stay as typed (the bound value), so a date
    that is not real is shown back to be corrected."""

    widget = DayMonthYearWidget
    default_error_messages = {"required": DUE_DATE_MISSING, "invalid": DUE_DATE_NOT_REAL}

    def to_python(self, value):
        parts = [str(part or "").strip() for part in (value or [])]
        if not any(parts):
            return None
        try:
            day, month, year = (int(part) for part in parts)
            return datetime.date(year, month, day)
        except (TypeError, ValueError) as error:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from error


class OwnerField(forms.ModelChoiceField):
    """People who may own actions, each shown as "Name (agency)"."""

    def label_from_instance(self, user):
        name = user.get_full_name() or user.get_username()
        profile = getattr(user, "staff_profile", None)
        return f"{name} ({profile.get_agency_display()})" if profile else name


class ActionRaiseForm(forms.Form):
    description = forms.CharField(
        max_length=DESCRIPTION_MAX_LENGTH, error_messages={"required": DESCRIPTION_MISSING}
    )
    kind = forms.ChoiceField(
        choices=Action.Kind.choices,
        error_messages={"required": UNKNOWN_KIND, "invalid_choice": UNKNOWN_KIND},
    )
    agency = forms.ChoiceField(
        choices=Agency.choices,
        error_messages={"required": UNKNOWN_AGENCY, "invalid_choice": UNKNOWN_AGENCY},
    )
    owner = OwnerField(
        queryset=owner_candidates().select_related("staff_profile"),
        empty_label="Choose a person",
        error_messages={"required": OWNER_MISSING, "invalid_choice": OWNER_NOT_ELIGIBLE},
    )
    due_on = DayMonthYearField()

    def due_on_parts(self):
        """Day, month and year as typed (or as first offered), for the date input."""
        value = self["due_on"].value()
        if isinstance(value, datetime.date):
            value = self.fields["due_on"].widget.decompress(value)
        return dict(zip(("day", "month", "year"), value or ["", "", ""], strict=False))


class ActionUpdateForm(forms.Form):
    """A status (cancelled needs a reason, checked by the service) and a note."""

    status = forms.ChoiceField(
        choices=Action.Status.choices,
        error_messages={"required": UNKNOWN_STATUS, "invalid_choice": UNKNOWN_STATUS},
    )
    note = forms.CharField(required=False, max_length=NOTE_MAX_LENGTH)
    cancel_reason = forms.CharField(required=False, max_length=NOTE_MAX_LENGTH)
    version = VersionField()


def _with_all(label, choices):
    return [("", label), *choices]


class ActionFilterForm(forms.Form):
    """The all-actions list's filters, read from the query string."""

    agency = forms.ChoiceField(required=False, choices=_with_all("All agencies", Agency.choices))
    kind = forms.ChoiceField(required=False, choices=_with_all("All kinds", Action.Kind.choices))
    status = forms.ChoiceField(
        required=False, choices=_with_all("All statuses", Action.Status.choices)
    )
    overdue = forms.BooleanField(required=False)
    cycle = forms.ModelChoiceField(
        required=False, queryset=AuditCycle.objects.all(), empty_label="All cycles"
    )

    def filters(self):
        """The filters that were valid, as actions_filtered takes them."""
        data = getattr(self, "cleaned_data", {})
        return {name: data[name] for name in self.fields if name in data}
