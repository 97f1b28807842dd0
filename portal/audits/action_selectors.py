"""Reads for action plans: the actions a person may see (QA leads every one; owners theirs
and their agency's, by django-guardian object permission), filtered as the screens ask, with
their history."""

from django.db.models import Case, IntegerField, Q, Value, When
from django.utils import timezone
from guardian.shortcuts import get_objects_for_user

from .actions import VIEW
from .models import Action

OPEN_STATUSES = (Action.Status.OPEN, Action.Status.IN_PROGRESS)


def actions_visible_to(user):
    """Every action for those who may view all (QA leads); otherwise the actions the user,
    or their agency's group, was granted."""
    actions = Action.objects.select_related("owner", "plan", "moderation_case", "audit")
    if user.has_perm(VIEW):
        return actions
    return get_objects_for_user(
        user, VIEW, klass=actions, use_groups=True, accept_global_perms=False
    )


def actions_filtered(actions, *, agency=None, kind=None, status=None, overdue=False, cycle=None):
    """Narrow `actions` as the list's filters say; `overdue` means open and past due."""
    if agency:
        actions = actions.filter(agency=agency)
    if kind:
        actions = actions.filter(kind=kind)
    if status:
        actions = actions.filter(status=status)
    if overdue:
        actions = actions.filter(status__in=OPEN_STATUSES, due_on__lt=timezone.localdate())
    if cycle:
        actions = actions.filter(
            Q(audit__assignment__cycle=cycle) | Q(moderation_case__cycle=cycle)
        )
    return actions


def my_actions(user):
    """The actions a person owns, or their agency owns: open ones first, soonest due."""
    return (
        actions_visible_to(user)
        .annotate(
            closed=Case(
                When(status__in=OPEN_STATUSES, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("closed", "due_on", "pk")
    )


def action_history(action):
    return action.updates.select_related("author").order_by("at", "pk")
