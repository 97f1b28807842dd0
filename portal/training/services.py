"""Writes for training: completing modules and knowledge checks, recording a calibration
case's reference, starting and marking calibration attempts, accreditation, and inviting
auditors. Every write is in the audit log."""

import calendar
import datetime
import hashlib
import secrets
from decimal import ROUND_DOWN, Decimal
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from guardian.shortcuts import assign_perm
from wagtail.log_actions import log

from portal.audits.agreement import ticks_comparison
from portal.audits.cycles import VIEW_ASSIGNMENT
from portal.audits.models import Assignment, Audit
from portal.audits.recording import rubric_of_revision
from portal.audits.signals import audit_submitted
from portal.framework.models import RubricPage
from portal.framework.roles import AUDITOR

from .marking import calibration_passed, check_answers, check_passed, percent_down
from .models import (
    Accreditation,
    Agency,
    CalibrationAttempt,
    CalibrationReference,
    Invitation,
    KnowledgeCheckAttempt,
    ModuleCompletion,
    StaffProfile,
    TrainingSettings,
)
from .selectors import (
    calibration_attempt_open,
    calibration_cases_ready,
    calibration_reference_current,
    modules_for,
    required_modules_remaining,
)

MODULE_NOT_FOR_YOU = "This module is not part of your training."
MODULE_HAS_CHECK = "This module has a knowledge check: pass it to complete the module."
MODULE_HAS_NO_CHECK = "This module has no knowledge check: mark it complete instead."
MODULES_FIRST = (
    "Complete the required training modules before you try a calibration case. Still to do: "
    "{modules}."
)
NO_CASE_LEFT = (
    "There is no calibration case you have not already tried. Ask a QA lead to add another."
)
NO_PUBLISHED_RUBRIC = "There is no published rubric to record a reference against."
EMAIL_HAS_ACCOUNT = "Someone with this email address already has an account."
INVITATION_UNKNOWN = "This invitation link is not valid. Check you copied the whole link."
INVITATION_USED = "This invitation has already been used. Sign in with your email address instead."
INVITATION_EXPIRED = (
    "This invitation link expired on {date}. Ask your QA lead to send you a new invitation."
)

CALIBRATION_DAYS = 14
REFERENCE_DAYS = 30

INVITATION_SUBJECT = "You are invited to audit EHC plans"
INVITATION_BODY = """Hello {name},

{inviter} has invited you to join the EHCP Quality Assurance Portal as an auditor from {agency}.

Set your password with this link, which works once and until {expires}:
{link}

Your username is your email address. After setting your password you will see your training:
the modules to complete and a calibration case to pass before you are given plans to audit.
"""
REMINDER_SUBJECT = "Your EHCP auditor accreditation expires on {date}"
REMINDER_BODY = """Hello {name},

Your accreditation as an EHCP auditor expires on {date}. After that you cannot be given plans
to audit until you pass a calibration case again.

Renew it from My training:
{link}
"""
LAPSE_SUBJECT = "EHCP auditors whose accreditation has lapsed hold open audits"
LAPSE_BODY = """Hello,

These auditors' accreditation has expired while they still hold plans to audit. Their
assignments have been kept: give the plans to someone else, or ask the auditor to renew
their accreditation.

{rows}

The training dashboard lists every auditor's accreditation:
{link}
"""


def absolute_url(path):
    return settings.WAGTAILADMIN_BASE_URL.rstrip("/") + path


def _send_after_commit(subject, body, recipients):
    transaction.on_commit(partial(send_mail, subject, body, None, recipients), robust=True)


def _add_months(day, months):
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# Agencies

AGENCY_GROUP = "Agency: {label}"


def agency_group(agency):
    """The group of everyone in `agency`: actions owned by an agency grant it permissions."""
    group, _ = Group.objects.get_or_create(name=AGENCY_GROUP.format(label=Agency(agency).label))
    return group


