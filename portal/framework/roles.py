"""The portal's roles as Django groups, their permissions, and the approval workflow that
framework pages go through. Kept in step by roles_sync() after every migrate."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.management import create_contenttypes
from django.db import transaction

QA_LEAD = "QA lead"
AUDITOR = "Auditor"
MODERATOR = "Moderator"
ACTION_OWNER = "Action owner"
PARTNERSHIP_BOARD = "Partnership Board"
ROLES = (QA_LEAD, AUDITOR, MODERATOR, ACTION_OWNER, PARTNERSHIP_BOARD)

APPROVAL_WORKFLOW = "Framework approval by a second QA lead"
APPROVAL_TASK = "Another QA lead approves"

# Model permissions per role, as "app_label.codename".
ROLE_PERMISSIONS = {
    QA_LEAD: [
        "wagtailadmin.access_admin",
        "wagtaildocs.add_document",
        "wagtaildocs.change_document",
        "wagtaildocs.choose_document",
        "wagtailimages.add_image",
        "wagtailimages.change_image",
        "wagtailimages.choose_image",
        # The plan register: list, inspect and export plans; change it only by importing.
        "audits.view_plan",
        "audits.add_planimport",
        "audits.view_planimport",
        # Cycles are set up by QA leads; audits are read, never edited, by them.
        "audits.view_auditcycle",
        "audits.add_auditcycle",
        "audits.change_auditcycle",
        "audits.view_audit",
        "audits.view_conflictdeclaration",
        "audits.add_conflictdeclaration",
        # Moderation is read by QA leads (decided by moderators); every action is theirs
        # to raise, follow and update.
        "audits.view_moderationcase",
        "audits.add_action",
        "audits.view_action",
        "audits.change_action",
        # Training: the dashboard, invitations, calibration references and the rules.
        "training.view_accreditation",
        "training.add_invitation",
        "training.view_invitation",
        "training.view_calibrationreference",
        "training.add_calibrationreference",
        "training.change_trainingsettings",
    ],
    AUDITOR: [],
    # Moderators see the queue and every audit in it, record decisions and raise actions.
    MODERATOR: [
        "audits.view_moderationcase",
        "audits.change_moderationcase",
        "audits.add_action",
    ],
    ACTION_OWNER: [],
    PARTNERSHIP_BOARD: [],
}
# QA leads edit every page but publish only through approval by another QA lead; direct
# publishing is left to administrators (superusers) for emergencies.
QA_LEAD_PAGE_PERMISSIONS = ["add_page", "change_page", "lock_page", "unlock_page"]
QA_LEAD_COLLECTION_PERMISSIONS = [
    "add_document",
    "change_document",
    "choose_document",
    "add_image",
    "change_image",
    "choose_image",
]
# Wagtail's stock groups: "Moderators" would be confused with the portal's Moderator role.
WAGTAIL_STOCK_GROUPS = ("Moderators", "Editors")


def _permission(dotted):
    app_label, codename = dotted.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


@transaction.atomic
def roles_sync():
    """Create or update the role groups, their permissions and the approval workflow."""
    from wagtail.models import (
        Collection,
        GroupCollectionPermission,
        GroupPagePermission,
        Page,
        Workflow,
        WorkflowPage,
        WorkflowTask,
    )

    from .models import QALeadApprovalTask

    groups = {name: Group.objects.get_or_create(name=name)[0] for name in ROLES}
    for name, permissions in ROLE_PERMISSIONS.items():
        groups[name].permissions.add(*(_permission(p) for p in permissions))

    qa_lead = groups[QA_LEAD]
    root_page = Page.get_first_root_node()
    root_collection = Collection.get_first_root_node()
    if root_page is None or root_collection is None:
        # After a flush (transactional tests) the page tree is gone until the next migrate.
        return groups
    for codename in QA_LEAD_PAGE_PERMISSIONS:
        GroupPagePermission.objects.get_or_create(
            group=qa_lead,
            page=root_page,
            permission=Permission.objects.get(
                content_type__app_label="wagtailcore", codename=codename
            ),
        )
    for codename in QA_LEAD_COLLECTION_PERMISSIONS:
        GroupCollectionPermission.objects.get_or_create(
            group=qa_lead,
            collection=root_collection,
            permission=Permission.objects.get(codename=codename),
        )

    task, _ = QALeadApprovalTask.objects.get_or_create(name=APPROVAL_TASK)
    task.groups.add(qa_lead)
    workflow, _ = Workflow.objects.get_or_create(name=APPROVAL_WORKFLOW)
    WorkflowTask.objects.get_or_create(workflow=workflow, task=task, defaults={"sort_order": 0})
    WorkflowPage.objects.update_or_create(page=root_page, defaults={"workflow": workflow})
    Workflow.objects.filter(name="Moderators approval", workflow_pages=None).update(active=False)

    Group.objects.filter(name__in=WAGTAIL_STOCK_GROUPS, user=None).delete()
    return groups


def roles_sync_after_migrate(sender, using="default", apps=global_apps, **kwargs):
    # Permissions are normally created by auth's own post_migrate handler; make sure they
    # exist for every app before the groups refer to them.
    for app_config in global_apps.get_app_configs():
        create_contenttypes(app_config, verbosity=0, using=using)
        create_permissions(app_config, verbosity=0, using=using)
    roles_sync()
