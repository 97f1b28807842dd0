"""QA leads' training screens in the Wagtail admin: the training dashboard (every auditor's
modules, calibration and accreditation, with reach by agency, exported as CSV or XLSX),
inviting auditors and the invitations sent, and the calibration cases' references. The
views translate between HTTP and portal.training.selectors / services."""

import datetime
from dataclasses import dataclass

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Case, Count, Exists, OuterRef, Q, Value, When
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.functional import cached_property
from django.views.generic import FormView, TemplateView, View
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.ui.tables import Column, StatusTagColumn
from wagtail.admin.views.generic import IndexView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.reports import ReportView

from portal.audits.models import Audit

from . import selectors, services
from .admin_forms import InvitationForm
from .models import (
    Agency,
    CalibrationCasePage,
    CalibrationReference,
    Invitation,
    TrainingSettings,
)

VIEW_DASHBOARD = "training.view_accreditation"
INVITE = "training.add_invitation"
VIEW_INVITATIONS = "training.view_invitation"
VIEW_REFERENCES = "training.view_calibrationreference"
RECORD_REFERENCE = "training.add_calibrationreference"

INVITATION_SENT = "Invitation sent to {email}; the link works until {date}."
INVITATION_ALREADY_ACCEPTED = (
    "{email} has already accepted their invitation: they sign in with their email address."
)
INVITATION_REPLACED = (
    "A newer invitation has been sent to {email}: send that one again if they need a new link."
)
PLANS_STILL_TO_AUDIT = "{count} plan still to audit"
PLANS_STILL_TO_AUDIT_PLURAL = "{count} plans still to audit"

DATE = "j F Y"
DATE_TIME = "j F Y, H:i"


class TrainingPermissionMixin:
    """Only users with `permission` get in; anyone else gets Wagtail's permission-denied
    redirect (require_admin_access turns PermissionDenied into it)."""

    permission = None

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm(self.permission):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


def _name(user):
    return user.get_full_name() or user.get_username()


# The training dashboard


@dataclass
class AuditorRow:
    """One dashboard row, as shown and as exported."""

    name: str
    email: str
    agency: str
    modules: str
    attempts: int
    best_agreement: int | None
    status: str
    expires_on: datetime.date | None
    flag: str
    accredited: bool

    @classmethod
    def of(cls, user):
        profile = getattr(user, "staff_profile", None)
        lapsed = user.accreditation_status in selectors.NOT_ACCREDITED_NOW
        flag = ""
        if lapsed and user.open_plans:
            text = PLANS_STILL_TO_AUDIT if user.open_plans == 1 else PLANS_STILL_TO_AUDIT_PLURAL
            flag = text.format(count=user.open_plans)
        agreement = user.best_agreement
        return cls(
            name=_name(user),
            email=user.email,
            agency=profile.get_agency_display() if profile else "",
            modules=f"{user.required_done} of {user.required_total}",
            attempts=user.attempts_marked,
            # Cut, as learners see it: never rounded up to a pass mark.
            best_agreement=None if agreement is None else int(agreement * 100),
            status=selectors.AccreditationStatus(user.accreditation_status).label,
            expires_on=user.expires_on,
            flag=flag,
            accredited=not lapsed,
        )

    @property
    def best_agreement_display(self):
        return "" if self.best_agreement is None else f"{self.best_agreement}%"

    @property
    def expires_display(self):
        return date_format(self.expires_on, DATE) if self.expires_on else ""


class FlagColumn(Column):
    cell_template_name = "training/admin/flag_cell.html"


class AuditorFilterSet(WagtailFilterSet):
    agency = django_filters.ChoiceFilter(
        label="Agency",
        field_name="staff_profile__agency",
        choices=Agency.choices,
        widget=forms.RadioSelect,
        empty_label="All agencies",
    )
    status = django_filters.ChoiceFilter(
        label="Accreditation",
        field_name="accreditation_status",
        choices=selectors.AccreditationStatus.choices,
        widget=forms.RadioSelect,
        empty_label="Any",
    )

    class Meta:
        model = get_user_model()
        fields = []