@transaction.atomic
def staff_agency_set(user, agency):
    """Record the agency `user` works for, and keep them in that agency's group only."""
    StaffProfile.objects.update_or_create(user=user, defaults={"agency": agency})
    others = [agency_group(other) for other in Agency.values if other != agency]
    user.groups.remove(*others)
    user.groups.add(agency_group(agency))


# Modules


def _check_module_for(module, learner):
    if not modules_for(learner).filter(pk=module.pk).exists():
        raise PermissionDenied(MODULE_NOT_FOR_YOU)


@transaction.atomic
def module_complete(module, learner):
    """Mark a module without a knowledge check complete (again: no change)."""
    _check_module_for(module, learner)
    if module.has_knowledge_check:
        raise ValidationError(MODULE_HAS_CHECK, code="has_check")
    completion, created = ModuleCompletion.objects.get_or_create(module=module, learner=learner)
    if created:
        log(instance=completion, action="portal.training.module_complete", user=learner)
    return completion


def knowledge_check_questions(module):
    """The module's questions as marking.check_answers takes them."""
    return [
        {
            "id": block.id,
            "question": block.value["question"],
            "options": [dict(option) for option in block.value["options"]],
            "explanation": block.value["explanation"],
        }
        for block in module.questions
    ]


@transaction.atomic
def knowledge_check_take(module, learner, answers):
    """Mark the learner's answers ({question id: [option numbers]}) and record the try;
    passing completes the module. Raises ValueError for an unanswered question (nothing
    is recorded)."""
    _check_module_for(module, learner)
    if not module.has_knowledge_check:
        raise ValidationError(MODULE_HAS_NO_CHECK, code="no_check")
    marked = check_answers(knowledge_check_questions(module), answers)
    passed = check_passed(marked["correct"], marked["total"], module.pass_mark)
    attempt = KnowledgeCheckAttempt.objects.create(
        learner=learner,
        module=module,
        revision=module.live_revision,
        answers={outcome["id"]: outcome["chosen"] for outcome in marked["outcomes"]},
        correct=marked["correct"],
        total=marked["total"],
        score=marked["correct"] * 100 // marked["total"],
        passed=passed,
    )
    log(
        instance=attempt,
        action="portal.training.knowledge_check",
        user=learner,
        data={"module": module.title, "score": attempt.score, "passed": passed},
    )
    if passed:
        completion, created = ModuleCompletion.objects.get_or_create(
            module=module, learner=learner, defaults={"score": attempt.score}
        )
        if created:
            log(instance=completion, action="portal.training.module_complete", user=learner)
    attempt.outcomes = {outcome["id"]: outcome["right"] for outcome in marked["outcomes"]}
    return attempt


# Calibration


def _calibration_assignment(case, person, due_days, rubric_revision, assigned_by):
    assignment = Assignment.objects.create(
        calibration_case=case,
        auditor=person,
        due_on=timezone.localdate() + datetime.timedelta(days=due_days),
        rubric_revision=rubric_revision,
        assigned_by=assigned_by,
    )
    assign_perm(VIEW_ASSIGNMENT, person, assignment)
    # A learner starting calibration gives the case to themselves: no one else assigned it.
    log(
        instance=assignment,
        action="portal.training.calibration_assign",
        user=assigned_by or person,
        data={"case": case.pk, "due_on": assignment.due_on.isoformat()},
    )
    return assignment


@transaction.atomic
def calibration_reference_start(case, qa_lead):
    """The reference audit `qa_lead` is recording for `case` with the audit form: an
    unsubmitted one of theirs, or a new one under the live rubric."""
    pending = CalibrationReference.objects.filter(case=case, assignment__auditor=qa_lead).exclude(
        assignment__audit__status=Audit.Status.SUBMITTED
    )
    reference = pending.select_related("assignment").first()
    if reference:
        return reference
    if not RubricPage.objects.live().exists():
        raise ValidationError(NO_PUBLISHED_RUBRIC, code="no_rubric")
    assignment = _calibration_assignment(case, qa_lead, REFERENCE_DAYS, None, qa_lead)
    reference = CalibrationReference.objects.create(case=case, assignment=assignment)
    log(instance=reference, action="portal.training.reference_start", user=qa_lead)
    return reference


