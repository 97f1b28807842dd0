"""Action plans: raising an action from an audit's recommendation or a moderation case,
updating it (status, a dated note, a reason when cancelled) until it is done, closing the
loop on "re-audit later" actions with a new assignment, and the daily digest of actions due
and overdue. Owners and their agency hold django-guardian permissions on their actions;
every change is in the audit log and the action's own history."""

import datetime
from collections import defaultdict
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from guardian.shortcuts import assign_perm
from wagtail.log_actions import log

from portal.framework.roles import ACTION_OWNER, AUDITOR, QA_LEAD
from portal.training.models import Agency
from portal.training.services import agency_group

from .cycles import assignment_create, auditor_refusal, open_assignment_counts
from .models import Action, ActionUpdate, Assignment, Audit

RAISE = "audits.add_action"
VIEW = "audits.view_action"
CHANGE = "audits.change_action"

NOT_ALLOWED_TO_RAISE = "Only QA leads and moderators can raise actions."
NOT_YOURS = "This action belongs to another person or agency."
DESCRIPTION_MISSING = "Say what is to be done."
OWNER_NOT_ELIGIBLE = (
    "The owner must be an active member of staff in the Action owner or QA lead role."
)
DUE_IN_THE_PAST = "The due date must be today or later."
UNKNOWN_KIND = "Choose what kind of action this is."
UNKNOWN_AGENCY = "Choose the agency that owns the action."
REAUDIT_NEEDS_PLAN = "A re-audit action must come from an audit or a moderation case of a plan."
UNKNOWN_STATUS = "Choose the action's status: open, in progress, done or cancelled."
CANCEL_REASON_MISSING = "Say why the action is cancelled."
ACTION_CLOSED = "This action is done or cancelled, so it can no longer be changed."
ACTION_CHANGED = (
    "This action was changed by someone else after you opened it. Your update was not saved: "
    "reload the page to see the latest, then make it again."
)
NOTHING_CHANGED = "Change the status or write a note: there was nothing to save."
NO_REAUDITOR = (
    "The re-audit could not be assigned: no accredited auditor without a conflict of interest "
    "is free to take plan {system_id}. Assign it from the cycle screens."
)
REAUDIT_DAYS = 14

RAISED_SUBJECT = "New action {reference} for you, due {due}"
RAISED_BODY = """Hello {name},

{raiser} has given you an action to complete by {due}: {reference} ({kind}).

See what is to be done and record progress in the EHCP Quality Assurance Portal:
{link}
"""
DIGEST_SUBJECT = "EHCP actions: {count} due soon or overdue"
DIGEST_BODY = """Hello {name},

These actions of yours are due within {days} days or overdue:

{rows}

Record progress, or mark them done, in the portal:
{link}
"""
OVERDUE_SUBJECT = "EHCP actions overdue: {count}"
OVERDUE_BODY = """Hello,

{count} actions are overdue, by owning agency:

{agencies}

{rows}

All actions, with filters and export:
{link}
"""
DIGEST_DAYS = 7


def absolute_url(path):
    return settings.WAGTAILADMIN_BASE_URL.rstrip("/") + path


def _name(user):
    return user.get_full_name() or user.get_username()


def _send_after_commit(subject, body, recipients):
    transaction.on_commit(partial(send_mail, subject, body, None, recipients), robust=True)


