"""Forms of the moderation screens: the queue's filters, and a moderator's decision. The
decision form only reads what was posted: whether a grade, a section or a rationale will do
is decided by portal.audits.moderation, whose messages are put back on the fields."""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS

from portal.framework.rubric import GRADES
from portal.training.models import Agency

from .forms import VersionField
from .models import AuditCycle, Grade, ModerationCase

RATIONALE_MAX_LENGTH = 10000
NOT_AN_OPTION = "Choose one of the options in the list."
FILTER_ERRORS = {"invalid_choice": NOT_AN_OPTION}
OPEN_CASES = ""
QUEUE_STATUSES = [
    (OPEN_CASES, "Open cases"),
    *ModerationCase.Status.choices,
]


class QueueFilterForm(forms.Form):
    """The queue's filters, read from the query string; a blank one does not narrow."""

    status = forms.ChoiceField(
        label="Status", choices=QUEUE_STATUSES, required=False, error_messages=FILTER_ERRORS
    )
    reason = forms.ChoiceField(
        label="Reason for moderation",
        choices=[("", "Any reason"), *ModerationCase.Reason.choices],
        required=False,
        error_messages=FILTER_ERRORS,
    )
    cycle = forms.ModelChoiceField(
        label="Audit cycle",
        queryset=AuditCycle.objects.all(),
        required=False,
        empty_label="Any cycle",
        error_messages=FILTER_ERRORS,
    )
    grade = forms.ChoiceField(
        label="An auditor's overall grade",
        choices=[("", "Any grade"), *Grade.choices],
        required=False,
        error_messages=FILTER_ERRORS,
    )
    agency = forms.ChoiceField(
        label="An auditor's agency",
        choices=[("", "Any agency"), *Agency.choices],
        required=False,
        error_messages=FILTER_ERRORS,
    )

    def filters(self):
        """The filters to pass to moderation_queue: those that were valid."""
        self.is_valid()
        return {name: self.cleaned_data.get(name) or None for name in self.fields}


class DecisionForm(forms.Form):
    """The moderated overall grade, a grade for any section where the moderator differs
    (blank: no change), the rationale, and the case's version when the form was opened."""

    grade = forms.CharField(required=False)
    rationale = forms.CharField(required=False, max_length=RATIONALE_MAX_LENGTH, strip=False)
    version = VersionField()

    def __init__(self, sections, *args, **kwargs):
        self.sections = sections
        super().__init__(*args, **kwargs)
        for section in sections:
            self.fields[self.section_field(section.key)] = forms.CharField(
                required=False, label=f"Section {section.key}: {section.title}"
            )

    @staticmethod
    def section_field(key):
        return f"section-{key}"

    @staticmethod
    def initial_for(case):
        """The form's starting values: the case's draft decision, if any."""
        return {
            "grade": case.moderated_grade,
            "rationale": case.rationale,
            "version": case.version,
            **{
                DecisionForm.section_field(key): grade
                for key, grade in (case.section_grades or {}).items()
            },
        }

    def section_grades(self):
        """{section key: grade} as posted, blanks left out."""
        return {
            section.key: self.cleaned_data[self.section_field(section.key)]
            for section in self.sections
            if self.cleaned_data.get(self.section_field(section.key))
        }

    def section_items(self):
        """Each section's select: its field, the auditors' grades and the chosen grade."""
        return [
            {
                "section": section,
                "field": self[self.section_field(section.key)],
                "value": self[self.section_field(section.key)].value() or "",
            }
            for section in self.sections
        ]

    def add_decision_errors(self, error):
        """Put the service's ValidationError messages on the fields they are about; one about
        the section grades goes on the first section whose posted grade is not a grade."""
        for field, messages in error.message_dict.items():
            if field == "section_grades":
                field = next(
                    (
                        self.section_field(key)
                        for key, grade in self.section_grades().items()
                        if grade not in GRADES
                    ),
                    NON_FIELD_ERRORS,
                )
            if field not in self.fields:
                field = NON_FIELD_ERRORS
            for message in messages:
                self.add_error(None if field == NON_FIELD_ERRORS else field, message)