@transaction.atomic
def calibration_start(learner):
    """The learner's calibration attempt: the one they have open, or a new one on the first
    case (in listed order) with a reference that they have not tried, audited under the
    reference's rubric revision. Refused until the required modules are complete."""
    open_attempt = calibration_attempt_open(learner)
    if open_attempt:
        return open_attempt
    remaining = required_modules_remaining(learner)
    if remaining:
        modules = ", ".join(module.title for module in remaining)
        raise ValidationError(MODULES_FIRST.format(modules=modules), code="modules_first")
    tried = CalibrationAttempt.objects.filter(learner=learner).values("case_id")
    case = calibration_cases_ready().exclude(pk__in=tried).first()
    if case is None:
        raise ValidationError(NO_CASE_LEFT, code="no_case")
    reference = calibration_reference_current(case)
    assignment = _calibration_assignment(
        case, learner, CALIBRATION_DAYS, reference.assignment.audit.rubric_revision, None
    )
    attempt = CalibrationAttempt.objects.create(
        learner=learner, case=case, reference=reference, assignment=assignment
    )
    log(
        instance=attempt,
        action="portal.training.calibration_start",
        user=learner,
        data={"case": case.title},
    )
    return attempt


def _comparison_for_storage(comparison):
    agreement = comparison["criterion_agreement"]
    return {
        **comparison,
        "criterion_agreement": None if agreement is None else f"{float(agreement):.4f}",
    }


def calibration_mark(attempt, audit):
    """Compare the submitted calibration audit with the attempt's reference, record the
    figures and the pass rule in force, and accredit on a pass."""
    reference_audit = attempt.reference.assignment.audit
    rubric = rubric_of_revision(reference_audit.rubric_revision_id)
    comparison = ticks_comparison(rubric, reference_audit.ticks, audit.ticks)
    rules = TrainingSettings.load()
    passed = calibration_passed(
        comparison,
        min_agreement=rules.calibration_min_agreement,
        overall_must_match=rules.calibration_overall_must_match,
    )
    agreement = comparison["criterion_agreement"]
    attempt.submitted_at = audit.submitted_at
    attempt.criterion_agreement = (
        None
        if agreement is None
        else Decimal(agreement.numerator / agreement.denominator).quantize(
            Decimal("0.0001"), rounding=ROUND_DOWN
        )
    )
    attempt.overall_matched = comparison["overall"]["matched"]
    attempt.sections_matched = comparison["sections_matched"]
    attempt.sections_total = comparison["sections_total"]
    attempt.passed = passed
    attempt.comparison = _comparison_for_storage(comparison)
    attempt.pass_rule = {
        "min_agreement": rules.calibration_min_agreement,
        "overall_must_match": rules.calibration_overall_must_match,
    }
    attempt.save()
    log(
        instance=attempt,
        action="portal.training.calibration_mark",
        user=attempt.learner,
        data={
            "case": attempt.case.title,
            "criterion_agreement": percent_down(agreement) if agreement is not None else None,
            "overall_matched": attempt.overall_matched,
            "passed": passed,
        },
    )
    if passed and not required_modules_remaining(attempt.learner):
        accreditation_grant(attempt)
    return attempt


@receiver(audit_submitted, dispatch_uid="portal.training.calibration")
def _calibration_submitted(sender, audit, user, **kwargs):
    attempt = CalibrationAttempt.objects.filter(assignment_id=audit.assignment_id).first()
    if attempt:
        calibration_mark(attempt, audit)
        return
    reference = CalibrationReference.objects.filter(assignment_id=audit.assignment_id).first()
    if reference:
        log(
            instance=reference,
            action="portal.training.reference_record",
            user=user,
            data={"case": reference.case.title, "overall_grade": audit.overall_grade},
        )


