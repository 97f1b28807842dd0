"""Reads for training: which modules a person must complete, their progress, calibration
attempts and accreditation, the current reference of a calibration case, whether an auditor
may be given plans, and the QA leads' dashboard rows and reach by agency."""

import datetime
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.dateformat import format as date_format

from portal.audits.models import Assignment, Audit
from portal.framework.roles import AUDITOR

from .models import (
    Accreditation,
    Agency,
    CalibrationAttempt,
    CalibrationCasePage,
    CalibrationReference,
    KnowledgeCheckAttempt,
    ModuleCompletion,
    TrainingModulePage,
)

NOT_ACCREDITED = (
    "This auditor is not accredited yet: they must complete the required training modules "
    "and pass a calibration case before they can be given plans."
)
ACCREDITATION_EXPIRED = (
    "This auditor's accreditation expired on {date}: they must pass a calibration case "
    "again before they can be given plans."
)


def agency_of(user):
    profile = getattr(user, "staff_profile", None) if user.pk else None
    return profile.agency if profile else None


def modules_for(user):
    """The live modules meant for `user`: those for all auditors and for their agency."""
    audiences = [TrainingModulePage.Audience.ALL]
    agency = agency_of(user)
    if agency:
        audiences.append(agency)
    return TrainingModulePage.objects.live().filter(audience__in=audiences).order_by("path")


def required_modules_remaining(user):
    """The required modules `user` has not completed yet, in the order they are listed."""
    return list(
        modules_for(user).filter(required=True).exclude(completions__learner=user).order_by("path")
    )


def accreditation_current(user, on=None):
    """The accreditation that lets `user` be given plans on `on` (default today), or None."""
    on = on or timezone.localdate()
    return (
        Accreditation.objects.filter(auditor=user, expires_on__gte=on)
        .order_by("-expires_on")
        .first()
    )


def accreditation_refusal(user):
    """Why `user` may not be given plans for want of accreditation, or None if accredited."""
    if accreditation_current(user):
        return None
    last = Accreditation.objects.filter(auditor=user).order_by("-expires_on").first()
    if last:
        return ACCREDITATION_EXPIRED.format(date=date_format(last.expires_on, "j F Y"))
    return NOT_ACCREDITED


def calibration_reference_current(case):
    """The newest reference of a case whose audit has been submitted, or None."""
    return (
        CalibrationReference.objects.filter(
            case=case, assignment__audit__status=Audit.Status.SUBMITTED
        )
        .select_related("assignment__audit", "assignment__auditor")
        .order_by("-assignment__audit__submitted_at", "-pk")
        .first()
    )


def calibration_cases_ready():
    """Live calibration cases that have a submitted reference, in listed order."""
    submitted_reference = CalibrationReference.objects.filter(
        case=OuterRef("pk"), assignment__audit__status=Audit.Status.SUBMITTED
    )
    return CalibrationCasePage.objects.live().filter(Exists(submitted_reference)).order_by("path")


def calibration_attempt_open(user):
    """The learner's calibration attempt not yet submitted, if any."""
    return (
        CalibrationAttempt.objects.filter(learner=user, submitted_at__isnull=True)
        .select_related("case", "assignment")
        .first()
    )


@dataclass
class ModuleState:
    """One module as a learner sees it: done or not, and their knowledge check tries."""

    module: TrainingModulePage
    completion: ModuleCompletion | None
    attempts: list = field(default_factory=list)

    @property
    def done(self):
        return self.completion is not None

    @property
    def last_attempt(self):
        return self.attempts[0] if self.attempts else None


def module_state_for(module, user):
    """The signed-in learner's state on one module (None for anyone signed out)."""
    if not user.is_authenticated:
        return None
    return ModuleState(
        module=module,
        completion=ModuleCompletion.objects.filter(module=module, learner=user).first(),
        attempts=list(KnowledgeCheckAttempt.objects.filter(module=module, learner=user)),
    )


@dataclass
class TrainingProgress:
    """Everything "My training" shows: modules, calibration and accreditation."""

    user: object
    modules: list
    attempts: list
    open_attempt: CalibrationAttempt | None
    accreditation: Accreditation | None
    last_accreditation: Accreditation | None
    cases_left: int
    today: datetime.date

    @property
    def required_remaining(self):
        return [row for row in self.modules if row.module.required and not row.done]

    @property
    def modules_done(self):
        return all(not row.module.required or row.done for row in self.modules)

    @property
    def status(self):
        """ "accredited", "expired" or "in_training"."""
        if self.accreditation:
            return "accredited"
        if self.last_accreditation:
            return "expired"
        return "in_training"

    @property
    def expires_soon(self):
        return (
            self.accreditation is not None
            and (self.accreditation.expires_on - self.today).days <= 30
        )

    @property
    def can_start_calibration(self):
        return self.modules_done and (self.open_attempt is not None or self.cases_left > 0)


def training_progress(user):
    """The learner's modules (meant for them, in order, with completion), calibration
    attempts (newest first) and accreditation."""
    completions = {
        completion.module_id: completion
        for completion in ModuleCompletion.objects.filter(learner=user)
    }
    checks = {}
    for attempt in KnowledgeCheckAttempt.objects.filter(learner=user).order_by("-taken_at"):
        checks.setdefault(attempt.module_id, []).append(attempt)
    modules = [
        ModuleState(module, completions.get(module.pk), checks.get(module.pk, []))
        for module in modules_for(user)
    ]
    attempts = list(
        CalibrationAttempt.objects.filter(learner=user)
        .select_related("case")
        .order_by("-started_at", "-pk")
    )
    tried = {attempt.case_id for attempt in attempts}
    return TrainingProgress(
        user=user,
        modules=modules,
        attempts=attempts,
        open_attempt=next((a for a in attempts if a.submitted_at is None), None),
        accreditation=accreditation_current(user),
        last_accreditation=Accreditation.objects.filter(auditor=user)
        .order_by("-expires_on")
        .first(),
        cases_left=calibration_cases_ready().exclude(pk__in=tried).count(),
        today=timezone.localdate(),
    )


def auditors():
    """Members of the Auditor group, with their agency."""
    return (
        get_user_model()
        .objects.filter(groups__name=AUDITOR)
        .select_related("staff_profile")
        .order_by("last_name", "first_name", "username")
    )


def open_plan_assignments(user):
    """The auditor's plan assignments whose audit is not yet submitted."""
    return (
        Assignment.objects.of_plans()
        .filter(auditor=user)
        .exclude(audit__status=Audit.Status.SUBMITTED)
    )


def training_reach():
    """Per agency: auditors, how many completed every required module, how many are
    accredited now — counted in the database."""
    today = timezone.localdate()
    current = Accreditation.objects.filter(auditor=OuterRef("pk"), expires_on__gte=today)
    rows = (
        auditors()
        .annotate(accredited=Exists(current))
        .values("staff_profile__agency")
        .annotate(
            total=Count("pk", distinct=True),
            accredited_count=Count("pk", filter=Q(accredited=True), distinct=True),
        )
        .order_by()
    )
    by_agency = {row["staff_profile__agency"]: row for row in rows}
    labels = dict(Agency.choices)
    reach = []
    for agency in [*Agency.values, None]:
        row = by_agency.get(agency)
        if row is None:
            continue
        reach.append(
            {
                "agency": labels.get(agency, "No agency recorded"),
                "auditors": row["total"],
                "accredited": row["accredited_count"],
            }
        )
    return reach
