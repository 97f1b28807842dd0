"""Forms of the learner's screens: a module's knowledge check, built from its questions, and
setting a password from an invitation. They only read what was posted; marking and
accepting are done by portal.training.services."""

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import SetPasswordForm

from .marking import CHECK_NOT_ANSWERED

# Error messages, not passwords (hence the noqa for bandit's hard-coded password rule).
PASSWORD_MISSING = "Enter a password"  # noqa: S105
PASSWORD_CONFIRMATION_MISSING = "Enter your password again to confirm it"  # noqa: S105
PASSWORDS_DIFFERENT = "The passwords do not match: enter the same password twice"


class KnowledgeCheckForm(forms.Form):
    """One field per question, named by the question's id, whose choices are its option
    numbers: one choice (radios) where the question has exactly one correct option, any
    number (checkboxes) where it has several. Which options are correct never leaves the
    server; the widget only says whether to choose one or several."""

    def __init__(self, questions, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = questions
        for number, question in enumerate(questions, start=1):
            choices = [
                (str(index), option["text"]) for index, option in enumerate(question["options"])
            ]
            unanswered = CHECK_NOT_ANSWERED.format(number=number)
            messages = {"required": unanswered, "invalid_choice": unanswered}
            if sum(option["correct"] for option in question["options"]) == 1:
                field = forms.ChoiceField(choices=choices, error_messages=messages)
            else:
                field = forms.MultipleChoiceField(choices=choices, error_messages=messages)
            field.number = number
            self.fields[question["id"]] = field

    def answers(self):
        """The answers as the marking takes them: {question id: [option numbers]}."""
        return {
            name: [int(choice) for choice in ([value] if isinstance(value, str) else value)]
            for name, value in self.cleaned_data.items()
        }

    def questions_shown(self):
        """Each question as the check shows it: the question, whether several options may be
        chosen, the option numbers chosen (as posted, after a refused try) and its error."""
        rows = []
        for question, bound in zip(self.questions, self, strict=True):
            chosen = bound.value() or []
            rows.append(
                {
                    "question": question,
                    "id": bound.name,
                    "number": bound.field.number,
                    "several": isinstance(bound.field, forms.MultipleChoiceField),
                    "chosen": [chosen] if isinstance(chosen, str) else list(chosen),
                    "error": bound.errors[0] if bound.errors else None,
                }
            )
        return rows


class InvitationPasswordForm(SetPasswordForm):
    """Django's set-password form (the password validators included), worded for someone
    choosing their first password."""

    error_messages = {**SetPasswordForm.error_messages, "password_mismatch": PASSWORDS_DIFFERENT}

    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.fields["new_password1"].label = "Create a password"
        self.fields["new_password1"].error_messages["required"] = PASSWORD_MISSING
        self.fields["new_password2"].label = "Confirm your password"
        self.fields["new_password2"].error_messages["required"] = PASSWORD_CONFIRMATION_MISSING

    @property
    def rules(self):
        """The password validators' rules, in words, for the hint."""
        return password_validation.password_validators_help_texts()
