"""Reads for training: which modules a person must complete, their progress, calibration
attempts and accreditation, the current reference of a calibration case, whether an auditor
may be given plans, and the QA leads' dashboard rows and reach by agency."""

import datetime
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
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
    TrainingSettings,
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
    reminder_days: int

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
        """Within the reminder period QA leads set, as the dashboard counts it."""
        return (
            self.accreditation is not None
            and (self.accreditation.expires_on - self.today).days <= self.reminder_days
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
        reminder_days=TrainingSettings.load().reminder_days,
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


def _required_modules_of_each_auditor():
    """Subqueries, correlated to an auditor row: the live required modules meant for them
    (as modules_for), and a module's completion by them."""
    required = (
        TrainingModulePage.objects.live()
        .filter(required=True)
        .filter(
            Q(audience=TrainingModulePage.Audience.ALL)
            | Q(audience=OuterRef("staff_profile__agency"))
        )
    )
    completed = ModuleCompletion.objects.filter(
        module=OuterRef("pk"), learner=OuterRef(OuterRef("pk"))
    )
    return required, completed


def training_reach():
    """Per agency (in the order of Agency, then auditors with no agency recorded): how many
    auditors, how many completed every required module meant for them, passed a calibration
    case, are accredited now, and have an accreditation that expired without renewal —
    counted in the database."""
    today = timezone.localdate()
    accreditations = Accreditation.objects.filter(auditor=OuterRef("pk"))
    required, completed = _required_modules_of_each_auditor()
    required_missing = required.filter(~Exists(completed))
    rows = (
        auditors()
        .annotate(
            modules_done=~Exists(required_missing),
            passed=Exists(CalibrationAttempt.objects.filter(learner=OuterRef("pk"), passed=True)),
            accredited=Exists(accreditations.filter(expires_on__gte=today)),
            ever_accredited=Exists(accreditations),
        )
        .values("staff_profile__agency")
        .annotate(
            total=Count("pk", distinct=True),
            modules_done_count=Count("pk", filter=Q(modules_done=True), distinct=True),
            passed_count=Count("pk", filter=Q(passed=True), distinct=True),
            accredited_count=Count("pk", filter=Q(accredited=True), distinct=True),
            expired_count=Count(
                "pk", filter=Q(ever_accredited=True, accredited=False), distinct=True
            ),
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
                "modules_done": row["modules_done_count"],
                "passed_calibration": row["passed_count"],
                "accredited": row["accredited_count"],
                "expired": row["expired_count"],
            }
        )
    return reach


def _count(queryset):
    """How many rows a correlated `queryset` has, as a subquery (COUNT without GROUP BY
    gives exactly one row, 0 when nothing matches)."""
    return Subquery(
        queryset.order_by().values(n=Func(F("pk"), function="COUNT")),
        output_field=models.IntegerField(),
    )


class AccreditationStatus(models.TextChoices):
    ACCREDITED = "accredited", "Accredited"
    EXPIRES_SOON = "expires_soon", "Expires soon"
    EXPIRED = "expired", "Expired"
    NOT_ACCREDITED = "not_accredited", "Not yet accredited"


NOT_ACCREDITED_NOW = (AccreditationStatus.EXPIRED, AccreditationStatus.NOT_ACCREDITED)


def auditor_training_rows(today, reminder_days):
    """Every member of the Auditor group, annotated in the database with their required
    modules (meant for them, as modules_for) and how many they completed, their
    marked calibration attempts and best criterion agreement, their latest accreditation's
    expiry and status on `today`, and their plan assignments still to audit."""
    required, completed = _required_modules_of_each_auditor()
    marked = CalibrationAttempt.objects.filter(learner=OuterRef("pk"), submitted_at__isnull=False)
    latest_expiry = (
        Accreditation.objects.filter(auditor=OuterRef("pk"))
        .order_by("-expires_on")
        .values("expires_on")[:1]
    )
    open_plans = (
        Assignment.objects.of_plans()
        .filter(auditor=OuterRef("pk"))
        .exclude(audit__status=Audit.Status.SUBMITTED)
    )
    return (
        auditors()
        .annotate(
            required_total=_count(required),
            required_done=_count(required.filter(Exists(completed))),
            attempts_marked=_count(marked),
            best_agreement=Subquery(
                marked.filter(criterion_agreement__isnull=False)
                .order_by("-criterion_agreement")
                .values("criterion_agreement")[:1]
            ),
            expires_on=Subquery(latest_expiry),
            open_plans=_count(open_plans),
        )
        .annotate(
            accreditation_status=Case(
                When(expires_on__isnull=True, then=Value(AccreditationStatus.NOT_ACCREDITED)),
                When(expires_on__lt=today, then=Value(AccreditationStatus.EXPIRED)),
                When(
                    expires_on__lte=today + datetime.timedelta(days=reminder_days),
                    then=Value(AccreditationStatus.EXPIRES_SOON),
                ),
                default=Value(AccreditationStatus.ACCREDITED),
                output_field=models.CharField(),
            )
        )
    )
