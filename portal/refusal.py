"""The page shown when a signed-in person may not do what they asked: what, why, and the
way back. One template serves every app's screens."""

from django.template.response import TemplateResponse


def refused(request, message, *, title, back_url, back_label, status=403):
    return TemplateResponse(
        request,
        "refused.html",
        {"title": title, "message": message, "back_url": back_url, "back_label": back_label},
        status=status,
    )
