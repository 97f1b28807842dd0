"""Forms of the audit screens. They only read what was posted: whether the ticks fit the
pinned rubric is decided by portal.audits.recording, so a form never accepts anything the
service would refuse, nor refuses anything it would accept."""

from django import forms

NOTE_MAX_LENGTH = 5000
FINDINGS_MAX_LENGTH = 10000
VERSION_MISSING = "The form is out of date: reload the page and make your changes again."


class CriterionKeysField(forms.MultipleChoiceField):
    """Criterion keys as posted. Unknown keys are left for the grading rules to refuse with
    their own message, rather than Django's generic "Select a valid choice"."""

    def valid_value(self, value):
        return True


class VersionField(forms.IntegerField):
    """The audit's version when the form was opened, for the service's lost-update check."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        # A version below 1 is as meaningless to the auditor as a missing one: the same words,
        # not Django's "Ensure this value is greater than or equal to 1" about a hidden field.
        kwargs.setdefault(
            "error_messages",
            {"required": VERSION_MISSING, "invalid": VERSION_MISSING, "min_value": VERSION_MISSING},
        )
        super().__init__(**kwargs)


class SectionForm(forms.Form):
    """One rubric section: a checkbox per criterion, not applicable where the rubric allows
    it, and a note. Built from the section of the pinned rubric (interchange format)."""

    met = CriterionKeysField(required=False)
    not_applicable = forms.BooleanField(required=False)
    note = forms.CharField(required=False, max_length=NOTE_MAX_LENGTH, strip=False)
    version = VersionField()

    def __init__(self, section, *args, **kwargs):
        self.section = section
        super().__init__(*args, **kwargs)
        self.fields["met"].choices = [(c["key"], c["text"]) for c in section["criteria"]]
        self.fields["note"].label = f"Note on section {section['key']} (optional)"

    # What the auditor sees is what they posted (kept when saving is refused, so nothing
    # they ticked or typed is lost) or, on opening, what was saved.
    def criteria_items(self):
        ticked = set(self["met"].value() or [])
        return [
            {**criterion, "checked": criterion["key"] in ticked}
            for criterion in self.section["criteria"]
        ]

    def not_applicable_checked(self):
        return bool(self["not_applicable"].value())


class FindingsForm(forms.Form):
    strengths = forms.CharField(required=False, max_length=FINDINGS_MAX_LENGTH, strip=False)
    recommendations = forms.CharField(required=False, max_length=FINDINGS_MAX_LENGTH, strip=False)
    summary = forms.CharField(required=False, max_length=FINDINGS_MAX_LENGTH, strip=False)
    version = VersionField()


class SubmitForm(forms.Form):
    """Submitting: the service refuses while any section is not done."""

    version = VersionField()


class GradePreviewForm(forms.Form):
    """A section's ticks, posted by the form's script to show the grade they would earn."""

    section = forms.CharField(max_length=2)
    met = CriterionKeysField(required=False)
    not_applicable = forms.BooleanField(required=False)
