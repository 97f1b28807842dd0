"""Who may reach what: every URL pattern the portal serves (walked from the URLconf, so a new
URL without an entry here fails), for every role and a second auditor, with GET and POST,
answers as the code means it to, and a refused request changes nothing in the database.

The project's own URLs have explicit entries, with real objects for object-level rules
(another auditor's audit, another agency's action, the governance section). Wagtail's admin
and document trees have hundreds of patterns: a prefix rule asserts, for every one of them,
that nobody without admin access gets past the admin's sign-in (a few public screens, such
as the admin's own sign-in page, are listed); the portal's screens inside the admin, found
through its wagtail_hooks, have explicit entries for QA leads and administrators too. What
QA leads and administrators may do in Wagtail's own screens is Wagtail's business and is
not asserted here.

Where the code does something the design does not allow, the entry says what the design asks
for and SUSPECTED marks the case as an expected failure, with the reason (reported to the
lead): the suite stays green, and the case fails as soon as the code is changed.

The world is built once (tests/authorization_world.py) and every request is made in a
savepoint: rows_written() tells whether it wrote anything at all, and only then are the
tables fingerprinted after it and again with the savepoint rolled back."""

import hashlib
import itertools
import re
import uuid
from dataclasses import dataclass, field

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.db.models import ProtectedError
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils.regex_helper import normalize
from wagtail import hooks
from wagtail.admin.viewsets import viewsets as admin_viewsets

from portal.audits.recording import grader_of_revision, rubric_of_revision

from .authorization_world import ADMIN_ROLES, ROLES, portal_world

pytestmark = pytest.mark.django_db

ANON, AUD, AUD2, MOD, OWNER, BOARD, QA, SU = ROLES
EVERYONE = ROLES
SIGNED_IN = ROLES[1:]
NO_ADMIN_ACCESS = tuple(role for role in ROLES if role not in ADMIN_ROLES)
MISSING = 999_999  # an id nothing in the world has

UNKNOWN_PATTERN = (
    "{count} URL pattern(s) of the portal have no entry in the authorization matrix "
    "(tests/test_authorization_matrix.py, PROJECT): {patterns}. Say there, for every role, "
    "what GET and POST answer."
)
STALE_ENTRY = (
    "The authorization matrix has entries for URL patterns the portal no longer serves: "
    "{patterns}. Remove them, or fix their keys."
)


# Outcomes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a request should get: its status, where a redirect goes (a prefix when
    `location` ends with "=" or "?", otherwise the whole address; a callable takes the
    world), and whether it may change the database (only allowed writes may)."""

    status: int
    location: object = None
    writes: bool = False

    def describe(self):
        where = f" to {self.location}" if isinstance(self.location, str) else ""
        return f"{self.status}{where}{' (writes)' if self.writes else ''}"


OK = Outcome(200)
BAD_REQUEST = Outcome(400)
FORBIDDEN = Outcome(403)
NOT_FOUND = Outcome(404)
NOT_ALLOWED = Outcome(405)
GONE = Outcome(410)
# The portal's sign-in page, with the address asked for to come back to.
LOGIN = Outcome(302, "/accounts/login/?next=")
# Wagtail's admin sign-in: what anyone without wagtailadmin.access_admin gets.
ADMIN_LOGIN = Outcome(302, "/admin/login/?next=")
# Inside the admin, a screen the person's permissions do not cover: Wagtail says "Sorry, you
# do not have permission" on the admin's dashboard.
ADMIN_DENIED = Outcome(302, "/admin/")


TWO_FACTOR_SET_UP = "/accounts/two-factor/set-up/"


def redirect(location=None, writes=False):
    """A redirect (to `location`, when given) that is not a refusal."""
    return Outcome(302, location, writes)


def wrote(status=302, location=None):
    """An allowed request that changes the database (a form saved, an action raised)."""
    return Outcome(status, location, writes=True)


# Cases ---------------------------------------------------------------------------------


@dataclass
class Case:
    """One address of a URL pattern and what each role gets there, as {role or tuple of
    roles: (GET outcome, POST outcome)}; `data` makes the POST body from the world."""

    label: str
    path: object  # str, or a callable taking the world
    expect: dict
    data: object = None
    roles: dict = field(default_factory=dict)

    def __post_init__(self):
        for who, outcomes in self.expect.items():
            for role in (who,) if isinstance(who, str) else who:
                assert role not in self.roles, f"{self.label}: {role} is given twice"
                self.roles[role] = dict(zip(("GET", "POST"), outcomes, strict=True))

    def url(self, world):
        return self.path(world) if callable(self.path) else self.path

    def body(self, world):
        return self.data(world) if callable(self.data) else dict(self.data or {})


def audit_path(assignment, suffix=""):
    """The address of an audit screen of the assignment `assignment(world)` returns."""
    return lambda w: f"/audits/{assignment(w).pk}/{suffix}"


def draft(w):
    """Auditor 1's assignment whose audit is in progress."""
    return w.audits.draft_assignment


def submitted(w):
    """Auditor 1's assignment whose audit is submitted (and in moderation)."""
    return w.audits.submitted_assignment


def others(w):
    """Auditor 2's assignment whose audit is in progress."""
    return w.audits.other_assignment


# What non-owners get at an auditor's audit: the assignment is not theirs to see (404); an
# administrator sees every assignment but may record only their own (403). The QA lead reads
# audits in the admin (audits:inspect), never through the auditor's form.
def _audit_refusals(get, post):
    not_found = (NOT_FOUND if get else NOT_ALLOWED, NOT_FOUND if post else NOT_ALLOWED)
    forbidden = (FORBIDDEN if get else NOT_ALLOWED, FORBIDDEN if post else NOT_ALLOWED)
    return not_found, forbidden


def audit_cases(suffix, owner_outcomes, *, get=True, post=True, data=None):
    """The same audit screen for auditor 1's draft and submitted audits, auditor 2's draft
    and an assignment that does not exist; `owner_outcomes` has (GET, POST) for the owner of
    each of the first three: {"draft": ..., "submitted": ..., "other": ...}; `data` makes the
    POST body from the world and the assignment."""
    not_found, forbidden = _audit_refusals(get, post)
    anonymous = (LOGIN if get else NOT_ALLOWED, LOGIN if post else NOT_ALLOWED)
    bystanders = (MOD, OWNER, BOARD, QA)
    cases = []
    for label, assignment, owner, other_auditor in (
        ("auditor 1's draft", draft, AUD, AUD2),
        ("auditor 1's submitted", submitted, AUD, AUD2),
        ("auditor 2's draft", others, AUD2, AUD),
    ):
        kind = label.rsplit(" ", 1)[-1] if owner == AUD else "other"
        cases.append(
            Case(
                label,
                audit_path(assignment, suffix),
                {
                    ANON: anonymous,
                    owner: owner_outcomes[kind],
                    other_auditor: not_found,
                    bystanders: not_found,
                    SU: forbidden,
                },
                data=data and (lambda w, a=assignment: data(w, a(w))),
            )
        )
    cases.append(
        Case(
            "no such assignment",
            f"/audits/{MISSING}/{suffix}",
            {ANON: anonymous, SIGNED_IN: not_found},
            data=data and (lambda w: data(w, draft(w))),
        )
    )
    return cases


