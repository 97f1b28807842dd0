"""A QA lead changes the rubric without a developer: add a criterion, change a weight, submit
for approval, have another QA lead approve (publishing it), and roll back."""

import json

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Revision

from portal.framework.services import rubric_export
from portal.framework.tasks import publish_scheduled_pages

from ..admin_forms import rubric_edit_form_data

pytestmark = pytest.mark.django_db


def public_rubric(client, page):
    response = client.get(page.url + "rubric.json")
    assert response.status_code == 200
    return json.loads(response.content)


def edited(data):
    """The QA lead's change: a new criterion in section A, and A2 weighted 2 instead of 1."""
    sections = {section["key"]: section for section in data["sections"]}
    sections["A"]["criteria"][1]["weight"] = 2
    sections["A"]["criteria"].append(
        {
            "key": "",
            "text": "The plan says how the child's views were gathered.",
            "weight": 1,
            "essential": False,
            "guidance": "Look for the method: conversation, drawing, observation.",
        }
    )
    return data


def approve(client, user, page):
    client.force_login(user)
    task_state = page.current_workflow_task_state
    return client.post(
        reverse(
            "wagtailadmin_pages:workflow_action",
            args=[page.pk, "approve", task_state.pk],
        ),
        {"comment": "Checked against the standards."},
    )


def submit(client, user, page, data, **extra):
    client.force_login(user)
    response = client.post(
        reverse("wagtailadmin_pages:edit", args=[page.pk]),
        rubric_edit_form_data(page, data, action="action-submit", **extra),
    )
    assert response.status_code == 302, response.context["form"].errors if response.context else ""
    page.refresh_from_db()
    return response


def test_qa_lead_edits_gets_approval_publishes_and_rolls_back(
    client, rubric_page, qa_lead, second_qa_lead
):
    original = rubric_export(rubric_page)
    original_revision = rubric_page.live_revision

    # The QA lead sees the editor and has no direct "Publish": publishing needs approval.
    client.force_login(qa_lead)
    response = client.get(reverse("wagtailadmin_pages:edit", args=[rubric_page.pk]))
    assert response.status_code == 200
    assert b'name="action-publish"' not in response.content
    assert b'name="action-submit"' in response.content

    mail.outbox.clear()
    submit(client, qa_lead, rubric_page, edited(rubric_export(rubric_page)))

    # Submitted, not yet public; the new criterion was given the section's next key.
    assert rubric_page.workflow_in_progress
    draft = rubric_export(rubric_page.get_latest_revision_as_object())
    criteria = draft["sections"][0]["criteria"]
    assert [c["key"] for c in criteria] == ["A1", "A2", "A3"]
    assert criteria[1]["weight"] == 2
    live = public_rubric(client, rubric_page)
    assert [c["key"] for c in live["sections"][0]["criteria"]] == ["A1", "A2"]

    # The other QA lead is told by email; the submitter is not.
    recipients = {address for message in mail.outbox for address in message.to}
    assert second_qa_lead.email in recipients
    assert qa_lead.email not in recipients

    # The submitter cannot approve their own change.
    response = approve(client, qa_lead, rubric_page)
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        # Wagtail's admin answers a refused action by sending the user back with a message.
        notices = [str(message) for message in get_messages(response.wsgi_request)]
        assert any("permission" in notice for notice in notices), notices
    rubric_page.refresh_from_db()
    assert rubric_page.workflow_in_progress
    assert rubric_page.live_revision == original_revision

    # Another QA lead approves: the change is published.
    response = approve(client, second_qa_lead, rubric_page)
    assert response.status_code in (200, 302)
    rubric_page.refresh_from_db()
    assert not rubric_page.workflow_in_progress
    live = public_rubric(client, rubric_page)
    assert [c["key"] for c in live["sections"][0]["criteria"]] == ["A1", "A2", "A3"]
    assert live["sections"][0]["criteria"][1]["weight"] == 2
    assert rubric_page.live_revision.user == qa_lead

    # Roll back: the QA lead reopens the original revision in the editor ...
    client.force_login(qa_lead)
    response = client.get(
        reverse("wagtailadmin_pages:revisions_revert", args=[rubric_page.pk, original_revision.pk])
    )
    assert response.status_code == 200
    # ... and submits it; once approved, the public rubric is the original again.
    old = rubric_export(Revision.objects.get(pk=original_revision.pk).as_object())
    submit(client, qa_lead, rubric_page, old)
    approve(client, second_qa_lead, rubric_page)
    rubric_page.refresh_from_db()
    live = public_rubric(client, rubric_page)
    assert live["sections"] == original["sections"]
    assert live["thresholds"] == original["thresholds"]
    # Every step is kept: original, the change, the rollback.
    assert rubric_page.revisions.count() >= 3


def test_qa_lead_schedules_a_rubric_change(client, rubric_page, qa_lead, second_qa_lead):
    go_live = timezone.localtime() + timezone.timedelta(days=1)
    submit(
        client,
        qa_lead,
        rubric_page,
        edited(rubric_export(rubric_page)),
        go_live_at=go_live.strftime("%Y-%m-%d %H:%M"),
    )
    approve(client, second_qa_lead, rubric_page)
    rubric_page.refresh_from_db()

    # Approved but scheduled: the public rubric stays as it was until the go-live time.
    scheduled = rubric_page.revisions.filter(approved_go_live_at__isnull=False).get()
    assert [c["key"] for c in public_rubric(client, rubric_page)["sections"][0]["criteria"]] == [
        "A1",
        "A2",
    ]
    publish_scheduled_pages()
    assert len(public_rubric(client, rubric_page)["sections"][0]["criteria"]) == 2

    # When the time comes, the scheduled publishing task (Celery beat) publishes it.
    # (Time passes: move the go-live time, in the revision and its approval, into the past.)
    past = timezone.now() - timezone.timedelta(minutes=1)
    scheduled.content["go_live_at"] = past.isoformat()
    scheduled.approved_go_live_at = past
    scheduled.save(update_fields=["content", "approved_go_live_at"])
    publish_scheduled_pages()
    assert [c["key"] for c in public_rubric(client, rubric_page)["sections"][0]["criteria"]] == [
        "A1",
        "A2",
        "A3",
    ]
