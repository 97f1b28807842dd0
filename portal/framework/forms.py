from django import forms

from .rubric import FILE_TOO_LARGE, MAX_RUBRIC_BYTES, RubricError, rubric_from_bytes


class RubricImportForm(forms.Form):
    file = forms.FileField(
        label="Rubric file (JSON)",
        help_text="A rubric exported from this or another area's portal.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        # Refuse an oversized upload before reading it into memory.
        if upload.size > MAX_RUBRIC_BYTES:
            raise forms.ValidationError(FILE_TOO_LARGE)
        try:
            return rubric_from_bytes(upload.read())
        except RubricError as error:
            raise forms.ValidationError(error.messages) from error


class NewRubricImportForm(RubricImportForm):
    title = forms.CharField(max_length=255, help_text="The new rubric page's title.")

    field_order = ["title", "file"]