def _section_body(w, assignment):
    return {
        "met": ["A1", "A2"],
        "note": "Views in the child's words.",
        "version": _audit_version(assignment),
    }


def _audit_version(assignment):
    audit = getattr(assignment, "audit", None)
    return audit.version if audit else 1


def _findings_body(w, assignment):
    return {
        "strengths": "The child's voice is clear.",
        "recommendations": "Make outcomes measurable.",
        "summary": "A good start.",
        "version": _audit_version(assignment),
    }


def _submit_body(w, assignment):
    return {"version": _audit_version(assignment)}


def _preview_body(w, assignment):
    return {"section": "A", "met": ["A1"]}


def _decision_body(w):
    case = w.audits.case
    return {
        "grade": "requires_improvement",
        "rationale": "Section E has no measurable outcome.",
        "version": case.version,
        "then": "close",
    }


def _action_update_body(action):
    def body(w):
        chosen = getattr(w.actions, action)
        return {"status": "in_progress", "note": "Started on it.", "version": chosen.version}

    return body


def _raise_body(w):
    due = w.actions.health.due_on
    return {
        "description": "Check section E of every new plan this month.",
        "kind": "review_process",
        "agency": "health",
        "owner": w.people.action_owner.pk,
        "due_on_day": due.day,
        "due_on_month": due.month,
        "due_on_year": due.year,
    }


def _knowledge_check_body(w):
    from portal.training.services import knowledge_check_questions

    body = {}
    for question in knowledge_check_questions(w.training.checked_module):
        right = [str(n) for n, option in enumerate(question["options"]) if option["correct"]]
        body[question["id"]] = right if len(right) > 1 else right[0]
    return body


def page_path(page):
    """The address of the page `page(world)` returns."""
    return lambda w: page(w).url


def page_sub(page, suffix):
    """An address under the page `page(world)` returns: a route of its own, a download."""
    return lambda w: f"{page(w).url}{suffix}"


def governance(w):
    """The governance reports section, private to QA leads and the board."""
    return w.reports.governance


def report(w):
    """The published governance report, with its snapshot."""
    return w.reports.report


def summary(w):
    """The published Local Offer quality summary, with its snapshot."""
    return w.reports.summary


PUBLIC_PAGE = {EVERYONE: (OK, OK)}
# Wagtail's page privacy answers first for the governance section: anyone but a QA lead,
# board member or administrator is sent to sign in (as someone who may read it).
GOVERNANCE_READERS = (BOARD, QA, SU)
NOT_GOVERNANCE_READERS = (ANON, AUD, AUD2, MOD, OWNER)
GOVERNANCE = {NOT_GOVERNANCE_READERS: (LOGIN, LOGIN), GOVERNANCE_READERS: (OK, OK)}

# The training section is for signed-in people (a login restriction, as the demo sets it).
TRAINING_PAGE = {ANON: (LOGIN, LOGIN), SIGNED_IN: (OK, OK)}

# Moderation and the dashboard: moderators, QA leads and administrators.
MODERATION_READERS = (MOD, QA, SU)
NOT_MODERATION_READERS = (AUD, AUD2, OWNER, BOARD)
# Every action, its list and download: QA leads (audits.view_action) and administrators.
ALL_ACTIONS_READERS = (QA, SU)
NOT_ALL_ACTIONS_READERS = (AUD, AUD2, MOD, OWNER, BOARD)


def admin(outcomes_for_admins, non_admin=(ADMIN_LOGIN, ADMIN_LOGIN)):
    """A portal screen in the Wagtail admin: nobody without admin access gets past the
    admin's sign-in; `outcomes_for_admins` is {QA: (GET, POST), SU: (GET, POST)}, or one
    (GET, POST) for both."""
    if isinstance(outcomes_for_admins, tuple):
        outcomes_for_admins = {ADMIN_ROLES: outcomes_for_admins}
    return {NO_ADMIN_ACCESS: non_admin, **outcomes_for_admins}


def admin_case(label, path, outcomes_for_admins, data=None):
    """A case of a portal screen in the admin (see admin())."""
    return Case(label, path, admin(outcomes_for_admins), data=data)


