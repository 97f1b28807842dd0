"""Forms for the QA leads' training screens in the Wagtail admin."""

from django import forms

from .models import Agency


class InvitationForm(forms.Form):
    """Who to invite as an auditor; portal.training.services.invitation_create does the rest."""

    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    email = forms.EmailField(
        label="Email address",
        help_text="Their work address. It becomes their username, and the invitation goes to it.",
    )
    agency = forms.ChoiceField(
        choices=Agency.choices,
        widget=forms.RadioSelect,
        help_text="Training is reported by agency, and some modules are only for one agency.",
    )
