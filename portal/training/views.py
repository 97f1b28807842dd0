"""The learner's screens: My training, completing a module or passing its knowledge check,
starting a calibration case and seeing how it compared with the reference, and accepting an
invitation. Views translate between HTTP and portal.training.services, through which every
write goes; reads come from portal.training.selectors (and portal.audits.selectors)."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.audits.models import Audit
from portal.audits.selectors import audit_progress, viewable_assignments
from portal.framework.rubric import GRADE_LABELS
from portal.refusal import refused

from . import services
from .forms import InvitationPasswordForm, KnowledgeCheckForm
from .marking import check_answers
from .models import (
    CalibrationAttempt,
    CalibrationReference,
    KnowledgeCheckAttempt,
    TrainingIndexPage,
    TrainingModulePage,
)
from .selectors import training_progress

MODULE_COMPLETED = "You have completed “{title}”."
WELCOME = "Welcome, {name}. Your password is set and you are signed in."
MODULE_REFUSED_TITLE = "This module is not part of your training"
JUDGEMENTS = {
    "met": "Met",
    "not_met": "Not met",
    "not_applicable": "Section not applicable",
}


def _refused(request, message, title=MODULE_REFUSED_TITLE, status=403):
    return refused(
        request,
        message,
        title=title,
        back_url=reverse("my_training"),
        back_label="Go to my training",
        status=status,
    )


def _live_module(page_id):
    return get_object_or_404(TrainingModulePage.objects.live(), pk=page_id)


def _calibration_refusal(progress):
    """Why the learner cannot start a calibration case yet, in the service's words."""
    if progress.can_start_calibration:
        return None
    if not progress.modules_done:
        modules = ", ".join(row.module.title for row in progress.required_remaining)
        return services.MODULES_FIRST.format(modules=modules)
    return services.NO_CASE_LEFT


@require_GET
@login_required
def my_training(request):
    """The learner's accreditation, what they must still do before they can audit, their
    modules and their calibration cases."""
    progress = training_progress(request.user)
    return TemplateResponse(
        request,
        "training/my_training.html",
        {
            "progress": progress,
            "calibration_refusal": _calibration_refusal(progress),
            "training_index": TrainingIndexPage.objects.live().first(),
        },
    )


@require_POST
@login_required
def module_complete(request, page_id):
    """Mark a module without a knowledge check complete, and go back to it."""
    module = _live_module(page_id)
    try:
        services.module_complete(module, request.user)
    except PermissionDenied as refused:
        return _refused(request, str(refused))
    except ValidationError as invalid:
        messages.error(request, invalid.messages[0])
    else:
        messages.success(request, MODULE_COMPLETED.format(title=module.title))
    return redirect(module.get_url(request))


@require_POST
@login_required
def knowledge_check(request, page_id):
    """Mark the learner's answers and show how they did; a question left unanswered shows
    the module again with the error, and nothing is recorded."""
    module = _live_module(page_id)
    form = KnowledgeCheckForm(services.knowledge_check_questions(module), request.POST)
    if form.is_valid():
        try:
            attempt = services.knowledge_check_take(module, request.user, form.answers())
        except PermissionDenied as refused:
            return _refused(request, str(refused))
        except ValidationError as invalid:  # the module has no questions (any more)
            messages.error(request, invalid.messages[0])
            return redirect(module.get_url(request))
        return redirect("knowledge_check_result", module.pk, attempt.pk)
    context = {**module.get_context(request), "check_form": form}
    return TemplateResponse(request, module.get_template(request), context, status=400)


def _questions_marked(attempt):
    """The questions of the check as the learner took it (the module's revision then), each
    with the options they chose and whether they were right."""
    taken = attempt.revision.as_object() if attempt.revision_id else attempt.module
    questions = [
        question
        for question in services.knowledge_check_questions(taken)
        if question["id"] in attempt.answers
    ]
    marked = check_answers(questions, attempt.answers)
    return [
        {
            "number": number,
            "question": question["question"],
            "chosen": [question["options"][index]["text"] for index in outcome["chosen"]],
            "right": outcome["right"],
            "explanation": question["explanation"],
        }
        for number, (question, outcome) in enumerate(
            zip(questions, marked["outcomes"], strict=True), start=1
        )
    ]


@require_GET
@login_required
def knowledge_check_result(request, page_id, attempt_id):
    """One of the learner's own tries at a knowledge check: score, pass or not, and each
    question marked with its explanation."""
    attempt = get_object_or_404(
        KnowledgeCheckAttempt.objects.select_related("module", "revision"),
        pk=attempt_id,
        module_id=page_id,
        learner=request.user,
    )
    return TemplateResponse(
        request,
        "training/knowledge_check_result.html",
        {"attempt": attempt, "module": attempt.module, "questions": _questions_marked(attempt)},
    )