# The portal's own URLs, keyed by the pattern's name (namespaced) or, unnamed, its route.
PROJECT = {
    "healthz": [Case("", "/healthz", {EVERYONE: (OK, NOT_ALLOWED)})],
    # Signing in: an empty form is shown again with its errors.
    "login": [Case("", "/accounts/login/", {EVERYONE: (OK, OK)})],
    "logout": [Case("", "/accounts/logout/", {EVERYONE: (NOT_ALLOWED, redirect("/"))})],
    # The second factor (switched off in test settings): anyone signed in sets up their own
    # authenticator app (the page keeps an unconfirmed one, so its QR code stays the same);
    # verification and recovery codes send someone without an app to set one up first.
    "two_factor_enrol": [
        Case(
            "",
            "/accounts/two-factor/set-up/",
            {ANON: (LOGIN, LOGIN), SIGNED_IN: (wrote(200), wrote(200))},
        )
    ],
    "two_factor_verify": [
        Case(
            "",
            "/accounts/two-factor/verify/",
            {ANON: (LOGIN, LOGIN), SIGNED_IN: (redirect(TWO_FACTOR_SET_UP),) * 2},
        )
    ],
    "two_factor_recovery_codes": [
        Case(
            "",
            "/accounts/two-factor/recovery-codes/",
            {ANON: (LOGIN, LOGIN), SIGNED_IN: (redirect(TWO_FACTOR_SET_UP),) * 2},
        )
    ],
    # Auditors' screens.
    "my_audits": [Case("", "/audits/", {ANON: (LOGIN, NOT_ALLOWED), SIGNED_IN: (OK, NOT_ALLOWED)})],
    "audit_overview": audit_cases(
        "",
        {
            "draft": (OK, NOT_ALLOWED),
            "submitted": (OK, NOT_ALLOWED),
            "other": (OK, NOT_ALLOWED),
        },
        post=False,
    ),
    "audit_section": [
        *audit_cases(
            "section/A/",
            {
                "draft": (OK, wrote(location=lambda w: f"/audits/{draft(w).pk}/section/E/")),
                # Read-only once submitted; a post (a stale tab) is refused, nothing saved.
                "submitted": (OK, FORBIDDEN),
                "other": (OK, wrote(location=lambda w: f"/audits/{others(w).pk}/section/E/")),
            },
            data=_section_body,
        ),
    ],
    "audit_findings": audit_cases(
        "findings/",
        {
            "draft": (OK, wrote(location=lambda w: f"/audits/{draft(w).pk}/review/")),
            "submitted": (redirect(lambda w: f"/audits/{submitted(w).pk}/"), FORBIDDEN),
            "other": (OK, wrote(location=lambda w: f"/audits/{others(w).pk}/review/")),
        },
        data=_findings_body,
    ),
    "audit_review": audit_cases(
        "review/",
        {
            # Sections E and J are not recorded yet: the submission is refused.
            "draft": (OK, BAD_REQUEST),
            "submitted": (redirect(lambda w: f"/audits/{submitted(w).pk}/"), FORBIDDEN),
            "other": (OK, BAD_REQUEST),
        },
        data=_submit_body,
    ),
    "audit_grade_preview": audit_cases(
        "grade-preview/",
        {
            "draft": (NOT_ALLOWED, OK),
            "submitted": (NOT_ALLOWED, FORBIDDEN),
            "other": (NOT_ALLOWED, OK),
        },
        get=False,
        data=_preview_body,
    ),
    # Moderation: moderators decide; QA leads read; administrators may decide.
    "moderation_queue": [
        Case(
            "",
            "/moderation/",
            {
                ANON: (LOGIN, NOT_ALLOWED),
                MODERATION_READERS: (OK, NOT_ALLOWED),
                NOT_MODERATION_READERS: (FORBIDDEN, NOT_ALLOWED),
            },
        )
    ],
    "moderation_case": [
        Case(
            "weak audit's case",
            lambda w: f"/moderation/{w.audits.case.pk}/",
            {
                ANON: (LOGIN, LOGIN),
                (MOD, SU): (OK, wrote(location=lambda w: f"/moderation/{w.audits.case.pk}/")),
                # QA leads read moderation; only moderators record decisions.
                QA: (OK, FORBIDDEN),
                NOT_MODERATION_READERS: (FORBIDDEN, FORBIDDEN),
            },
            data=_decision_body,
        ),
        Case(
            "no such case",
            f"/moderation/{MISSING}/",
            {
                ANON: (LOGIN, LOGIN),
                MODERATION_READERS: (NOT_FOUND, NOT_FOUND),
                NOT_MODERATION_READERS: (FORBIDDEN, FORBIDDEN),
            },
        ),
    ],
    "cycle_agreement": [
        Case(
            "cycle",
            lambda w: f"/moderation/cycles/{w.audits.cycle.pk}/agreement/",
            {
                ANON: (LOGIN, NOT_ALLOWED),
                MODERATION_READERS: (OK, NOT_ALLOWED),
                NOT_MODERATION_READERS: (FORBIDDEN, NOT_ALLOWED),
            },
        ),
        Case(
            "no such cycle",
            f"/moderation/cycles/{MISSING}/agreement/",
            {
                ANON: (LOGIN, NOT_ALLOWED),
                MODERATION_READERS: (NOT_FOUND, NOT_ALLOWED),
                NOT_MODERATION_READERS: (FORBIDDEN, NOT_ALLOWED),
            },
        ),
    ],
    # Actions: owners and their agency (object permissions), QA leads every one.
    "my_actions": [
        Case("", "/actions/", {ANON: (LOGIN, NOT_ALLOWED), SIGNED_IN: (OK, NOT_ALLOWED)})
    ],
    "all_actions": [
        Case(
            "",
            "/actions/all/",
            {
                ANON: (LOGIN, NOT_ALLOWED),
                ALL_ACTIONS_READERS: (OK, NOT_ALLOWED),
                NOT_ALL_ACTIONS_READERS: (FORBIDDEN, NOT_ALLOWED),
            },
        )
    ],
    "actions_export": [
        *(
            Case(
                file_format,
                f"/actions/all/download.{file_format}",
                {
                    ANON: (LOGIN, NOT_ALLOWED),
                    ALL_ACTIONS_READERS: (OK, NOT_ALLOWED),
                    NOT_ALL_ACTIONS_READERS: (FORBIDDEN, NOT_ALLOWED),
                },
            )
            for file_format in ("csv", "xlsx")
        ),
        Case(
            "unknown format",
            "/actions/all/download.pdf",
            {
                ANON: (LOGIN, NOT_ALLOWED),
                ALL_ACTIONS_READERS: (NOT_FOUND, NOT_ALLOWED),
                NOT_ALL_ACTIONS_READERS: (FORBIDDEN, NOT_ALLOWED),
            },
        ),
    ],
    "action_raise": [
        Case(
            "general action",
            "/actions/raise/",
            {
                ANON: (LOGIN, LOGIN),
                MODERATION_READERS: (OK, wrote()),
                NOT_MODERATION_READERS: (FORBIDDEN, FORBIDDEN),
            },
            data=_raise_body,
        ),
        Case(
            "from the moderation case",
            lambda w: f"/actions/raise/?case={w.audits.case.pk}",
            {
                ANON: (LOGIN, LOGIN),
                MODERATION_READERS: (OK, wrote()),
                NOT_MODERATION_READERS: (FORBIDDEN, FORBIDDEN),
            },
            data=_raise_body,
        ),
        Case(
            "from the moderated audit",
            lambda w: f"/actions/raise/?audit={w.audits.submitted_audit.pk}",
            {
                ANON: (LOGIN, LOGIN),
                MODERATION_READERS: (OK, wrote()),
                NOT_MODERATION_READERS: (FORBIDDEN, FORBIDDEN),
            },
            data=_raise_body,
        ),
        Case(
            # Moderators see audits only as they are moderated.
            "from an audit not moderated",
            lambda w: f"/actions/raise/?audit={w.audits.reported_audit.pk}",
            {
                ANON: (LOGIN, LOGIN),
                MOD: (NOT_FOUND, NOT_FOUND),
                (QA, SU): (OK, wrote()),
                NOT_MODERATION_READERS: (FORBIDDEN, FORBIDDEN),
            },
            data=_raise_body,
        ),
        Case(
            "from an auditor's draft",
            lambda w: f"/actions/raise/?audit={w.audits.draft_audit.pk}",
            {
                ANON: (LOGIN, LOGIN),
                MODERATION_READERS: (NOT_FOUND, NOT_FOUND),
                NOT_MODERATION_READERS: (FORBIDDEN, FORBIDDEN),
            },
            data=_raise_body,
        ),
    ],
    "action_detail": [
        Case(
            "Health's action",
            lambda w: f"/actions/{w.actions.health.pk}/",
            {
                ANON: (LOGIN, LOGIN),
                (OWNER, QA, SU): (OK, wrote(location=lambda w: f"/actions/{w.actions.health.pk}/")),
                # The moderator raised it: they follow it, but only its owners update it.
                MOD: (OK, FORBIDDEN),
                (AUD, AUD2, BOARD): (NOT_FOUND, NOT_FOUND),
            },
            data=_action_update_body("health"),
        ),
        Case(
            "Education's action",
            lambda w: f"/actions/{w.actions.education.pk}/",
            {
                ANON: (LOGIN, LOGIN),
                (QA, SU): (OK, wrote(location=lambda w: f"/actions/{w.actions.education.pk}/")),
                # Auditor 1 works for education but owns no actions (see SUSPECTED).
                (AUD, OWNER, AUD2, MOD, BOARD): (NOT_FOUND, NOT_FOUND),
            },
            data=_action_update_body("education"),
        ),
        Case(
            "no such action",
            f"/actions/{MISSING}/",
            {ANON: (LOGIN, LOGIN), SIGNED_IN: (NOT_FOUND, NOT_FOUND)},
        ),
    ],
    "dashboard": [
        Case(
            "",
            "/dashboard/",
            {
                ANON: (LOGIN, NOT_ALLOWED),
                MODERATION_READERS: (OK, NOT_ALLOWED),
                NOT_MODERATION_READERS: (FORBIDDEN, NOT_ALLOWED),
            },
        )
    ],
    "dashboard_export": [
        Case(
            "grades table",
            "/dashboard/export/grades.csv",
            {
                ANON: (LOGIN, NOT_ALLOWED),
                MODERATION_READERS: (OK, NOT_ALLOWED),
                NOT_MODERATION_READERS: (FORBIDDEN, NOT_ALLOWED),
            },
        ),
        Case(
            "unknown table",
            "/dashboard/export/plans.csv",
            {
                ANON: (LOGIN, NOT_ALLOWED),
                MODERATION_READERS: (NOT_FOUND, NOT_ALLOWED),
                NOT_MODERATION_READERS: (FORBIDDEN, NOT_ALLOWED),
            },
        ),
    ],
    # Training.
    "my_training": [
        Case("", "/training/", {ANON: (LOGIN, NOT_ALLOWED), SIGNED_IN: (OK, NOT_ALLOWED)})
    ],
    "module_complete": [
        Case(
            "module without a check",
            lambda w: f"/training/modules/{w.training.module.pk}/complete/",
            {
                ANON: (NOT_ALLOWED, LOGIN),
                # Already complete: nothing new is recorded.
                AUD: (NOT_ALLOWED, redirect(page_path(lambda w: w.training.module))),
                (AUD2, SU): (NOT_ALLOWED, wrote(location=page_path(lambda w: w.training.module))),
                # Training is for auditors (see SUSPECTED).
                (MOD, OWNER, BOARD, QA): (NOT_ALLOWED, FORBIDDEN),
            },
        ),
        Case(
            "module with a check",
            lambda w: f"/training/modules/{w.training.checked_module.pk}/complete/",
            {
                ANON: (NOT_ALLOWED, LOGIN),
                SIGNED_IN: (
                    NOT_ALLOWED,
                    redirect(page_path(lambda w: w.training.checked_module)),
                ),
            },
        ),
        Case(
            "not a module",
            lambda w: f"/training/modules/{w.home.pk}/complete/",
            {ANON: (NOT_ALLOWED, LOGIN), SIGNED_IN: (NOT_ALLOWED, NOT_FOUND)},
        ),
    ],
    "knowledge_check": [
        Case(
            "module with a check",
            lambda w: f"/training/modules/{w.training.checked_module.pk}/check/",
            {
                ANON: (NOT_ALLOWED, LOGIN),
                (AUD, AUD2, SU): (NOT_ALLOWED, wrote()),
                # Training is for auditors (see SUSPECTED).
                (MOD, OWNER, BOARD, QA): (NOT_ALLOWED, FORBIDDEN),
            },
            data=_knowledge_check_body,
        ),
        Case(
            "module without a check",
            lambda w: f"/training/modules/{w.training.module.pk}/check/",
            {
                ANON: (NOT_ALLOWED, LOGIN),
                SIGNED_IN: (NOT_ALLOWED, redirect(page_path(lambda w: w.training.module))),
            },
        ),
        Case(
            "not a module",
            f"/training/modules/{MISSING}/check/",
            {ANON: (NOT_ALLOWED, LOGIN), SIGNED_IN: (NOT_ALLOWED, NOT_FOUND)},
        ),
    ],
    "knowledge_check_result": [
        Case(
            "auditor 1's attempt",
            lambda w: (
                f"/training/modules/{w.training.checked_module.pk}/check/"
                f"{w.training.check_attempt.pk}/"
            ),
            {
                ANON: (LOGIN, NOT_ALLOWED),
                AUD: (OK, NOT_ALLOWED),
                SIGNED_IN[1:]: (NOT_FOUND, NOT_ALLOWED),
            },
        )
    ],
    "calibration_start": [
        Case(
            "",
            "/training/calibration/start/",
            {
                ANON: (NOT_ALLOWED, LOGIN),
                # Auditor 1 has tried the only case; everyone else has a required module
                # to complete first: told so on My training, nothing started.
                SIGNED_IN: (NOT_ALLOWED, redirect("/training/")),
            },
        )
    ],
    "calibration_result": [
        Case(
            "auditor 1's attempt",
            lambda w: f"/training/calibration/{w.training.calibration.assignment_id}/",
            {
                ANON: (LOGIN, NOT_ALLOWED),
                AUD: (OK, NOT_ALLOWED),
                SIGNED_IN[1:]: (NOT_FOUND, NOT_ALLOWED),
            },
        ),
        Case(
            "the QA lead's reference",
            lambda w: f"/training/calibration/{w.training.reference.assignment_id}/",
            {
                ANON: (LOGIN, NOT_ALLOWED),
                QA: (OK, NOT_ALLOWED),
                (AUD, AUD2, MOD, OWNER, BOARD, SU): (NOT_FOUND, NOT_ALLOWED),
            },
        ),
    ],
    # An invitation link is the key to its own account, whoever holds it; an empty form is
    # shown again with its errors.
    "invitation_accept": [
        Case(
            "pending",
            lambda w: f"/training/invitation/{w.invitations.token}/",
            {EVERYONE: (OK, BAD_REQUEST)},
        ),
        Case(
            "used",
            lambda w: f"/training/invitation/{w.invitations.used_token}/",
            {EVERYONE: (GONE, GONE)},
        ),
        Case("unknown", "/training/invitation/not-a-token/", {EVERYONE: (NOT_FOUND, NOT_FOUND)}),
    ],
    # The public rubric download, for published rubrics only.
    "public_rubric_json": [
        Case("published rubric", page_sub(lambda w: w.site.rubric, "rubric.json"), PUBLIC_PAGE),
        Case(
            "draft rubric",
            "/draft-rubric/rubric.json",
            {EVERYONE: (NOT_FOUND, NOT_FOUND)},
        ),
        Case(
            "not a rubric",
            page_sub(lambda w: w.site.framework, "rubric.json"),
            {EVERYONE: (NOT_FOUND, NOT_FOUND)},
        ),
        Case(
            "the governance section",
            page_sub(governance, "rubric.json"),
            {EVERYONE: (NOT_FOUND, NOT_FOUND)},
        ),
    ],
    # Wagtail's page privacy screens: the password form (the governance section has a group
    # restriction, so no password opens it) and its sign-in page.
    "wagtailcore_authenticate_with_password": [
        Case(
            "the governance restriction",
            lambda w: (
                f"/_util/authenticate_with_password/"
                f"{w.reports.governance.get_view_restrictions().get().pk}/{w.reports.report.pk}/"
            ),
            {EVERYONE: (OK, OK)},
        ),
        Case(
            "no such restriction",
            f"/_util/authenticate_with_password/{MISSING}/{MISSING}/",
            {EVERYONE: (NOT_FOUND, NOT_FOUND)},
        ),
    ],
    "wagtailcore_login": [Case("", "/_util/login/", {EVERYONE: (OK, OK)})],
    # Wagtail's pages, with the report pages' own routes.
    "wagtail_serve": [
        Case("home", "/", PUBLIC_PAGE),
        Case("framework", page_path(lambda w: w.site.framework), PUBLIC_PAGE),
        Case("standard", page_path(lambda w: w.site.outcomes), PUBLIC_PAGE),
        Case("exemplar", page_path(lambda w: w.site.views), PUBLIC_PAGE),
        Case("rubric", page_path(lambda w: w.site.rubric), PUBLIC_PAGE),
        Case("Local Offer", page_path(lambda w: w.site.local_offer), PUBLIC_PAGE),
        Case("quality summary", page_path(summary), PUBLIC_PAGE),
        Case("summary table as CSV", page_sub(summary, "data/grades/csv/"), PUBLIC_PAGE),
        Case("summary table as JSON", page_sub(summary, "data/grades/json/"), PUBLIC_PAGE),
        Case(
            "summary table in another format",
            page_sub(summary, "data/grades/xml/"),
            {EVERYONE: (NOT_FOUND, NOT_FOUND)},
        ),
        Case(
            "summary table not published",
            page_sub(summary, "data/locality/csv/"),
            {EVERYONE: (NOT_FOUND, NOT_FOUND)},
        ),
        Case(
            "draft summary",
            "/local-offer/draft-summary/",
            {EVERYONE: (NOT_FOUND, NOT_FOUND)},
        ),
        Case("governance section", page_path(governance), GOVERNANCE),
        Case("governance report", page_path(report), GOVERNANCE),
        Case("governance report as PDF", page_sub(report, "pdf/"), GOVERNANCE),
        Case("governance report as CSV", page_sub(report, "csv/"), GOVERNANCE),
        # Wagtail finds the page's route before it checks privacy: an address the report
        # does not serve is not found, for everyone, and shows nothing of it.
        Case(
            "governance report, no such route",
            page_sub(report, "xlsx/"),
            {EVERYONE: (NOT_FOUND, NOT_FOUND)},
        ),
        Case("training section", page_path(lambda w: w.training.index), TRAINING_PAGE),
        Case("training module", page_path(lambda w: w.training.module), TRAINING_PAGE),
        Case("calibration case", page_path(lambda w: w.training.case), TRAINING_PAGE),
        Case("no such page", "/no-such-page/", {EVERYONE: (NOT_FOUND, NOT_FOUND)}),
    ],
    # The portal's screens in the Wagtail admin (through wagtail_hooks).
    "rubric_import_new": [admin_case("", "/admin/rubric/import/", (OK, OK))],
    "rubric_export": [
        admin_case("rubric", lambda w: f"/admin/rubric/{w.site.rubric.pk}/export/", (OK, OK)),
        admin_case(
            "not a rubric",
            lambda w: f"/admin/rubric/{w.site.framework.pk}/export/",
            (NOT_FOUND, NOT_FOUND),
        ),
    ],
    "rubric_import": [
        admin_case("rubric", lambda w: f"/admin/rubric/{w.site.rubric.pk}/import/", (OK, OK)),
    ],
    "training_dashboard": [admin_case("", "/admin/training/", (OK, NOT_ALLOWED))],
    "training_dashboard_results": [admin_case("", "/admin/training/results/", (OK, NOT_ALLOWED))],
    "training_invite": [admin_case("", "/admin/training/invite/", (OK, OK))],
    "calibration_references": [
        admin_case("", "/admin/training/calibration-references/", (OK, NOT_ALLOWED))
    ],
    "calibration_reference_record": [
        admin_case(
            "case",
            lambda w: f"/admin/training/calibration-references/{w.training.case.pk}/record/",
            (NOT_ALLOWED, wrote()),
        )
    ],
    "training_invitations:index": [
        admin_case("", "/admin/training/invitations/", (OK, NOT_ALLOWED))
    ],
    "training_invitations:index_results": [
        admin_case("", "/admin/training/invitations/results/", (OK, NOT_ALLOWED))
    ],
    "training_invitations:send_again": [
        admin_case(
            "pending",
            lambda w: f"/admin/training/invitations/{w.invitations.pending.pk}/send-again/",
            (NOT_ALLOWED, wrote(location="/admin/training/invitations/")),
        )
    ],
}


