"""The auditor's screens: My audits, and one audit recorded section by section, then its
findings, reviewed and submitted. Views translate between HTTP and portal.audits.recording,
through which every write goes; reads come from portal.audits.selectors."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.refusal import refused

from .forms import FindingsForm, GradePreviewForm, SectionForm, SubmitForm
from .models import Audit
from .recording import (
    ALREADY_SUBMITTED,
    NO_PUBLISHED_RUBRIC,
    AuditChanged,
    audit_save_findings,
    audit_save_section,
    audit_start,
    audit_submit,
)
from .selectors import (
    assignments_for_auditor,
    audit_progress,
    derived_grade_sentence,
    section_exemplars,
    section_grade_preview,
    viewable_assignments,
)

SAVED_AS_DRAFT = "Your audit has been saved as a draft. You can come back to it at any time."
SUBMITTED = "Audit submitted. The portal recorded an overall grade of {grade}."


def _refused(request, message, status=403, title="You cannot change this audit"):
    return refused(
        request,
        message,
        title=title,
        back_url=reverse("my_audits"),
        back_label="Go to my audits",
        status=status,
    )


def audit_view(view):
    """Open the audit of the assignment in the URL for its auditor: 404 unless the user was
    granted the assignment, 403 (with the reason) when they may see it but not record it.
    The audit is started, under the live rubric, the first time it is opened."""

    @login_required
    @wraps(view)
    def wrapper(request, assignment_id, **kwargs):
        assignment = get_object_or_404(
            viewable_assignments(request.user).select_related("plan", "cycle", "calibration_case"),
            pk=assignment_id,
        )
        try:
            audit = audit_start(assignment, request.user)
        except PermissionDenied as refused:
            return _refused(request, str(refused))
        except ValueError as problem:
            if str(problem) != NO_PUBLISHED_RUBRIC:
                raise
            return _refused(request, str(problem), status=409, title="This audit cannot start yet")
        audit.assignment = assignment  # with its plan and cycle, already loaded
        try:
            return view(request, audit, **kwargs)
        except PermissionDenied as refused:
            return _refused(request, str(refused))

    return wrapper


def _case_text(assignment, key):
    """A calibration case's text for section `key`: the plan the learner audits."""
    if not assignment.calibration_case_id:
        return None
    return assignment.calibration_case.section_text(key)


def _context(audit, progress, **extra):
    return {"audit": audit, "assignment": audit.assignment, "progress": progress, **extra}


@require_GET
@login_required
def my_audits(request):
    """The plans assigned to the signed-in auditor, with each audit's status and due date."""
    return TemplateResponse(
        request,
        "audits/my_audits.html",
        {
            "rows": assignments_for_auditor(request.user),
            "has_staff_area": request.user.has_perm("wagtailadmin.access_admin"),
        },
    )


@require_GET
@audit_view
def audit_overview(request, audit):
    """Every section's status and grade so far; once submitted, the audit as recorded."""
    if audit.status == Audit.Status.SUBMITTED and audit.assignment.calibration_case_id:
        # Training: the learner sees how their ticks compare with the reference.
        return redirect("calibration_result", audit.assignment_id)
    progress = audit_progress(audit)
    if audit.status == Audit.Status.SUBMITTED:
        return TemplateResponse(request, "audits/audit_submitted.html", _context(audit, progress))
    return TemplateResponse(request, "audits/audit_overview.html", _context(audit, progress))


def _after_save(request, audit, next_url):
    """On to the next step, or ("Save as draft and come back later") back to the overview."""
    if request.POST.get("then") != "later":
        return redirect(next_url)
    messages.success(request, SAVED_AS_DRAFT)
    return redirect("audit_overview", audit.assignment_id)


