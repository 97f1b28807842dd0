"""The dashboard's filters, read from the query string: the period audits were submitted in,
audit cycles, tier and theme, the plan's key stage, primary need, setting type and locality,
and the auditor's agency; and the breakdown the grades are shown by. A valid form gives the
ReportFilters every figure on the dashboard is worked out with."""

from django import forms
from django.utils.dateformat import format as date_format

from portal.training.models import Agency

from .action_forms import DayMonthYearField
from .models import AuditCycle, KeyStage, Plan, PrimaryNeed, SettingType
from .reporting import BREAKDOWNS, ReportFilters

NOT_AN_OPTION = "Choose one of the options in the list."
NOT_A_CYCLE = "Choose audit cycles from the list."
PERIOD_START_NOT_REAL = "The start of the period must be a real date, for example 1 4 2025."
PERIOD_END_NOT_REAL = "The end of the period must be a real date, for example 30 6 2025."
PERIOD_BACKWARDS = "The end of the period must be the same as or after its start."
FILTER_ERRORS = {"invalid_choice": NOT_AN_OPTION}
DEFAULT_BREAKDOWN = "key_stage"


def _any(label, choices):
    return [("", label), *choices]


class DashboardFilterForm(forms.Form):
    """The dashboard's filters; a blank one does not narrow the figures."""

    date_from = DayMonthYearField(
        label="From", required=False, error_messages={"invalid": PERIOD_START_NOT_REAL}
    )
    date_to = DayMonthYearField(
        label="To", required=False, error_messages={"invalid": PERIOD_END_NOT_REAL}
    )
    cycle = forms.ModelMultipleChoiceField(
        label="Audit cycles",
        queryset=AuditCycle.objects.order_by("-starts_on", "name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": NOT_A_CYCLE, "invalid_pk_value": NOT_A_CYCLE},
    )
    tier = forms.ChoiceField(
        label="Tier",
        choices=_any("Any tier", AuditCycle.Tier.choices),
        required=False,
        error_messages=FILTER_ERRORS,
    )
    theme = forms.ChoiceField(
        label="Theme", choices=(), required=False, error_messages=FILTER_ERRORS
    )
    key_stage = forms.ChoiceField(
        label="Key stage",
        choices=_any("Any key stage", KeyStage.choices),
        required=False,
        error_messages=FILTER_ERRORS,
    )
    primary_need = forms.ChoiceField(
        label="Primary need",
        choices=_any("Any primary need", PrimaryNeed.choices),
        required=False,
        error_messages=FILTER_ERRORS,
    )
    setting_type = forms.ChoiceField(
        label="Setting type",
        choices=_any("Any setting type", SettingType.choices),
        required=False,
        error_messages=FILTER_ERRORS,
    )
    locality = forms.ChoiceField(
        label="Locality or team", choices=(), required=False, error_messages=FILTER_ERRORS
    )
    agency = forms.ChoiceField(
        label="Auditor's agency",
        choices=_any("Any agency", Agency.choices),
        required=False,
        error_messages=FILTER_ERRORS,
    )
    breakdown = forms.ChoiceField(
        label="Show overall grades by",
        choices=list(BREAKDOWNS.items()),
        required=False,
        error_messages=FILTER_ERRORS,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        themes = (
            AuditCycle.objects.exclude(theme="")
            .order_by("theme")
            .values_list("theme", flat=True)
            .distinct()
        )
        self.fields["theme"].choices = _any("Any theme", [(theme, theme) for theme in themes])
        localities = Plan.objects.order_by("locality").values_list("locality", flat=True)
        self.fields["locality"].choices = _any(
            "Any locality or team", [(name, name) for name in localities.distinct()]
        )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", PERIOD_BACKWARDS)
        return data

    def report_filters(self):
        """The ReportFilters of a valid form."""
        data = self.cleaned_data
        return ReportFilters(
            date_from=data["date_from"],
            date_to=data["date_to"],
            cycles=tuple(cycle.pk for cycle in data["cycle"]),
            tier=data["tier"],
            theme=data["theme"],
            key_stage=data["key_stage"],
            primary_need=data["primary_need"],
            setting_type=data["setting_type"],
            locality=data["locality"],
            agency=data["agency"],
        )

    def chosen_breakdown(self):
        return self.cleaned_data.get("breakdown") or DEFAULT_BREAKDOWN

    def _date_parts(self, name):
        value = self[name].value()
        return dict(zip(("day", "month", "year"), value or ["", "", ""], strict=False))

    def date_from_parts(self):
        """The start's day, month and year as typed, for its GOV.UK date input."""
        return self._date_parts("date_from")

    def date_to_parts(self):
        """The end's day, month and year as typed, for its GOV.UK date input."""
        return self._date_parts("date_to")

    def applied(self):
        """The filters of a valid form that narrow the figures, in words: [(label, value)]."""
        data = self.cleaned_data
        applied = []
        start, end = data["date_from"], data["date_to"]
        if start or end:
            applied.append(("Submitted", _period(start, end)))
        if data["cycle"]:
            applied.append(("Audit cycles", ", ".join(cycle.name for cycle in data["cycle"])))
        for name in (
            "tier",
            "theme",
            "key_stage",
            "primary_need",
            "setting_type",
            "locality",
            "agency",
        ):
            if data[name]:
                field = self.fields[name]
                applied.append((field.label, dict(field.choices)[data[name]]))
        return applied


def _day(value):
    return date_format(value, "j F Y")


def _period(start, end):
    if start and end:
        return f"{_day(start)} to {_day(end)}"
    if start:
        return f"on or after {_day(start)}"
    return f"on or before {_day(end)}"