@require_POST
@login_required
def calibration_start(request):
    """Open the learner's calibration case in the audit form: the one they have open, or
    the next case they have not tried."""
    try:
        attempt = services.calibration_start(request.user)
    except ValidationError as refused:
        messages.error(request, refused.messages[0])
        return redirect("my_training")
    return redirect("audit_overview", attempt.assignment_id)


def _grade_label(grade):
    return GRADE_LABELS.get(grade, "Not applicable")


def _comparison_in_words(comparison):
    """The stored comparison's grades and judgements in words, keeping only the sections
    where the learner and the reference differ."""
    sections = []
    for section in comparison["sections"]:
        if section["matched"] and not section["differences"]:
            continue
        differences = [
            {
                **difference,
                "reference_label": JUDGEMENTS[difference["reference"]],
                "given_label": JUDGEMENTS[difference["given"]],
            }
            for difference in section["differences"]
        ]
        sections.append(
            {
                **section,
                "reference_grade_label": _grade_label(section["reference_grade"]),
                "grade_label": _grade_label(section["grade"]),
                "differences": differences,
            }
        )
    overall = comparison["overall"]
    return {
        **comparison,
        "overall": {
            **overall,
            "reference_grade_label": _grade_label(overall["reference_grade"]),
            "grade_label": _grade_label(overall["grade"]),
        },
        "sections": sections,
    }


@require_GET
@login_required
def calibration_result(request, assignment_id):
    """How a learner's calibration audit compared with the reference (only for that
    learner), or the reference a QA lead recorded (only for them); 404 for anyone else."""
    assignment = get_object_or_404(
        viewable_assignments(request.user).filter(calibration_case__isnull=False),
        pk=assignment_id,
    )
    attempt = (
        CalibrationAttempt.objects.filter(assignment=assignment, learner=request.user)
        .select_related("case", "reference__assignment__auditor")
        .first()
    )
    if attempt is not None:
        if attempt.submitted_at is None:
            return redirect("audit_overview", assignment.pk)
        return TemplateResponse(
            request,
            "training/calibration_result.html",
            {
                "attempt": attempt,
                "comparison": _comparison_in_words(attempt.comparison),
                "accreditation": getattr(attempt, "accreditation", None),
            },
        )
    reference = get_object_or_404(
        CalibrationReference.objects.select_related("case", "assignment__audit"),
        assignment=assignment,
        assignment__auditor=request.user,
    )
    audit = getattr(reference.assignment, "audit", None)
    if audit is None or audit.status != Audit.Status.SUBMITTED:
        return redirect("audit_overview", assignment.pk)
    audit.assignment = reference.assignment
    return TemplateResponse(
        request,
        "training/calibration_result.html",
        {"reference": reference, "audit": audit, "progress": audit_progress(audit)},
    )


def _referrer_same_origin(view):
    """The page's address carries a secret (the invitation token): it is sent on as a
    referrer only to the portal itself, never to anything else the page links to or loads.
    (Not "no-referrer": browsers then send the form's POST with Origin "null", which
    Django's CSRF check rightly refuses.)"""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    return wrapper


def _invitation_invalid(request, invalid):
    """An unknown link is not found (404); a used or expired one is gone (410)."""
    message = str(invalid)
    return TemplateResponse(
        request,
        "training/invitation_invalid.html",
        {"message": message},
        status=404 if message == services.INVITATION_UNKNOWN else 410,
    )


@never_cache
@_referrer_same_origin
@require_http_methods(["GET", "POST"])
def invitation_accept(request, token):
    """Set a password from an invitation link; the new auditor is then signed in and lands
    on My training."""
    try:
        invitation = services.invitation_for_token(token)
    except services.InvitationInvalid as invalid:
        return _invitation_invalid(request, invalid)
    form = InvitationPasswordForm(
        invitation.user, request.POST if request.method == "POST" else None
    )
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(token, form.cleaned_data["new_password1"])
        except services.InvitationInvalid as invalid:  # used at the same moment elsewhere
            return _invitation_invalid(request, invalid)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, WELCOME.format(name=user.get_full_name() or user.email))
        return redirect("my_training")
    return TemplateResponse(
        request,
        "training/invitation_accept.html",
        {"invitation": invitation, "form": form},
        status=400 if request.method == "POST" else 200,
    )
