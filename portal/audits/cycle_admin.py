"""QA leads' actions on a cycle in the admin: draw its sample, share the sampled plans among
auditors, and see the sample with who holds each plan. The views translate between HTTP and
portal.audits.cycles; only users who may change cycles (QA leads) reach them."""

from collections import Counter, defaultdict

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.views.generic import FormView, View
from wagtail.admin.views.generic import InspectView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.widgets import AdminDateInput, HeaderButton

from portal.framework.roles import AUDITOR

from . import cycles
from .models import AuditCycle

SAMPLE_DRAWN = "Sample drawn for “{cycle}”: {count} plans, {double} of them audited twice."
PLANS_ASSIGNED = "Assigned {count} audits in “{cycle}”."


def cycle_sample_rows(cycle):
    """The cycle's sampled plans in system ID order, each with the auditors holding it."""
    holders = defaultdict(list)
    for assignment in cycle.assignments.select_related("auditor").order_by("auditor__username"):
        holders[assignment.plan_id].append(assignment.auditor)
    return [
        {"sampled": sampled, "auditors": holders[sampled.plan_id]}
        for sampled in cycle.sample.select_related("plan").order_by("plan__system_id")
    ]


def _auditor_name(user):
    return user.get_full_name() or user.get_username()


class AuditorChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return _auditor_name(obj)


class CycleAssignForm(forms.Form):
    auditors = AuditorChoiceField(
        queryset=get_user_model().objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="The sampled plans are shared among these auditors, evening out their load. "
        "Only auditors with a current accreditation are listed.",
    )
    due_on = forms.DateField(label="Due by", widget=AdminDateInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["auditors"].queryset = (
            get_user_model()
            .objects.filter(
                groups__name=AUDITOR,
                is_active=True,
                accreditations__expires_on__gte=timezone.localdate(),
            )
            .order_by("last_name", "first_name", "username")
            .distinct()
        )


class CycleActionMixin(PermissionCheckedMixin):
    """A QA-lead action on one cycle: needs the permission to change cycles."""

    model = AuditCycle
    permission_required = "change"
    inspect_url_name = None
    header_icon = "date"

    @cached_property
    def cycle(self):
        return get_object_or_404(AuditCycle, pk=self.kwargs["pk"])

    def inspect_url(self):
        return reverse(self.inspect_url_name, args=[self.cycle.pk])


class CycleInspectView(InspectView):
    """A cycle's details, then its sample; QA leads get "Draw sample" and "Assign plans"."""

    draw_sample_url_name = None
    assign_url_name = None

    @cached_property
    def may_act(self):
        return self.user_has_permission("change")

    @cached_property
    def header_buttons(self):
        buttons = list(super().header_buttons)
        if self.may_act and self.assign_url_name:
            buttons.append(
                HeaderButton(
                    "Assign plans",
                    url=reverse(self.assign_url_name, args=[self.object.pk]),
                    icon_name="user",
                )
            )
        return buttons

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["sample_rows"] = cycle_sample_rows(self.object)
        context["sample_locked"] = self.object.assignments.exists()
        if self.may_act:
            context["draw_sample_url"] = reverse(self.draw_sample_url_name, args=[self.object.pk])
            context["assign_url"] = reverse(self.assign_url_name, args=[self.object.pk])
        return context


class CycleDrawSampleView(CycleActionMixin, View):
    """Draw (or redraw) the cycle's sample; refused once its plans are assigned."""

    http_method_names = ["post"]

    def post(self, request, pk):
        try:
            sample = cycles.cycle_draw_sample(self.cycle, user=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                SAMPLE_DRAWN.format(
                    cycle=self.cycle,
                    count=len(sample),
                    double=sum(sampled.double_audit for sampled in sample),
                ),
            )
        return redirect(self.inspect_url())


class CycleAssignView(CycleActionMixin, WagtailAdminTemplateMixin, FormView):
    """Choose auditors and a due date; the sample's plans are shared among them and the
    page then shows what each auditor got, the plans left uncovered and who was refused."""

    template_name = "audits/admin/cycle_assign.html"
    form_class = CycleAssignForm
    page_title = "Assign plans"

    def get_page_subtitle(self):
        return str(self.cycle)

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("cycles:index"), "label": "Cycles"},
            {"url": self.inspect_url(), "label": str(self.cycle)},
            {"url": "", "label": self.page_title},
        ]

    def form_valid(self, form):
        try:
            result = cycles.cycle_assign(
                self.cycle,
                form.cleaned_data["auditors"],
                form.cleaned_data["due_on"],
                assigned_by=self.request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        messages.success(
            self.request, PLANS_ASSIGNED.format(count=len(result.created), cycle=self.cycle)
        )
        per_auditor = Counter(assignment.auditor for assignment in result.created)
        return self.render_to_response(
            self.get_context_data(
                form=form,
                result=result,
                per_auditor=[
                    (_auditor_name(auditor), count)
                    for auditor, count in sorted(
                        per_auditor.items(), key=lambda item: _auditor_name(item[0])
                    )
                ],
                refused=[(_auditor_name(auditor), reason) for auditor, reason in result.refused],
            )
        )

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            cycle=self.cycle,
            inspect_url=self.inspect_url(),
            sample_size=self.cycle.sample.count(),
            **kwargs,
        )