def _viewset_cases(namespace, prefix, object_path, permissions):
    """A ModelViewSet's screens, from `permissions`: {view name: {role: (GET, POST)}}."""
    paths = {
        "index": "",
        "index_results": "results/",
        "add": "new/",
        "edit": "edit/{pk}/",
        "delete": "delete/{pk}/",
        "history": "history/{pk}/",
        "history_results": "history-results/{pk}/",
        "usage": "usage/{pk}/",
        "inspect": "inspect/{pk}/",
        "copy": "copy/{pk}/",
    }
    for view, outcomes in permissions.items():
        suffix = paths[view]

        def build(w, suffix=suffix):
            return f"/admin/{prefix}/" + suffix.format(pk=object_path(w).pk)

        PROJECT[f"{namespace}:{view}"] = [admin_case("", build, outcomes)]


LIST = (OK, NOT_ALLOWED)
DENIED = (ADMIN_DENIED, ADMIN_DENIED)
# QA leads hold only the permissions the role gives them (portal/framework/roles.py); a
# viewset's other screens send them back to the dashboard. Wagtail's history screen needs
# the add, change or delete permission and its usage screen the change permission, so QA
# leads, who only view plans and audits, see neither. Administrators hold every permission.
_viewset_cases(
    "plans",
    "plans",
    lambda w: w.audits.draft_assignment.plan,
    {
        "index": LIST,
        "index_results": LIST,
        # Administrators may correct the register by hand; an empty form comes back.
        "add": {QA: DENIED, SU: (OK, OK)},
        "edit": {QA: DENIED, SU: (OK, OK)},
        "history": {QA: DENIED, SU: LIST},
        "history_results": {QA: DENIED, SU: LIST},
        "usage": {QA: DENIED, SU: LIST},
        "inspect": LIST,
    },
)
PROJECT["plans:delete"] = [
    admin_case(
        "plan nobody audits",
        lambda w: f"/admin/plans/delete/{w.spare_plan.pk}/",
        {QA: DENIED, SU: (OK, wrote(location="/admin/plans/"))},
    ),
    admin_case(
        "plan with assignments",
        lambda w: f"/admin/plans/delete/{w.audits.draft_assignment.plan.pk}/",
        # Refused (the assignments protect it): the page again, nothing deleted.
        {QA: DENIED, SU: (OK, OK)},
    ),
]
_viewset_cases(
    "cycles",
    "cycles",
    lambda w: w.audits.cycle,
    {
        "index": LIST,
        "index_results": LIST,
        "add": (OK, OK),
        "edit": (OK, OK),
        # Refused for a cycle with assignments: the page again, nothing deleted.
        "delete": {QA: DENIED, SU: (OK, OK)},
        "history": LIST,
        "history_results": LIST,
        "usage": LIST,
        "inspect": LIST,
        "copy": (OK, OK),
    },
)
# Audits are read, never written, in the admin (AuditViewSet: "Read-only: grades are
# derived, never edited here"): not even administrators add, edit, copy or delete one.
_viewset_cases(
    "audits",
    "audits",
    lambda w: w.audits.submitted_audit,
    {
        "index": LIST,
        "index_results": LIST,
        "add": DENIED,
        "edit": DENIED,
        "delete": DENIED,
        "history": {QA: DENIED, SU: LIST},
        "history_results": {QA: DENIED, SU: LIST},
        "usage": {QA: DENIED, SU: LIST},
        "inspect": LIST,
        "copy": DENIED,
    },
)
# QA leads record conflicts of interest (add); only administrators change or remove one.
_viewset_cases(
    "conflicts",
    "conflicts",
    lambda w: w.audits.conflict,
    {
        "index": LIST,
        "index_results": LIST,
        "add": (OK, OK),
        "edit": {QA: DENIED, SU: (OK, OK)},
        "delete": {QA: DENIED, SU: (OK, wrote(location="/admin/conflicts/"))},
        "history": LIST,
        "history_results": LIST,
        "usage": {QA: DENIED, SU: LIST},
        "copy": (OK, OK),
    },
)
PROJECT.update(
    {
        "cycles:draw_sample": [
            # The cycle's plans are assigned: the sample is locked, nothing is redrawn.
            admin_case(
                "",
                lambda w: f"/admin/cycles/draw-sample/{w.audits.cycle.pk}/",
                (NOT_ALLOWED, redirect(lambda w: f"/admin/cycles/inspect/{w.audits.cycle.pk}/")),
            )
        ],
        "cycles:assign": [
            admin_case("", lambda w: f"/admin/cycles/assign/{w.audits.cycle.pk}/", (OK, OK))
        ],
        "plan_import:upload": [admin_case("", "/admin/plans/import/", (OK, OK))],
        "plan_import:detail": [
            admin_case(
                "checked upload",
                lambda w: f"/admin/plans/import/{w.plan_import.pk}/",
                (OK, NOT_ALLOWED),
            ),
            admin_case(
                "no such upload", f"/admin/plans/import/{MISSING}/", (NOT_FOUND, NOT_ALLOWED)
            ),
        ],
        "plan_import:confirm": [
            admin_case(
                "checked upload",
                lambda w: f"/admin/plans/import/{w.plan_import.pk}/confirm/",
                (NOT_ALLOWED, wrote(location=lambda w: f"/admin/plans/import/{w.plan_import.pk}/")),
            )
        ],
    }
)


