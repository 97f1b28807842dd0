"""The moderation screens: the queue, one case's audits side by side with the moderator's
decision, and a cycle's agreement figures. Views translate between HTTP and
portal.audits.moderation, through which every write goes; reads come from
portal.audits.moderation_selectors. The auditors' own audits are only ever read here."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from portal.framework.rubric import GRADE_LABELS
from portal.refusal import refused

from .models import AuditCycle, Grade, ModerationCase
from .moderation import CASE_CLOSED, moderation_case_record, moderator_refusal
from .moderation_forms import DecisionForm, QueueFilterForm
from .moderation_selectors import case_comparison, cycle_agreement, moderation_queue

VIEW_CASES = "audits.view_moderationcase"
RAISE_ACTIONS = "audits.add_action"
NOT_ALLOWED_TITLE = "You cannot see moderation"
NOT_ALLOWED = (
    "Only moderators and QA leads can see the moderation queue and the audits in it. "
    "Ask a QA lead if you think you should be able to."
)
REFUSED_TITLE = "You cannot record a decision on this case"
DRAFT_SAVED = "Your decision has been saved as a draft. The case stays open until you close it."
CASE_CLOSED_BANNER = "Case closed: {outcome} ({grade})."
NOT_ENOUGH_DATA = "Not enough data"
# Landis and Koch (1977): how strength of agreement is usually read from a kappa, by its
# lower bound (kappa rounded to the two places shown).
KAPPA_READINGS = (
    (0.81, "almost perfect agreement"),
    (0.61, "substantial agreement"),
    (0.41, "moderate agreement"),
    (0.21, "fair agreement"),
    (0.0, "slight agreement"),
)
LESS_THAN_CHANCE = "less agreement than chance would give"


def moderation_view(view):
    """Signed-in users with the moderation view permission only; anyone else is told why."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.has_perm(VIEW_CASES):
            return refused(
                request,
                NOT_ALLOWED,
                title=NOT_ALLOWED_TITLE,
                back_url=reverse("my_audits"),
                back_label="Go to my audits",
            )
        return view(request, *args, **kwargs)

    return wrapper


@require_GET
@moderation_view
def moderation_queue_view(request):
    """Cases waiting for a moderator or being moderated, oldest first, with the filters."""
    form = QueueFilterForm(request.GET)
    filters = form.filters()
    return TemplateResponse(
        request,
        "audits/moderation/queue.html",
        {
            "form": form,
            "cases": moderation_queue(**filters),
            "showing_closed": filters["status"] == ModerationCase.Status.CLOSED,
            "filtered": any(filters.values()),
            "cycles": AuditCycle.objects.all(),
        },
        status=400 if form.errors else 200,
    )


def _auditor_label(number, audit):
    auditor = audit.assignment.auditor
    name = auditor.get_full_name() or auditor.get_username()
    profile = getattr(auditor, "staff_profile", None)
    agency = f" ({profile.get_agency_display()})" if profile else ""
    return f"Audit {number} – {name}{agency}"


def _disagreements(sections):
    """How many criteria the auditors judged differently, and in how many sections."""
    per_section = [sum(row.disagreement for row in section.criteria) for section in sections]
    return sum(per_section), sum(1 for count in per_section if count)


