"""The roles exist after migrate, with the permissions the design gives them."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse
from wagtail.models import Page, WorkflowPage

from portal.framework.roles import APPROVAL_WORKFLOW, QA_LEAD, ROLES, roles_sync

pytestmark = pytest.mark.django_db


def test_every_role_is_a_group_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES)
    # Wagtail's stock "Moderators" group would be confused with the Moderator role.
    assert not Group.objects.filter(name="Moderators").exists()


def test_framework_pages_go_through_approval_by_another_qa_lead():
    root = Page.get_first_root_node()
    workflow = WorkflowPage.objects.get(page=root).workflow
    assert workflow.name == APPROVAL_WORKFLOW
    task = workflow.tasks.get().specific
    assert list(task.groups.values_list("name", flat=True)) == [QA_LEAD]


def test_sync_is_idempotent():
    before = {group.name: group.permissions.count() for group in Group.objects.all()}
    roles_sync()
    call_command("migrate", verbosity=0)
    after = {group.name: group.permissions.count() for group in Group.objects.all()}
    assert before == after
    assert WorkflowPage.objects.count() == 1


def test_only_qa_leads_reach_the_admin(client, qa_lead, auditor):
    client.force_login(auditor)
    assert client.get(reverse("wagtailadmin_home")).status_code == 302
    client.force_login(qa_lead)
    assert client.get(reverse("wagtailadmin_home")).status_code == 200