@dataclass(frozen=True)
class Suspicion:
    """Why a case's entry says what the design asks for, not what the code does today."""

    reason: str
    raises: type | None = None


TRAINING_FOR_AUDITORS = Suspicion(
    "DESIGN.md gives training to auditors only, but portal.training.views.module_complete "
    "and knowledge_check (through services._check_module_for) let anyone signed in record a "
    "completion or a knowledge-check attempt for a module meant for all auditors"
)
AGENCY_IS_EVERYONE = Suspicion(
    "portal.audits.actions._grant gives an action's view and change permissions to the group "
    "'Agency: <agency>', which staff_agency_set fills with every member of staff of the "
    "agency: an auditor from education, who owns no action, sees and updates education's "
    "actions. DESIGN.md gives actions to the Action owner role ('actions assigned to them "
    "or their agency'); whether 'their agency' means every member of staff is the lead's call"
)
AUDITS_READ_ONLY = Suspicion(
    "AuditViewSet is meant to be read-only, but only the QA lead role's missing permissions "
    "keep it so: an administrator can add (a server error), edit (the summary is saved "
    "blank), copy or delete a submitted audit"
)
PROTECTED_DELETE = Suspicion(
    "Deleting a plan or cycle that assignments refer to raises ProtectedError in Wagtail's "
    "delete view: a server error instead of a refusal",
    raises=ProtectedError,
)
# Behaviour that looks wrong for a role, reported to the lead rather than taken as expected:
# the entry holds what the design asks for and the test is expected to fail, strictly, so
# that it fails once the code is changed and the entry can become a plain one.
SUSPECTED = {
    **{
        (key, label, role, "POST"): TRAINING_FOR_AUDITORS
        for key, label in (
            ("module_complete", "module without a check"),
            ("knowledge_check", "module with a check"),
        )
        for role in (MOD, OWNER, BOARD, QA)
    },
    **{
        ("action_detail", "Education's action", AUD, method): AGENCY_IS_EVERYONE
        for method in ("GET", "POST")
    },
    **{
        (f"audits:{view}", "", SU, method): AUDITS_READ_ONLY
        for view in ("add", "edit", "delete", "copy")
        for method in ("GET", "POST")
    },
    ("plans:delete", "plan with assignments", SU, "POST"): PROTECTED_DELETE,
    ("cycles:delete", "", SU, "POST"): PROTECTED_DELETE,
}

