"""The action screens: My actions for owners and their agency, one action with its history
and the form that moves it on, raising an action from an audit or a moderation case, and the
QA leads' list of every action with filters, counts and a CSV/XLSX download. Views translate
between HTTP and portal.audits.actions (every write) and portal.audits.action_selectors."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.views.decorators.http import require_GET, require_http_methods

from portal.refusal import refused
from portal.training.models import Agency

from . import action_selectors as selectors
from . import actions as services
from .action_forms import ActionFilterForm, ActionRaiseForm, ActionUpdateForm
from .action_resources import FORMATS, actions_export
from .models import Action, Audit, ModerationCase

VIEW_ALL = services.VIEW
VIEW_CASES = "audits.view_moderationcase"
VIEW_AUDITS = "audits.view_audit"

NOT_A_QA_LEAD = "Only QA leads can see every action."
RAISED = "Action {reference} raised for {owner}, due {due}."
UPDATED = "Action {reference} updated: it is now {status}."
NOTE_ADDED = "Your note was added to action {reference}."
REAUDIT_ASSIGNED = "Plan {system_id} has been given to {auditor} to audit again, due {due}."


def _name(user):
    return (user.get_full_name() or user.get_username()) if user else ""


def _day(value):
    return date_format(value, "j F Y")


def _refused(request, message, title, action=None, status=403):
    if action:
        back_url = reverse("action_detail", args=[action.pk])
        back_label = f"Go back to action {action.reference}"
    else:
        back_url, back_label = reverse("my_actions"), "Go to my actions"
    return refused(
        request, message, title=title, back_url=back_url, back_label=back_label, status=status
    )


@require_GET
@login_required
def my_actions(request):
    """The signed-in person's actions and their agency's: open ones first, soonest due."""
    return TemplateResponse(
        request,
        "audits/actions/my_actions.html",
        {"actions": selectors.my_actions(request.user), "today": timezone.localdate()},
    )


def _detail_context(request, action, form):
    can_update = action.is_open and services.may_update(request.user, action)
    return {
        "action": action,
        "history": selectors.action_history(action),
        "form": form if can_update else None,
        "today": timezone.localdate(),
        "moderation_case_url": _moderation_case_url(request.user, action.moderation_case),
    }


def _moderation_case_url(user, case):
    """The moderation screen of `case`, for those who may see it."""
    if case is None or not user.has_perm(VIEW_CASES):
        return None
    return reverse("moderation_case", args=[case.pk])


def _form_errors(form, error):
    """Put a service's ValidationError on the form: on its fields where it names them."""
    if hasattr(error, "error_dict"):
        for field, field_messages in error.message_dict.items():
            for message in field_messages:
                form.add_error(field if field in form.fields else None, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


def _updated_messages(request, action, before):
    if action.status == before:
        messages.success(request, NOTE_ADDED.format(reference=action.reference))
    else:
        messages.success(
            request,
            UPDATED.format(reference=action.reference, status=action.get_status_display().lower()),
        )
    problem = getattr(action, "reaudit_problem", None)
    if problem:
        messages.warning(request, problem)
    elif action.reaudit_assignment_id and action.status == Action.Status.DONE:
        assignment = action.reaudit_assignment
        messages.success(
            request,
            REAUDIT_ASSIGNED.format(
                system_id=assignment.plan.system_id,
                auditor=_name(assignment.auditor),
                due=_day(assignment.due_on),
            ),
        )


@require_http_methods(["GET", "POST"])
@login_required
def action_detail(request, action_id):
    """One action: what is to be done, what it came from, its dated history and, for its
    owner, their agency and QA leads while it is open, the form that moves it on."""
    action = get_object_or_404(
        selectors.actions_visible_to(request.user).select_related(
            "raised_by",
            "audit__assignment__auditor",
            "moderation_case__cycle",
            "reaudit_assignment__auditor",
            "reaudit_assignment__plan",
        ),
        pk=action_id,
    )
    if request.method == "GET":
        form = ActionUpdateForm(initial={"status": action.status, "version": action.version})
        return TemplateResponse(
            request, "audits/actions/action_detail.html", _detail_context(request, action, form)
        )

    title = "You cannot change this action"
    if not services.may_update(request.user, action):
        return _refused(request, services.NOT_YOURS, title, action)
    if not action.is_open:
        return _refused(request, services.ACTION_CLOSED, title, action)
    form = ActionUpdateForm(request.POST)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        before = action.status
        try:
            action = services.action_update(
                action,
                request.user,
                data["version"],
                status=data["status"],
                note=data["note"],
                cancel_reason=data["cancel_reason"],
            )
        except PermissionDenied as refused:
            return _refused(request, str(refused), title, action)
        except ValidationError as invalid:
            _form_errors(form, invalid)
            if getattr(invalid, "code", None) == "changed":
                status = 409
        else:
            _updated_messages(request, action, before)
            return redirect("action_detail", action.pk)
    context = _detail_context(request, action, form)
    context["changed"] = status == 409
    return TemplateResponse(request, "audits/actions/action_detail.html", context, status=status)


def _source(request):
    """The audit or moderation case in the query string that the action comes from:
    (audit, case), either or both None. Unknown, or not the user's to see: 404."""
    audit = case = None
    if request.GET.get("case"):
        if not request.user.has_perm(VIEW_CASES):
            raise Http404
        case = get_object_or_404(
            ModerationCase.objects.select_related("plan", "cycle"),
            pk=_id(request.GET["case"]),
        )
    elif request.GET.get("audit"):
        audits = Audit.objects.of_plans().filter(status=Audit.Status.SUBMITTED)
        if not request.user.has_perm(VIEW_AUDITS):
            # Moderators see audits only as they are moderated.
            audits = audits.filter(moderation_cases__isnull=False).distinct()
        audit = get_object_or_404(
            audits.select_related("assignment__plan", "assignment__auditor", "assignment__cycle"),
            pk=_id(request.GET["audit"]),
        )
    return audit, case


def _id(value):
    if not value.isdigit():
        raise Http404
    return int(value)


def _after_raising(request, action):
    """The new action: whoever raised it may follow it there."""
    return redirect("action_detail", action.pk)


@require_http_methods(["GET", "POST"])
@login_required
def action_raise(request):
    """Raise an action from a moderation case (?case=), an audit's recommendations
    (?audit=, prefilled with them) or neither (a general action, such as reviewing
    templates), for QA leads and moderators."""
    if not request.user.has_perm(services.RAISE):
        return _refused(request, services.NOT_ALLOWED_TO_RAISE, "You cannot raise actions")
    audit, case = _source(request)
    initial = {"description": audit.recommendations} if audit else {}
    form = ActionRaiseForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            action = services.action_raise(
                raised_by=request.user,
                description=data["description"],
                kind=data["kind"],
                agency=data["agency"],
                owner=data["owner"],
                due_on=data["due_on"],
                audit=audit,
                moderation_case=case,
            )
        except PermissionDenied as refused:
            return _refused(request, str(refused), "You cannot raise actions")
        except ValidationError as invalid:
            _form_errors(form, invalid)
        else:
            messages.success(
                request,
                RAISED.format(
                    reference=action.reference, owner=_name(action.owner), due=_day(action.due_on)
                ),
            )
            return _after_raising(request, action)
    recommendations = (
        [item for item in case.audits.select_related("assignment__auditor") if item.recommendations]
        if case
        else []
    )
    return TemplateResponse(
        request,
        "audits/actions/action_raise.html",
        {
            "form": form,
            "audit": audit,
            "case": case,
            "plan": audit.assignment.plan if audit else case.plan if case else None,
            "case_recommendations": recommendations,
            "moderation_case_url": _moderation_case_url(request.user, case),
        },
        status=status,
    )


def _filtered(request):
    """Every action, narrowed by the query string's valid filters; and the filter form."""
    form = ActionFilterForm(request.GET)
    form.is_valid()
    actions = selectors.actions_filtered(
        selectors.actions_visible_to(request.user).select_related("raised_by"), **form.filters()
    )
    return actions, form


def _counts(actions, today):
    """Open and overdue actions among `actions`, per owning agency and in all."""
    is_open = Q(status__in=selectors.OPEN_STATUSES)
    rows = {
        row["agency"]: row
        for row in actions.order_by()
        .values("agency")
        .annotate(
            open=Count("pk", filter=is_open),
            overdue=Count("pk", filter=is_open & Q(due_on__lt=today)),
        )
    }
    agencies = [
        {
            "label": label,
            "open": rows.get(value, {}).get("open", 0),
            "overdue": rows.get(value, {}).get("overdue", 0),
        }
        for value, label in Agency.choices
    ]
    return {
        "agencies": agencies,
        "open": sum(row["open"] for row in agencies),
        "overdue": sum(row["overdue"] for row in agencies),
    }


@require_GET
@login_required
def all_actions(request):
    """Every action for QA leads, filtered by agency, kind, status, overdue and cycle."""
    if not request.user.has_perm(VIEW_ALL):
        return _refused(request, NOT_A_QA_LEAD, "You cannot see every action")
    actions, form = _filtered(request)
    today = timezone.localdate()
    query = request.GET.urlencode()
    return TemplateResponse(
        request,
        "audits/actions/all_actions.html",
        {
            "form": form,
            "actions": actions,
            "counts": _counts(actions, today),
            "today": today,
            "downloads": {
                file_format: reverse("actions_export", args=[file_format])
                + (f"?{query}" if query else "")
                for file_format in FORMATS
            },
            "may_raise": request.user.has_perm(services.RAISE),
        },
        status=400 if form.errors else 200,
    )


@require_GET
@login_required
def actions_export_view(request, file_format):
    """The all-actions list as filtered, as a CSV or XLSX file."""
    if not request.user.has_perm(VIEW_ALL):
        return _refused(request, NOT_A_QA_LEAD, "You cannot see every action")
    if file_format not in FORMATS:
        raise Http404
    actions, form = _filtered(request)
    if form.errors:
        return all_actions(request)
    content_type = FORMATS[file_format]().get_content_type()
    response = HttpResponse(actions_export(actions, file_format), content_type=content_type)
    filename = f"actions-{timezone.localdate():%Y-%m-%d}.{file_format}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