def owner_candidates():
    """People who may own actions: active action owners and QA leads."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[ACTION_OWNER, QA_LEAD])
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


def _grant(action):
    """The owner and their agency may see and update the action; whoever raised it (a
    moderator, say) may follow it."""
    for permission in (VIEW, CHANGE):
        assign_perm(permission, action.owner, action)
        assign_perm(permission, agency_group(action.agency), action)
    if action.raised_by:
        assign_perm(VIEW, action.raised_by, action)


@transaction.atomic
def action_raise(
    *, raised_by, description, kind, agency, owner, due_on, audit=None, moderation_case=None
):
    """Raise an action, from an audit (its recommendation, converted by a QA lead or
    moderator) or a moderation case, for `owner` in `agency` by `due_on`. The owner and
    their agency may then see and update it; the owner is emailed (no child details)."""
    if not raised_by.has_perm(RAISE):
        raise PermissionDenied(NOT_ALLOWED_TO_RAISE)
    errors = {}
    if not description.strip():
        errors["description"] = DESCRIPTION_MISSING
    if kind not in Action.Kind.values:
        errors["kind"] = UNKNOWN_KIND
    if agency not in Agency.values:
        errors["agency"] = UNKNOWN_AGENCY
    if owner is None or not owner_candidates().filter(pk=owner.pk).exists():
        errors["owner"] = OWNER_NOT_ELIGIBLE
    if due_on is None or due_on < timezone.localdate():
        errors["due_on"] = DUE_IN_THE_PAST
    plan = audit.assignment.plan if audit else moderation_case.plan if moderation_case else None
    if kind == Action.Kind.REAUDIT and plan is None:
        errors["kind"] = REAUDIT_NEEDS_PLAN
    if errors:
        raise ValidationError(errors)
    action = Action.objects.create(
        description=description.strip(),
        kind=kind,
        agency=agency,
        owner=owner,
        due_on=due_on,
        plan=plan,
        audit=audit,
        moderation_case=moderation_case,
        raised_by=raised_by,
    )
    ActionUpdate.objects.create(action=action, author=raised_by, status=action.status, note="")
    _grant(action)
    log(
        instance=action,
        action="portal.action.raise",
        user=raised_by,
        data={"kind": kind, "agency": agency, "owner": owner.get_username()},
    )
    if owner.email:
        due = date_format(due_on, "j F Y")
        _send_after_commit(
            RAISED_SUBJECT.format(reference=action.reference, due=due),
            RAISED_BODY.format(
                name=_name(owner),
                raiser=_name(raised_by),
                due=due,
                reference=action.reference,
                kind=action.get_kind_display().lower(),
                link=absolute_url(reverse("action_detail", args=[action.pk])),
            ),
            [owner.email],
        )
    return action


def may_update(user, action):
    """Owners and their agency (object permission) and QA leads (every action)."""
    return user.has_perm(CHANGE) or user.has_perm(CHANGE, action)


@transaction.atomic
def action_update(action, user, version, *, status, note="", cancel_reason=""):
    """Move the action on (open, in progress, done, or cancelled with a reason) and/or add a
    note to its history. A done "re-audit later" action assigns the plan again. Refused on a
    done or cancelled action, or when it changed since `version` was read."""
    if not may_update(user, action):
        raise PermissionDenied(NOT_YOURS)
    errors = {}
    if status not in Action.Status.values:
        errors["status"] = UNKNOWN_STATUS
    if status == Action.Status.CANCELLED and not cancel_reason.strip():
        errors["cancel_reason"] = CANCEL_REASON_MISSING
    if errors:
        raise ValidationError(errors)
    if status == action.status and not note.strip():
        raise ValidationError(NOTHING_CHANGED, code="nothing")
    closing = status in (Action.Status.DONE, Action.Status.CANCELLED)
    changes = {"status": status, "updated_at": timezone.now()}
    if status == Action.Status.CANCELLED:
        changes["cancel_reason"] = cancel_reason.strip()
    if closing:
        changes["closed_at"] = timezone.now()
    updated = (
        Action.objects.filter(pk=action.pk, version=version)
        .filter(status__in=[Action.Status.OPEN, Action.Status.IN_PROGRESS])
        .update(version=F("version") + 1, **changes)
    )
    if not updated:
        action.refresh_from_db()
        if not action.is_open:
            raise PermissionDenied(ACTION_CLOSED)
        raise ValidationError(ACTION_CHANGED, code="changed")
    before = action.status
    action.refresh_from_db()
    entry = ActionUpdate.objects.create(
        action=action,
        author=user,
        status=status,
        note=(note.strip() or cancel_reason.strip()),
        changes={"status": [before, status]} if before != status else {},
    )
    log(
        instance=action,
        action="portal.action.update",
        user=user,
        data={"status": [before, status], "note": bool(note.strip())},
    )
    if status == Action.Status.DONE and action.kind == Action.Kind.REAUDIT:
        action.reaudit_problem = _reaudit_assign(action, user, entry)
    return action


def _reaudit_assign(action, user, entry):
    """Close the loop: the plan goes to an auditor again, due on the action's due date (or
    in two weeks if that has passed) — to its earlier auditor if they may still have it,
    otherwise to the accredited auditor with the fewest open plans. Returns a message when
    nobody can take it (the action stays done; the QA lead assigns it by hand)."""
    plan = action.plan
    due_on = max(action.due_on, timezone.localdate() + datetime.timedelta(days=REAUDIT_DAYS))
    holding = set(
        Assignment.objects.filter(plan=plan)
        .exclude(audit__status=Audit.Status.SUBMITTED)
        .values_list("auditor_id", flat=True)
    )
    earlier = action.audit.assignment.auditor if action.audit else None
    candidates = list(
        get_user_model()
        .objects.filter(groups__name=AUDITOR, is_active=True)
        .exclude(pk__in=holding)
    )
    load = open_assignment_counts(candidates)
    candidates.sort(key=lambda person: (person != earlier, load.get(person.pk, 0), person.pk))
    for auditor in candidates:
        if auditor_refusal(auditor, plan) is None:
            assignment = assignment_create(plan, auditor, due_on, user)
            Action.objects.filter(pk=action.pk).update(reaudit_assignment=assignment)
            action.reaudit_assignment = assignment
            entry.changes = {**entry.changes, "reaudit_assignment": assignment.pk}
            entry.save(update_fields=["changes"])
            return None
    problem = NO_REAUDITOR.format(system_id=plan.system_id)
    log(instance=action, action="portal.action.reaudit_unassigned", user=user)
    return problem


def _digest_row(action, today):
    overdue = " – OVERDUE" if action.due_on < today else ""
    return (
        f"- {action.reference} ({action.get_kind_display().lower()}, "
        f"{action.get_status_display().lower()}): due {date_format(action.due_on, 'j F Y')}"
        f"{overdue}"
    )


def action_digests_send(today=None):
    """Email each owner one digest of their open actions due within 7 days or overdue, and
    the QA leads one summary of overdue actions. Actions are named by reference, kind and
    due date only: never their text or plan, which may say something about a child.
    Returns (owners emailed, overdue count)."""
    today = today or timezone.localdate()
    due = (
        Action.objects.filter(
            status__in=[Action.Status.OPEN, Action.Status.IN_PROGRESS],
            due_on__lte=today + datetime.timedelta(days=DIGEST_DAYS),
        )
        .select_related("owner")
        .order_by("due_on", "pk")
    )
    by_owner = defaultdict(list)
    for action in due:
        by_owner[action.owner].append(action)
    emailed = 0
    for owner, actions in by_owner.items():
        if not owner.is_active or not owner.email:
            continue
        _send_after_commit(
            DIGEST_SUBJECT.format(count=len(actions)),
            DIGEST_BODY.format(
                name=_name(owner),
                days=DIGEST_DAYS,
                rows="\n".join(_digest_row(action, today) for action in actions),
                link=absolute_url(reverse("my_actions")),
            ),
            [owner.email],
        )
        emailed += 1
    overdue = [action for action in due if action.due_on < today]
    leads = list(
        get_user_model()
        .objects.filter(groups__name=QA_LEAD, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if overdue and leads:
        per_agency = defaultdict(int)
        for action in overdue:
            per_agency[action.get_agency_display()] += 1
        _send_after_commit(
            OVERDUE_SUBJECT.format(count=len(overdue)),
            OVERDUE_BODY.format(
                count=len(overdue),
                agencies="\n".join(f"- {name}: {n}" for name, n in sorted(per_agency.items())),
                rows="\n".join(
                    f"{_digest_row(action, today)}, owner {_name(action.owner)}"
                    for action in overdue
                ),
                link=absolute_url(reverse("all_actions")),
            ),
            leads,
        )
    return emailed, len(overdue)