# Wagtail's admin screens anyone may reach, signed in or not (for everyone without admin
# access; the rest of the admin sends them to its sign-in).
ADMIN_PUBLIC = {
    "wagtailadmin_login": (OK, OK),
    "wagtailadmin_password_reset": (OK, OK),
    "wagtailadmin_password_reset_done": (OK, NOT_ALLOWED),
    "wagtailadmin_password_reset_confirm": (OK, OK),
    "wagtailadmin_password_reset_complete": (OK, NOT_ALLOWED),
    "wagtailadmin_sprite": (OK, OK),
    "wagtailadmin_javascript_catalog": (OK, NOT_ALLOWED),
}


def training_rules_path(w):
    """The training rules' edit screen (a Wagtail setting)."""
    return f"/admin/settings/training/trainingsettings/{w.training_rules.pk}/"


# Extra cases with real objects on Wagtail's own patterns.
THIRD_PARTY_EXTRA = {
    "admin/settings/<slug:app_name>/<slug:model_name>/": [
        # The training rules are a setting QA leads change (training.change_trainingsettings).
        Case(
            "training rules",
            "/admin/settings/training/trainingsettings/",
            admin((redirect(training_rules_path),) * 2),
        )
    ],
    "admin/settings/<slug:app_name>/<slug:model_name>/<int:pk>/": [
        # An empty form is shown again with its errors.
        Case("training rules", training_rules_path, admin((OK, OK)))
    ],
    "documents/^(\\d+)/(.*)$": [
        Case(
            "a document in the public collection",
            lambda w: f"/documents/{w.document.pk}/{w.document.filename}",
            {EVERYONE: (OK, OK)},
        )
    ],
}
SAMPLE_PATHS = {"admin/^.*/$": "/admin/no-such-screen/"}