@require_http_methods(["GET", "POST"])
@audit_view
def audit_section(request, audit, key):
    """One section of the rubric: its criteria to tick, not applicable where allowed, a note."""
    progress = audit_progress(audit)
    current = progress.section(key)
    if current is None:
        raise Http404
    context = _context(audit, progress, current=current)
    if audit.status == Audit.Status.SUBMITTED:
        # Read-only; a post to it (a stale tab, or tampering) changes nothing.
        refused = request.method == "POST"
        context["refused"] = ALREADY_SUBMITTED if refused else None
        return TemplateResponse(
            request, "audits/audit_section_submitted.html", context, status=403 if refused else 200
        )

    form = SectionForm(
        current.section,
        request.POST if request.method == "POST" else None,
        initial={
            "met": sorted(current.met),
            "not_applicable": current.status == "not_applicable",
            "note": current.note,
            "version": audit.version,
        },
    )
    status = 400 if request.method == "POST" else 200
    grade_sentence = current.grade_sentence
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            audit_save_section(
                audit,
                request.user,
                data["version"],
                key,
                met=data["met"],
                not_applicable=data["not_applicable"],
                note=data["note"],
            )
        except AuditChanged as changed:
            form.add_error(None, str(changed))
            status = 409
            # The grade beside the ticks the auditor is shown again (theirs, not saved).
            grade_sentence = derived_grade_sentence(
                section_grade_preview(
                    audit, key, met=data["met"], not_applicable=data["not_applicable"]
                )
            )
        except ValueError as invalid:
            form.add_error("met", str(invalid))
            status = 400
        else:
            _, after = progress.neighbours(key)
            next_url = (
                reverse("audit_section", args=[audit.assignment_id, after.key])
                if after
                else reverse("audit_findings", args=[audit.assignment_id])
            )
            return _after_save(request, audit, next_url)
    before, _ = progress.neighbours(key)
    context.update(
        form=form,
        previous=before,
        exemplars=section_exemplars(current.section),
        case_text=_case_text(audit.assignment, key),
        grade_sentence=grade_sentence,
        changed=status == 409,
    )
    return TemplateResponse(request, "audits/audit_section.html", context, status=status)


@require_http_methods(["GET", "POST"])
@audit_view
def audit_findings(request, audit):
    """The audit's strengths, recommendations and summary."""
    if audit.status == Audit.Status.SUBMITTED:
        if request.method == "POST":
            raise PermissionDenied(ALREADY_SUBMITTED)
        return redirect("audit_overview", audit.assignment_id)
    progress = audit_progress(audit)
    form = FindingsForm(
        request.POST if request.method == "POST" else None,
        initial={
            "strengths": audit.strengths,
            "recommendations": audit.recommendations,
            "summary": audit.summary,
            "version": audit.version,
        },
    )
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            audit_save_findings(
                audit,
                request.user,
                data["version"],
                strengths=data["strengths"],
                recommendations=data["recommendations"],
                summary=data["summary"],
            )
        except AuditChanged as changed:
            form.add_error(None, str(changed))
            status = 409
        else:
            return _after_save(request, audit, reverse("audit_review", args=[audit.assignment_id]))
    context = _context(
        audit, progress, form=form, previous=progress.sections[-1], changed=status == 409
    )
    return TemplateResponse(request, "audits/audit_findings.html", context, status=status)


@require_http_methods(["GET", "POST"])
@audit_view
def audit_review(request, audit):
    """Everything recorded, with the grades the portal derives, and the submit button."""
    if audit.status == Audit.Status.SUBMITTED:
        if request.method == "POST":
            raise PermissionDenied(ALREADY_SUBMITTED)
        return redirect("audit_overview", audit.assignment_id)
    progress = audit_progress(audit)
    form = SubmitForm(
        request.POST if request.method == "POST" else None,
        initial={"version": audit.version},
    )
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        try:
            audit = audit_submit(audit, request.user, form.cleaned_data["version"])
        except AuditChanged as changed:
            form.add_error(None, str(changed))
            status = 409
        except ValueError as invalid:
            form.add_error(None, str(invalid))
            status = 400
        else:
            if audit.assignment.calibration_case_id:
                return redirect("calibration_result", audit.assignment_id)
            grade = audit.get_overall_grade_display()
            messages.success(request, SUBMITTED.format(grade=grade))
            return redirect("audit_overview", audit.assignment_id)
    context = _context(audit, progress, form=form, changed=status == 409)
    return TemplateResponse(request, "audits/audit_review.html", context, status=status)


@require_POST
@login_required
def audit_grade_preview(request, assignment_id):
    """The grade one section's posted ticks would earn, as JSON, for the form's live grade.
    Nothing is stored; ticks the rubric does not allow are refused (400) as saving would."""
    assignment = get_object_or_404(viewable_assignments(request.user), pk=assignment_id)
    try:
        audit = audit_start(assignment, request.user)
    except PermissionDenied as refused:
        return JsonResponse({"error": str(refused)}, status=403)
    except ValueError as problem:  # no published rubric to start under
        return JsonResponse({"error": str(problem)}, status=409)
    if audit.status == Audit.Status.SUBMITTED:
        return JsonResponse({"error": ALREADY_SUBMITTED}, status=403)
    form = GradePreviewForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"error": form.errors.as_text()}, status=400)
    data = form.cleaned_data
    try:
        graded = section_grade_preview(
            audit, data["section"], met=data["met"], not_applicable=data["not_applicable"]
        )
    except ValueError as invalid:
        return JsonResponse({"error": str(invalid)}, status=400)
    return JsonResponse(
        {"section": data["section"], **graded, "text": derived_grade_sentence(graded)}
    )
