"""The rubric as JSON: the public download, and admin screens to export and import it."""

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from wagtail.models import Page, Revision

from .forms import NewRubricImportForm, RubricImportForm
from .models import HomePage, RubricPage
from .selectors import published_rubric
from .services import (
    IMPORTED_AS_DRAFT,
    UNMATCHED_EXEMPLARS,
    rubric_create,
    rubric_export,
    rubric_import,
)


def rubric_json_response(rubric, filename):
    response = HttpResponse(
        json.dumps(rubric_export(rubric), indent=2, ensure_ascii=False),
        content_type="application/json; charset=utf-8",
    )
    if filename:
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def public_rubric_json(request, page_path):
    """The published rubric at <rubric page URL>rubric.json, so anyone can see (and other
    areas can reuse) what plans are judged against."""
    page = Page.find_for_request(request, page_path)
    rubric = published_rubric(page.pk) if page is not None else None
    if rubric is None:
        raise Http404
    return rubric_json_response(rubric, filename=None)


def _editable_rubric(request, page_id):
    page = get_object_or_404(RubricPage, pk=page_id)
    if not page.permissions_for_user(request.user).can_edit():
        raise PermissionDenied
    return page


def export_view(request, page_id):
    """Download the rubric as JSON: the latest draft, or ?revision=<id>."""
    page = _editable_rubric(request, page_id)
    revision_id = request.GET.get("revision")
    if revision_id:
        if not revision_id.isdecimal():
            raise Http404
        revision = get_object_or_404(
            Revision.page_revisions, object_id=str(page.pk), pk=revision_id
        )
        rubric, label = revision.as_object(), f"revision-{revision.pk}"
    else:
        rubric, label = page.get_latest_revision_as_object(), "latest"
    return rubric_json_response(rubric, f"{page.slug}-{label}.json")


def _report(request, unmatched):
    messages.success(request, IMPORTED_AS_DRAFT)
    if unmatched:
        messages.warning(request, UNMATCHED_EXEMPLARS.format(slugs=", ".join(unmatched)))


def import_view(request, page_id):
    """Replace the rubric's draft with an uploaded file, as a new revision."""
    page = _editable_rubric(request, page_id)
    form = RubricImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            _, unmatched = rubric_import(page, form.cleaned_data["file"], user=request.user)
        except ValidationError as error:
            # Rules that need the page's history, such as a key taken from a removed criterion.
            form.add_error(None, error.messages)
        else:
            _report(request, unmatched)
            return redirect("wagtailadmin_pages:edit", page.pk)
    return TemplateResponse(
        request,
        "framework/admin/rubric_import.html",
        {"form": form, "page": page, "title": f"Import into “{page.title}”"},
    )


def import_new_view(request):
    """Create a new draft rubric page under the home page from an uploaded file."""
    home = HomePage.objects.first()
    if home is None or not home.permissions_for_user(request.user).can_add_subpage():
        raise PermissionDenied
    form = NewRubricImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data["file"]
        try:
            rubric, unmatched = rubric_create(
                home, form.cleaned_data["title"], data, user=request.user
            )
        except ValidationError as error:
            # For example a title whose address is already taken by another page.
            form.add_error(None, error.messages)
        else:
            _report(request, unmatched)
            return redirect("wagtailadmin_pages:edit", rubric.pk)
    return TemplateResponse(
        request,
        "framework/admin/rubric_import.html",
        {"form": form, "page": None, "title": "Import a new rubric"},
    )