def _case_page(request, case, form=None, refusal=None, status=200, changed=False, comparison=None):
    audits, sections = comparison or case_comparison(case)
    if refusal is None and case.status != ModerationCase.Status.CLOSED:
        refusal = moderator_refusal(case, request.user)
    if form is None and not refusal and case.status != ModerationCase.Status.CLOSED:
        form = DecisionForm(sections, initial=DecisionForm.initial_for(case))
    criteria, in_sections = _disagreements(sections)
    columns = [
        {"audit": audit, "label": _auditor_label(number, audit)}
        for number, audit in enumerate(audits, start=1)
    ]
    closed = case.status == ModerationCase.Status.CLOSED
    return TemplateResponse(
        request,
        "audits/moderation/case.html",
        {
            "case": case,
            "plan": case.plan,
            "columns": columns,
            "sections": sections,
            "criteria_disagreeing": criteria,
            "sections_disagreeing": in_sections,
            "closed": closed,
            "form": None if closed else form,
            "refusal": refusal,
            "changed": changed,
            "grades": Grade.choices,
            "section_decisions": [
                (section, GRADE_LABELS[case.section_grades[section.key]])
                for section in sections
                if section.key in (case.section_grades or {})
            ],
            "action_raise_url": (
                f"{reverse('action_raise')}?case={case.pk}"
                if request.user.has_perm(RAISE_ACTIONS)
                else None
            ),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@moderation_view
def moderation_case(request, case_id):
    """One case: the plan, why it is moderated, its audits side by side, and the decision
    (the form for a moderator while it is open, read-only once closed)."""
    case = get_object_or_404(
        ModerationCase.objects.select_related("plan", "cycle", "moderator"), pk=case_id
    )
    if request.method == "GET":
        return _case_page(request, case)

    # A post to a closed case (a stale tab, or tampering), or from someone who may not
    # decide it, changes nothing.
    if case.status == ModerationCase.Status.CLOSED:
        return _case_page(request, case, refusal=CASE_CLOSED, status=403)
    refusal = moderator_refusal(case, request.user)
    if refusal:
        return _case_page(request, case, refusal=refusal, status=403)

    comparison = case_comparison(case)
    form = DecisionForm(comparison[1], request.POST)
    if not form.is_valid():
        return _case_page(request, case, form=form, status=400, comparison=comparison)
    closing = request.POST.get("then") == "close"
    try:
        case = moderation_case_record(
            case,
            request.user,
            form.cleaned_data["version"],
            grade=form.cleaned_data["grade"],
            section_grades=form.section_grades(),
            rationale=form.cleaned_data["rationale"],
            close=closing,
        )
    except PermissionDenied as refused:
        case.refresh_from_db()
        return _case_page(request, case, refusal=str(refused), status=403)
    except ValidationError as invalid:
        if getattr(invalid, "code", None) == "changed":
            form.add_error(None, invalid.message)
            case.refresh_from_db()
            return _case_page(request, case, form=form, status=409, changed=True)
        form.add_decision_errors(invalid)
        return _case_page(request, case, form=form, status=400, comparison=comparison)
    if closing:
        messages.success(
            request,
            CASE_CLOSED_BANNER.format(
                outcome=case.get_outcome_display(), grade=case.get_moderated_grade_display()
            ),
        )
    else:
        messages.success(request, DRAFT_SAVED)
    return redirect("moderation_case", case.pk)


def _percent(share):
    """A share from 0 to 1 as a percentage, to one place where it is not whole."""
    if share is None:
        return None
    value = round(share * 100, 1)
    return f"{value:g}%"


def kappa_reading(kappa):
    """Kappa to two places and how it reads (Landis and Koch), or None."""
    if kappa is None:
        return None
    shown = round(kappa, 2) + 0.0  # + 0.0: never "-0.00"
    for lower, reading in KAPPA_READINGS:
        if shown >= lower:
            return {"value": f"{shown:.2f}", "reading": reading}
    return {"value": f"{shown:.2f}", "reading": LESS_THAN_CHANCE}


@require_GET
@moderation_view
def cycle_agreement_view(request, cycle_id):
    """A cycle's inter-rater agreement on double-audited plans, its moderation outcomes, and
    how moderation moved each auditor's grades."""
    cycle = get_object_or_404(AuditCycle, pk=cycle_id)
    figures = cycle_agreement(cycle)
    double = figures["double_audits"]
    return TemplateResponse(
        request,
        "audits/moderation/agreement.html",
        {
            "cycle": cycle,
            "figures": figures,
            "pairs": double["pairs"],
            "exact": _percent(double["exact"]),
            "exact_count": round((double["exact"] or 0) * double["pairs"]),
            "within_one": _percent(double["within_one"]),
            "within_one_count": round((double["within_one"] or 0) * double["pairs"]),
            "kappa": kappa_reading(double["kappa_quadratic"]),
            "not_enough_data": NOT_ENOUGH_DATA,
        },
    )
