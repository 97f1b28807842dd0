import json

from django import forms

from .rubric import RubricError, validate_rubric

MAX_RUBRIC_BYTES = 1024 * 1024
FILE_TOO_LARGE = "The file is larger than 1 MB; a rubric file is a few kilobytes."
NOT_UTF8 = "The file is not UTF-8 text; export the rubric again as JSON."
NOT_JSON = "The file is not valid JSON (line {line}, column {column}: {problem})."


class RubricImportForm(forms.Form):
    file = forms.FileField(
        label="Rubric file (JSON)",
        help_text="A rubric exported from this or another area's portal.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_RUBRIC_BYTES:
            raise forms.ValidationError(FILE_TOO_LARGE)
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise forms.ValidationError(NOT_UTF8) from error
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                NOT_JSON.format(line=error.lineno, column=error.colno, problem=error.msg)
            ) from error
        try:
            return validate_rubric(data)
        except RubricError as error:
            raise forms.ValidationError(error.messages) from error


class NewRubricImportForm(RubricImportForm):
    title = forms.CharField(max_length=255, help_text="The new rubric page's title.")

    field_order = ["title", "file"]