# Walking the URLconf -------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    """A URL pattern as served: its full route, its namespaced name and its levels."""

    route: str
    name: str | None
    levels: tuple

    @property
    def key(self):
        return self.name or self.route


def url_patterns(resolver=None, levels=(), namespace=None):
    """Every URL pattern the URLconf serves, with its full route and namespaced name."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from url_patterns(entry, (*levels, entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = entry.name and (f"{namespace}:{entry.name}" if namespace else entry.name)
            all_levels = (*levels, entry.pattern)
            yield Pattern("".join(str(level) for level in all_levels), name, all_levels)


def project_admin_owners():
    """The admin URL namespaces and names the portal registers through its wagtail_hooks:
    its viewsets, and the URLs of its register_admin_urls hooks."""
    # Importing the admin's URLconf is what registers the viewsets.
    assert get_resolver().url_patterns
    namespaces = {
        viewset.url_namespace
        for viewset in admin_viewsets.viewsets
        if type(viewset).__module__.startswith("portal.")
    }
    names = set()
    for hook in hooks.get_hooks("register_admin_urls"):
        if hook.__module__.startswith("portal."):
            names.update(pattern.key for pattern in url_patterns(_Urls(hook())))
    return namespaces, names


class _Urls:
    """A list of URL patterns dressed as a resolver, for url_patterns()."""

    def __init__(self, patterns):
        self.url_patterns = patterns


def tree_of(pattern, owners=None):
    """The tree a pattern belongs to: "project" for the portal's own patterns (its screens
    in the admin included), otherwise "admin" or "documents" (Wagtail's)."""
    namespaces, names = owners or project_admin_owners()
    if pattern.route.startswith("admin/"):
        namespace = pattern.name.split(":")[0] if pattern.name and ":" in pattern.name else None
        if namespace in namespaces or pattern.name in names:
            return "project"
        return "admin"
    if pattern.route.startswith("documents/"):
        return "documents"
    return "project"


PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<parameter>[^>]+)>")
CANDIDATES = ("1", "x", "live")


def _level_sample(level):
    if isinstance(level, RoutePattern):
        return PARAMETER.sub(
            lambda match: "1" if match["converter"] == "int" else "x", str(level._route)
        )
    assert isinstance(level, RegexPattern), level
    regex = level.regex.pattern
    template, parameters = normalize(regex)[0]
    for values in itertools.product(CANDIDATES, repeat=len(parameters)):
        sample = template % dict(zip(parameters, values, strict=True))
        if re.fullmatch(regex, sample):
            return sample
    raise AssertionError(f"No sample path for {regex}")


def sample_path(pattern):
    """An address the pattern serves, with placeholders in its parameters."""
    path = SAMPLE_PATHS.get(pattern.route) or "/" + "".join(
        _level_sample(level) for level in pattern.levels
    )
    # Django leaves out the "^" of included regex patterns from a match's route.
    resolved = resolve(path).route.replace("^", "")
    assert resolved == pattern.route.replace("^", ""), f"{path} does not resolve to {pattern.route}"
    return path


# The matrix ----------------------------------------------------------------------------


def _third_party_cases(pattern, tree):
    if tree == "documents":
        cases = [Case("placeholder ids", sample_path(pattern), {EVERYONE: (NOT_FOUND,) * 2})]
    else:
        outcomes = ADMIN_PUBLIC.get(pattern.key, (ADMIN_LOGIN, ADMIN_LOGIN))
        cases = [Case("placeholder ids", sample_path(pattern), {NO_ADMIN_ACCESS: outcomes})]
    return cases + THIRD_PARTY_EXTRA.get(pattern.route, [])


def matrix():
    """(case, role, method) for every pattern with an entry; unknown patterns are reported
    by test_every_project_pattern_has_an_entry."""
    owners = project_admin_owners()
    params = []
    for pattern in url_patterns():
        tree = tree_of(pattern, owners)
        if tree == "project":
            cases = PROJECT.get(pattern.key, [])
        else:
            cases = _third_party_cases(pattern, tree)
        for case in cases:
            for role, by_method in case.roles.items():
                for method in by_method:
                    label = f"[{case.label}]" if case.label else ""
                    suspicion = SUSPECTED.get((pattern.key, case.label, role, method))
                    marks = (
                        pytest.mark.xfail(
                            strict=True, reason=suspicion.reason, raises=suspicion.raises
                        )
                        if suspicion
                        else ()
                    )
                    params.append(
                        pytest.param(
                            case,
                            role,
                            method,
                            id=f"{pattern.key}{label}-{role}-{method}",
                            marks=marks,
                        )
                    )
    return params