# Accreditation


def accreditation_grant(attempt):
    """Accredit the attempt's learner for the period QA leads set, from today."""
    months = TrainingSettings.load().accreditation_months
    accreditation = Accreditation.objects.create(
        auditor=attempt.learner,
        attempt=attempt,
        expires_on=_add_months(timezone.localdate(), months),
    )
    log(
        instance=accreditation,
        action="portal.training.accredit",
        user=attempt.learner,
        data={"expires_on": accreditation.expires_on.isoformat()},
    )
    return accreditation


def _name(user):
    return user.get_full_name() or user.get_username()


def accreditation_reminders_send(today=None):
    """Email each auditor whose accreditation expires within the reminder period (and has
    no later one) once; returns how many were reminded."""
    today = today or timezone.localdate()
    days = TrainingSettings.load().reminder_days
    due = (
        Accreditation.objects.filter(
            expires_on__gte=today,
            expires_on__lte=today + datetime.timedelta(days=days),
            reminder_sent_at__isnull=True,
        )
        .select_related("auditor")
        .order_by("pk")
    )
    sent = 0
    for accreditation in due:
        auditor = accreditation.auditor
        later = Accreditation.objects.filter(
            auditor=auditor, expires_on__gt=accreditation.expires_on
        )
        with transaction.atomic():
            claimed = Accreditation.objects.filter(
                pk=accreditation.pk, reminder_sent_at__isnull=True
            ).update(reminder_sent_at=timezone.now())
            if not claimed:
                continue  # another run claimed it, and logs it
            if later.exists() or not auditor.is_active or not auditor.email:
                log(instance=accreditation, action="portal.training.reminder_not_needed", user=None)
                continue
            date = date_format(accreditation.expires_on, "j F Y")
            _send_after_commit(
                REMINDER_SUBJECT.format(date=date),
                REMINDER_BODY.format(
                    name=_name(auditor), date=date, link=absolute_url(reverse("my_training"))
                ),
                [auditor.email],
            )
            log(instance=accreditation, action="portal.training.reminder", user=None)
            sent += 1
    return sent


