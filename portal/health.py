"""A health check for load balancers and uptime monitors: GET /healthz answers "ok" when the
portal's WSGI process is up and serving. It touches neither the database nor the session, so
it sets no cookies and stays cheap enough to poll every few seconds (and serves as the
trivial-view baseline in `make bench`)."""

from django.http import HttpResponse
from django.views.decorators.http import require_GET


@require_GET
def healthz(request):
    """200 "ok" as plain text: the process is up and Django is answering."""
    return HttpResponse("ok", content_type="text/plain")