def test_every_project_pattern_has_an_entry():
    owners = project_admin_owners()
    missing = sorted(
        pattern.key
        for pattern in url_patterns()
        if tree_of(pattern, owners) == "project" and pattern.key not in PROJECT
    )
    assert not missing, UNKNOWN_PATTERN.format(count=len(missing), patterns=", ".join(missing))


def test_no_entry_for_a_pattern_that_is_gone():
    served = {pattern.key for pattern in url_patterns()}
    routes = {pattern.route for pattern in url_patterns()}
    stale = sorted(set(PROJECT) - served) + sorted(set(THIRD_PARTY_EXTRA) - routes)
    stale += sorted(set(ADMIN_PUBLIC) - served - routes)
    assert not stale, STALE_ENTRY.format(patterns=", ".join(stale))


def test_every_suspicion_names_a_case_of_the_matrix():
    cases = {
        (key, case.label, role, method)
        for key, key_cases in PROJECT.items()
        for case in key_cases
        for role, by_method in case.roles.items()
        for method in by_method
    }
    assert not set(SUSPECTED) - cases, set(SUSPECTED) - cases


def test_every_case_gives_every_role_both_methods():
    for cases in [*PROJECT.values(), *THIRD_PARTY_EXTRA.values()]:
        for case in cases:
            assert set(case.roles) == set(ROLES), (case.label, set(ROLES) - set(case.roles))
            for by_method in case.roles.values():
                assert set(by_method) == {"GET", "POST"}


# The database, before and after --------------------------------------------------------

FINGERPRINTED_APPS = (
    "framework",
    "audits",
    "training",
    "local_offer",
    "auth",
    "guardian",
    "wagtailcore",
    "wagtaildocs",
    "wagtailimages",
    "wagtailredirects",
    "otp_totp",
    "otp_static",
)
# Bookkeeping that reading a screen may write, and that says nothing about who may do what.
NOT_FINGERPRINTED = {
    "wagtailcore.referenceindex",
    "wagtailcore.pagesubscription",
    "wagtailcore.editingsession",
    "wagtailcore.uploadedfile",
}


def _fingerprinted_tables():
    tables = []
    for label in FINGERPRINTED_APPS:
        try:
            config = apps.get_app_config(label)
        except LookupError:
            continue
        for model in config.get_models(include_auto_created=True):
            if model._meta.label_lower in NOT_FINGERPRINTED or model._meta.proxy:
                continue
            columns = [f.column for f in model._meta.local_concrete_fields]
            tables.append((model._meta.label, model._meta.db_table, columns, model._meta.pk.column))
    return tables


def database_fingerprint(tables):
    """A digest of every row of the portal's tables (and the users, groups, permissions,
    pages, revisions and log entries they depend on), per table."""
    quote = connection.ops.quote_name
    digests = {}
    with connection.cursor() as cursor:
        for label, table, columns, pk in tables:
            cursor.execute(
                f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(table)} "  # noqa: S608
                f"ORDER BY {quote(pk)}"
            )
            digests[label] = hashlib.sha256(repr(cursor.fetchall()).encode()).hexdigest()
    return digests


def rows_written():
    """How many rows this connection has inserted, updated or deleted so far: a counter that
    only goes up, cheap enough to read around every request."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        return connection.connection.total_changes
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) "
            "FROM pg_stat_xact_all_tables"
        )
        return cursor.fetchone()[0]


def request_and_changes(world, client, method, url, body):
    """Make the request in a savepoint and return (response, the tables it changed). A
    request that wrote no row at all changed nothing; otherwise the tables are fingerprinted
    after it, and again before it (the savepoint rolled back), and compared."""
    savepoint = transaction.savepoint()
    written = rows_written()
    response = client.get(url) if method == "GET" else client.post(url, body)
    if rows_written() == written:
        transaction.savepoint_commit(savepoint)
        return response, []
    after = database_fingerprint(world.tables)
    transaction.savepoint_rollback(savepoint)
    before = database_fingerprint(world.tables)
    return response, [label for label in before if before[label] != after[label]]


# Fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The world, built once for the module in a transaction rolled back at its end; every
    test runs in a savepoint inside it, so what an allowed request writes is undone."""
    isolated = override_settings(
        MEDIA_ROOT=tmp_path_factory.mktemp("media"),
        # A cache of its own (Redis in CI), so no cached page of another test is served.
        CACHES={
            "default": {
                **_default_cache(),
                "KEY_PREFIX": f"matrix-{uuid.uuid4().hex[:8]}",
            }
        },
        PORTAL_REPORT_CACHE_SECONDS=120,
    )
    with isolated, django_db_blocker.unblock(), transaction.atomic():
        # Pinned rubrics are cached by revision id, and ids are handed out again after the
        # rollbacks of earlier tests.
        rubric_of_revision.cache_clear()
        grader_of_revision.cache_clear()
        built = portal_world()
        built.tables = _fingerprinted_tables()
        yield built
        transaction.set_rollback(True)


@pytest.fixture(scope="module")
def client_for_module(world):
    """One test client for the module: a new client loads the middleware again, and
    WhiteNoise reads every static file when it starts (about a second each time)."""
    return Client()


def _default_cache():
    return {key: value for key, value in settings.CACHES["default"].items() if key != "KEY_PREFIX"}


@pytest.mark.parametrize(("case", "role", "method"), matrix())
def test_who_may_do_what(world, client_for_module, case, role, method):
    expected = case.roles[role][method]
    client = client_for_module
    client.cookies.clear()  # signed out
    user = world.users[role]
    if user is not None:
        client.force_login(user)
    url = case.url(world)
    body = case.body(world) if method == "POST" else None

    response, changed = request_and_changes(world, client, method, url, body)

    where = f"{method} {url} as {role}"
    assert response.status_code == expected.status, (
        f"{where}: expected {expected.describe()}, got {response.status_code}"
        f" {response.get('Location', '')}"
    )
    if expected.location is not None:
        location = expected.location(world) if callable(expected.location) else expected.location
        actual = response["Location"]
        if location.endswith(("=", "?")):
            assert actual.startswith(location), f"{where}: redirected to {actual}"
        else:
            assert actual.split("?")[0] == location, f"{where}: redirected to {actual}"
    if expected.writes:
        assert changed, f"{where} ({response.status_code}) was to save something, but wrote nothing"
    else:
        assert not changed, f"{where} ({response.status_code}) changed {', '.join(changed)}"