def accreditation_lapses_report(today=None):
    """Tell QA leads, in one email, about auditors whose accreditation has expired (and has
    not been renewed) while they hold plans to audit. Their assignments are kept. Each
    lapse is reported once; returns the auditors reported."""
    from .selectors import accreditation_current, open_plan_assignments

    today = today or timezone.localdate()
    lapsed = (
        Accreditation.objects.filter(expires_on__lt=today, lapse_reported_at__isnull=True)
        .select_related("auditor__staff_profile")
        .order_by("auditor__last_name", "pk")
    )
    rows, reported = [], []
    with transaction.atomic():
        for accreditation in lapsed:
            Accreditation.objects.filter(pk=accreditation.pk).update(
                lapse_reported_at=timezone.now()
            )
            auditor = accreditation.auditor
            renewed = accreditation_current(auditor, on=today) is not None
            open_count = (
                0 if renewed or auditor in reported else open_plan_assignments(auditor).count()
            )
            if not open_count:
                # Marked as dealt with though there is nothing to tell QA leads: logged too.
                log(
                    instance=accreditation,
                    action="portal.training.lapse_noted",
                    user=None,
                    data={"renewed": renewed},
                )
                continue
            reported.append(auditor)
            profile = getattr(auditor, "staff_profile", None)
            agency = f" ({profile.get_agency_display()})" if profile else ""
            expired = date_format(accreditation.expires_on, "j F Y")
            plans = "plan" if open_count == 1 else "plans"
            rows.append(
                f"- {_name(auditor)}{agency}: expired {expired}, {open_count} {plans} to audit"
            )
            log(
                instance=accreditation,
                action="portal.training.lapse",
                user=None,
                data={"open_assignments": open_count},
            )
        recipients = list(
            get_user_model()
            .objects.filter(groups__name="QA lead", is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
        )
        if rows and recipients:
            _send_after_commit(
                LAPSE_SUBJECT,
                LAPSE_BODY.format(
                    rows="\n".join(rows), link=absolute_url(reverse("training_dashboard"))
                ),
                recipients,
            )
    return reported


# Invitations


def _token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def invitation_create(*, email, first_name, last_name, agency, invited_by):
    """Invite a new auditor: an account (switched off until they accept) in the Auditor
    group with their agency, and an email with a one-time link to set a password. Inviting
    someone again before they accept replaces the earlier link. Returns the invitation,
    with `link` set."""
    email = get_user_model().objects.normalize_email(email).lower()
    user = get_user_model().objects.filter(email__iexact=email).first()
    if user is not None and (user.is_active or user.has_usable_password()):
        raise ValidationError({"email": EMAIL_HAS_ACCOUNT}, code="has_account")
    now = timezone.now()
    if user is None:
        user = get_user_model()(username=email, email=email, is_active=False)
        user.set_unusable_password()
    user.first_name, user.last_name = first_name.strip(), last_name.strip()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as error:  # the username (the address) is someone else's
        raise ValidationError({"email": EMAIL_HAS_ACCOUNT}, code="has_account") from error
    user.groups.add(Group.objects.get(name=AUDITOR))
    staff_agency_set(user, agency)
    Invitation.objects.filter(user=user, accepted_at__isnull=True, expires_at__gt=now).update(
        expires_at=now
    )
    token = secrets.token_urlsafe(32)
    days = TrainingSettings.load().invitation_days
    invitation = Invitation.objects.create(
        email=email,
        first_name=user.first_name,
        last_name=user.last_name,
        agency=agency,
        token_hash=_token_hash(token),
        invited_by=invited_by,
        user=user,
        expires_at=now + datetime.timedelta(days=days),
    )
    invitation.link = absolute_url(reverse("invitation_accept", args=[token]))
    _send_after_commit(
        INVITATION_SUBJECT,
        INVITATION_BODY.format(
            name=user.first_name or email,
            inviter=_name(invited_by) if invited_by else "The QA lead",
            agency=invitation.get_agency_display().lower(),
            expires=date_format(timezone.localtime(invitation.expires_at), "j F Y, H:i"),
            link=invitation.link,
        ),
        [email],
    )
    log(instance=invitation, action="portal.training.invite", user=invited_by)
    return invitation


class InvitationInvalid(Exception):
    """The link is unknown, used or expired (the message says which)."""


def invitation_for_token(token):
    """The pending invitation the link's token belongs to; raises InvitationInvalid."""
    invitation = (
        Invitation.objects.filter(token_hash=_token_hash(token)).select_related("user").first()
    )
    if invitation is None:
        raise InvitationInvalid(INVITATION_UNKNOWN)
    if invitation.accepted_at:
        raise InvitationInvalid(INVITATION_USED)
    if invitation.expires_at <= timezone.now():
        expired = date_format(timezone.localtime(invitation.expires_at), "j F Y")
        raise InvitationInvalid(INVITATION_EXPIRED.format(date=expired))
    return invitation


@transaction.atomic
def invitation_accept(token, password):
    """Use the invitation: set the password and switch the account on. A link works once:
    of two uses at the same moment, only one succeeds. Returns the user."""
    invitation = invitation_for_token(token)
    used = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, expires_at__gt=timezone.now()
    ).update(accepted_at=timezone.now())
    if not used:
        raise InvitationInvalid(INVITATION_USED)
    user = invitation.user
    user.set_password(password)
    user.is_active = True
    user.save(update_fields=["password", "is_active"])
    log(instance=invitation, action="portal.training.invitation_accept", user=user)
    return user