class TrainingDashboardView(TrainingPermissionMixin, ReportView):
    """Every auditor's training and accreditation, reach by agency above; auditors who hold
    plans to audit without a current accreditation are flagged."""

    permission = VIEW_DASHBOARD
    page_title = "Training dashboard"
    header_icon = "group"
    template_name = "training/admin/dashboard.html"
    index_url_name = "training_dashboard"
    index_results_url_name = "training_dashboard_results"
    filterset_class = AuditorFilterSet
    verbose_name_plural = "auditors"
    export_filename = "training-dashboard"
    columns = [
        Column("name", label="Name", sort_key="last_name"),
        Column("email", label="Email"),
        Column("agency", label="Agency", sort_key="staff_profile__agency"),
        Column("modules", label="Required modules done"),
        Column("attempts", label="Calibration attempts"),
        Column(
            "best_agreement", label="Best criterion agreement", accessor="best_agreement_display"
        ),
        StatusTagColumn(
            "status",
            label="Accreditation",
            primary=lambda row: row.accredited,
            sort_key="accreditation_status",
        ),
        Column("expires_on", label="Expires", accessor="expires_display", sort_key="expires_on"),
        FlagColumn("flag", label="Flag"),
    ]
    list_export = [
        "name",
        "email",
        "agency",
        "modules",
        "attempts",
        "best_agreement",
        "status",
        "expires_on",
        "flag",
    ]
    export_headings = {
        "name": "Name",
        "email": "Email",
        "agency": "Agency",
        "modules": "Required modules done",
        "attempts": "Calibration attempts",
        "best_agreement": "Best criterion agreement (%)",
        "status": "Accreditation",
        "expires_on": "Accreditation expires",
        "flag": "Flag",
    }

    @cached_property
    def today(self):
        return timezone.localdate()

    @cached_property
    def rules(self):
        return TrainingSettings.load()

    def get_base_queryset(self):
        return selectors.auditor_training_rows(self.today, self.rules.reminder_days)

    def get_table(self, object_list):
        return super().get_table([AuditorRow.of(user) for user in object_list])

    def decorate_paginated_queryset(self, object_list):
        # The export writes these rows: the same columns as the table.
        return [AuditorRow.of(user) for user in object_list]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if not self.results_only and not self.is_export:
            context["reach"] = selectors.training_reach()
            context["today"] = self.today
            context["reminder_days"] = self.rules.reminder_days
            context["lapsed_with_plans"] = (
                self.get_base_queryset()
                .filter(accreditation_status__in=selectors.NOT_ACCREDITED_NOW, open_plans__gt=0)
                .count()
            )
        return context


# Invitations


class InvitationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    EXPIRED = "expired", "Expired"
    REPLACED = "replaced", "Replaced by a newer invitation"


RESENDABLE = (InvitationStatus.PENDING, InvitationStatus.EXPIRED)


def invitations_with_status(now):
    """Invitations with their status at `now`; inviting someone again expires their earlier
    link, which then reads as replaced."""
    newer = Invitation.objects.filter(user=OuterRef("user"), pk__gt=OuterRef("pk"))
    return Invitation.objects.select_related("invited_by").annotate(
        status=Case(
            When(accepted_at__isnull=False, then=Value(InvitationStatus.ACCEPTED)),
            When(Exists(newer), then=Value(InvitationStatus.REPLACED)),
            When(expires_at__gt=now, then=Value(InvitationStatus.PENDING)),
            default=Value(InvitationStatus.EXPIRED),
            output_field=models.CharField(),
        )
    )


def _invitation_sent(request, invitation):
    expires = date_format(timezone.localtime(invitation.expires_at), DATE_TIME)
    messages.success(request, INVITATION_SENT.format(email=invitation.email, date=expires))


class InviteView(TrainingPermissionMixin, WagtailAdminTemplateMixin, FormView):
    """Invite a new auditor: an account (off until they accept) and an email with a link."""

    permission = INVITE
    template_name = "training/admin/invite.html"
    form_class = InvitationForm
    page_title = "Invite an auditor"
    header_icon = "mail"

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("training_invitations:index"), "label": "Invitations"},
            {"url": "", "label": self.page_title},
        ]

    def form_valid(self, form):
        try:
            invitation = services.invitation_create(
                **form.cleaned_data, invited_by=self.request.user
            )
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        _invitation_sent(self.request, invitation)
        return redirect("training_invitations:index")

    def get_context_data(self, **kwargs):
        days = TrainingSettings.load().invitation_days
        return super().get_context_data(invitation_days=days, **kwargs)


class SendAgainColumn(Column):
    """A "Send again" button (a POST form) for pending and expired invitations."""

    cell_template_name = "training/admin/send_again_cell.html"

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        request = parent_context["request"]
        if instance.status in RESENDABLE and request.user.has_perm(INVITE):
            context["url"] = reverse("training_invitations:send_again", args=[instance.pk])
            context["csrf_token"] = get_token(request)
        return context


class InvitationFilterSet(WagtailFilterSet):
    status = django_filters.ChoiceFilter(
        choices=InvitationStatus.choices, widget=forms.RadioSelect, empty_label="Any"
    )
    agency = django_filters.ChoiceFilter(
        choices=Agency.choices, widget=forms.RadioSelect, empty_label="All agencies"
    )

    class Meta:
        model = Invitation
        fields = []


class InvitationIndexView(TrainingPermissionMixin, IndexView):
    """The invitations sent, newest first: read only (a link's token is never shown, and is
    kept only as a hash), with "Send again" for those not accepted."""

    permission = VIEW_INVITATIONS
    any_permission_required = None
    model = Invitation
    page_title = "Invitations"
    header_icon = "mail"
    add_url_name = "training_invite"
    add_item_label = "Invite an auditor"
    filterset_class = InvitationFilterSet
    search_fields = ["email", "first_name", "last_name"]
    search_backend_name = None
    default_ordering = "-created_at"
    list_display = [
        Column("email", label="Email"),
        Column("name", label="Name", accessor=lambda i: f"{i.first_name} {i.last_name}"),
        Column("agency", label="Agency", accessor="get_agency_display"),
        Column(
            "invited_by",
            label="Invited by",
            accessor=lambda i: _name(i.invited_by) if i.invited_by else "",
        ),
        Column(
            "created_at",
            label="Sent",
            accessor=lambda i: date_format(timezone.localtime(i.created_at), DATE_TIME),
            sort_key="created_at",
        ),
        Column(
            "expires_at",
            label="Link expires",
            accessor=lambda i: date_format(timezone.localtime(i.expires_at), DATE_TIME),
            sort_key="expires_at",
        ),
        StatusTagColumn(
            "status",
            label="Status",
            accessor=lambda i: InvitationStatus(i.status).label,
            primary=lambda i: i.status == InvitationStatus.PENDING,
        ),
        SendAgainColumn("send_again", label=""),
    ]

    def get_base_queryset(self):
        return invitations_with_status(timezone.now())


class InvitationSendAgainView(TrainingPermissionMixin, View):
    """Invite the same person again: a new link, and the old one stops working."""

    permission = INVITE
    http_method_names = ["post"]

    def post(self, request, pk):
        invitation = get_object_or_404(invitations_with_status(timezone.now()), pk=pk)
        refusal = {
            InvitationStatus.ACCEPTED: INVITATION_ALREADY_ACCEPTED,
            InvitationStatus.REPLACED: INVITATION_REPLACED,
        }.get(invitation.status)
        if refusal:
            messages.error(request, refusal.format(email=invitation.email))
            return redirect("training_invitations:index")
        try:
            renewed = services.invitation_create(
                email=invitation.email,
                first_name=invitation.first_name,
                last_name=invitation.last_name,
                agency=invitation.agency,
                invited_by=request.user,
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            _invitation_sent(request, renewed)
        return redirect("training_invitations:index")


# Calibration references


@dataclass
class CaseRow:
    """A calibration case with its current reference and how auditors have done on it."""

    case: CalibrationCasePage
    reference: CalibrationReference | None
    recording: bool
    attempts: int
    passed: int

    @property
    def pass_rate(self):
        return self.passed * 100 // self.attempts if self.attempts else None

    @property
    def action_label(self):
        if self.recording:
            return "Carry on recording"
        return "Record again" if self.reference else "Record reference ticks"


def calibration_case_rows(qa_lead):
    """Every calibration case, live or draft, in listed order, with its current reference
    (one query each: cases are few), whether `qa_lead` has a reference under way, and its
    marked attempts and passes."""
    cases = CalibrationCasePage.objects.order_by("path").annotate(
        attempts_marked=Count("attempts", filter=Q(attempts__submitted_at__isnull=False)),
        attempts_passed=Count("attempts", filter=Q(attempts__passed=True)),
    )
    recording = set(
        CalibrationReference.objects.filter(assignment__auditor=qa_lead)
        .exclude(assignment__audit__status=Audit.Status.SUBMITTED)
        .values_list("case_id", flat=True)
    )
    return [
        CaseRow(
            case=case,
            reference=selectors.calibration_reference_current(case),
            recording=case.pk in recording,
            attempts=case.attempts_marked,
            passed=case.attempts_passed,
        )
        for case in cases
    ]


class CalibrationReferencesView(TrainingPermissionMixin, WagtailAdminTemplateMixin, TemplateView):
    """The calibration cases and their references; "Record" opens the real audit form."""

    permission = VIEW_REFERENCES
    template_name = "training/admin/calibration_references.html"
    page_title = "Calibration references"
    header_icon = "tick-inverse"

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            rows=calibration_case_rows(self.request.user),
            may_record=self.request.user.has_perm(RECORD_REFERENCE),
            **kwargs,
        )


class CalibrationReferenceRecordView(TrainingPermissionMixin, View):
    """Start (or carry on) the QA lead's reference audit of a case, in the audit form."""

    permission = RECORD_REFERENCE
    http_method_names = ["post"]

    def post(self, request, pk):
        case = get_object_or_404(CalibrationCasePage, pk=pk)
        try:
            reference = services.calibration_reference_start(case, request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("calibration_references")
        return redirect("audit_overview", reference.assignment_id)
