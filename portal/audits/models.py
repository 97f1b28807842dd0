"""Plans in the register, audit cycles and their samples, assignments, conflicts of interest
and audits. Grades are never typed in: they are derived by portal.audits.grading from the
ticks and the rubric revision an audit pins."""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from portal.framework.rubric import GRADE_LABELS
from portal.training.models import Agency


class KeyStage(models.TextChoices):
    EY = "EY", "Early years"
    KS1 = "KS1", "Key stage 1"
    KS2 = "KS2", "Key stage 2"
    KS3 = "KS3", "Key stage 3"
    KS4 = "KS4", "Key stage 4"
    KS5 = "KS5", "Key stage 5"
    POST19 = "POST19", "Post-19"


class PrimaryNeed(models.TextChoices):
    """SEN2 primary type of need."""

    SPLD = "SPLD", "Specific learning difficulty"
    MLD = "MLD", "Moderate learning difficulty"
    SLD = "SLD", "Severe learning difficulty"
    PMLD = "PMLD", "Profound and multiple learning difficulty"
    SEMH = "SEMH", "Social, emotional and mental health"
    SLCN = "SLCN", "Speech, language and communication needs"
    HI = "HI", "Hearing impairment"
    VI = "VI", "Vision impairment"
    MSI = "MSI", "Multi-sensory impairment"
    PD = "PD", "Physical disability"
    ASD = "ASD", "Autistic spectrum disorder"
    OTH = "OTH", "Other difficulty or disability"


class SettingType(models.TextChoices):
    MAINSTREAM = "mainstream", "Mainstream school"
    SPECIAL = "special", "Special school"
    RESOURCED = "resourced", "Resourced provision or SEN unit"
    EARLY_YEARS = "early_years", "Early years setting"
    FE_COLLEGE = "fe_college", "Further education college"
    INDEPENDENT_SPECIAL = "independent_special", "Independent special school"
    ALTERNATIVE_PROVISION = "alternative_provision", "Alternative provision"
    EOTAS = "eotas", "Education otherwise than at school"
    NEET = "neet", "Not in education, employment or training"


class PlanStage(models.TextChoices):
    NEW_PLAN = "new_plan", "New plan"
    ANNUAL_REVIEW = "annual_review", "Annual review"


class Grade(models.TextChoices):
    OUTSTANDING = "outstanding", GRADE_LABELS["outstanding"]
    GOOD = "good", GRADE_LABELS["good"]
    REQUIRES_IMPROVEMENT = "requires_improvement", GRADE_LABELS["requires_improvement"]
    INADEQUATE = "inadequate", GRADE_LABELS["inadequate"]


class Plan(models.Model):
    """One EHC plan in the register, known only by its pseudonymous case-management ID.
    No names, dates of birth, addresses or documents: plans are read where they live."""

    system_id = models.CharField("system ID", max_length=40, unique=True)
    key_stage = models.CharField(max_length=6, choices=KeyStage.choices)
    primary_need = models.CharField(max_length=4, choices=PrimaryNeed.choices)
    setting_type = models.CharField(max_length=24, choices=SettingType.choices)
    locality = models.CharField("locality or team", max_length=100)
    plan_stage = models.CharField(max_length=16, choices=PlanStage.choices)
    date_issued = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["system_id"]
        indexes = [
            models.Index(fields=["key_stage"]),
            models.Index(fields=["primary_need"]),
            models.Index(fields=["setting_type"]),
            models.Index(fields=["locality"]),
            models.Index(fields=["plan_stage", "date_issued"]),
        ]

    def __str__(self):
        return self.system_id


CYCLE_ENDS_BEFORE_IT_STARTS = "The cycle must end on or after the day it starts."


def new_seed():
    return secrets.randbelow(2**31)


def share_field(verbose_name, **kwargs):
    return models.DecimalField(
        verbose_name,
        max_digits=5,
        decimal_places=4,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        **kwargs,
    )


class AuditCycle(models.Model):
    """A period or thematic audit with its sample of plans."""

    class Tier(models.TextChoices):
        NEW_PLANS = "new_plans", "New plans"
        ANNUAL_REVIEWS = "annual_reviews", "Annual reviews"
        THEMATIC = "thematic", "Thematic"

    name = models.CharField(max_length=120, unique=True)
    tier = models.CharField(max_length=16, choices=Tier.choices)
    theme = models.CharField(
        max_length=120, blank=True, help_text="For a thematic audit, e.g. transition to post-16."
    )
    starts_on = models.DateField()
    ends_on = models.DateField()
    rubric = models.ForeignKey(
        "framework.RubricPage",
        on_delete=models.PROTECT,
        related_name="cycles",
        help_text="Audits pin this rubric's live revision when they are started.",
    )
    sample_size = models.PositiveIntegerField(null=True, blank=True)
    sample_share = share_field("sample share", null=True, blank=True)
    stratify_by = models.JSONField(
        default=list,
        blank=True,
        help_text="Plan attributes to keep in proportion: key_stage, primary_need, locality.",
    )
    double_audit_share = share_field("share double-audited", default=0)
    moderation_share = share_field(
        "share moderated at random",
        default=0,
        help_text="Of the audits not otherwise moderated, the share drawn (with the cycle's "
        "seed, so the same every time) for moderation as a cross-section.",
    )
    seed = models.PositiveBigIntegerField(
        default=new_seed, help_text="Drawing the sample again with this seed gives the same plans."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_on", "name"]

    def __str__(self):
        return self.name

    def clean(self):
        from .sampling import SIZE_OR_SHARE

        errors = {}
        if (self.sample_size is None) == (self.sample_share is None):
            errors["sample_size"] = SIZE_OR_SHARE
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            errors["ends_on"] = CYCLE_ENDS_BEFORE_IT_STARTS
        if errors:
            raise ValidationError(errors)


class SampledPlan(models.Model):
    """A plan drawn into a cycle's sample."""

    cycle = models.ForeignKey(AuditCycle, on_delete=models.CASCADE, related_name="sample")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="samplings")
    double_audit = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cycle", "plan"], name="unique_plan_per_cycle")
        ]

    def __str__(self):
        return f"{self.plan} in {self.cycle}"


class ConflictDeclaration(models.Model):
    """An auditor may not audit a plan they contributed to, or that someone they manage
    contributed to."""

    class Reason(models.TextChoices):
        CONTRIBUTED = "contributed", "I contributed to this plan"
        MANAGES_CONTRIBUTOR = "manages_contributor", "I manage someone who contributed"
        OTHER = "other", "Another conflict of interest"

    auditor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conflicts"
    )
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="conflicts")
    reason = models.CharField(max_length=24, choices=Reason.choices)
    declared_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["auditor", "plan"], name="one_conflict_per_plan")
        ]

    def __str__(self):
        return f"{self.auditor} on {self.plan}: {self.get_reason_display()}"


class AssignmentQuerySet(models.QuerySet):
    def of_plans(self):
        """Assignments of plans in the register (not of training calibration cases)."""
        return self.filter(plan__isnull=False)


class Assignment(models.Model):
    """A plan given to an auditor to audit by a date; or, in training, a calibration case
    given to a learner (or to a QA lead making its reference), audited with the same form."""

    cycle = models.ForeignKey(
        AuditCycle, on_delete=models.PROTECT, related_name="assignments", null=True, blank=True
    )
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, related_name="assignments", null=True, blank=True
    )
    calibration_case = models.ForeignKey(
        "training.CalibrationCasePage",
        on_delete=models.PROTECT,
        related_name="assignments",
        null=True,
        blank=True,
    )
    rubric_revision = models.ForeignKey(
        "wagtailcore.Revision",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text="The rubric revision to audit under, where it is fixed in advance "
        "(calibration against a reference); otherwise the live one when the audit starts.",
    )
    auditor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments"
    )
    due_on = models.DateField()
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "plan", "auditor"], name="one_assignment_per_auditor"
            ),
            models.CheckConstraint(
                condition=models.Q(plan__isnull=False, calibration_case__isnull=True)
                | models.Q(plan__isnull=True, calibration_case__isnull=False),
                name="assignment_of_a_plan_or_a_calibration_case",
            ),
        ]

    def __str__(self):
        return f"{self.subject} for {self.auditor}, due {self.due_on:%d %b %Y}"

    @property
    def subject(self):
        """What is audited, in words: "plan AB12345" or "calibration case “…”"."""
        if self.plan_id:
            return f"plan {self.plan.system_id}"
        return f"calibration case “{self.calibration_case.title}”"


class AuditQuerySet(models.QuerySet):
    def of_plans(self):
        """Audits of plans in the register: calibration audits are training, not findings."""
        return self.filter(assignment__plan__isnull=False)


class Audit(models.Model):
    """One auditor's judgement of one plan: ticks per section, notes, and the grades the
    portal derived from them under the pinned rubric revision."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"

    assignment = models.OneToOneField(Assignment, on_delete=models.PROTECT, related_name="audit")
    rubric_revision = models.ForeignKey(
        "wagtailcore.Revision", on_delete=models.PROTECT, related_name="+"
    )
    ticks = models.JSONField(default=dict, help_text="Interchange format: {sections: {...}}.")
    section_notes = models.JSONField(default=dict, blank=True)
    strengths = models.TextField(blank=True)
    recommendations = models.TextField(blank=True)
    summary = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    result = models.JSONField(null=True, blank=True, help_text="grade_audit's result, on submit.")
    overall_grade = models.CharField(max_length=24, choices=Grade.choices, blank=True)
    overall_score = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    version = models.PositiveIntegerField(default=1, help_text="Raised on every save.")
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["status", "overall_grade"])]

    def __str__(self):
        return f"Audit of {self.assignment.subject} by {self.assignment.auditor}"


class PlanImport(models.Model):
    """A register file being imported: large files run in a Celery task, and the QA lead
    watches its progress here."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to start"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Not imported"

    file = models.FileField(upload_to="plan-imports/")
    file_name = models.CharField(max_length=255)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    result = models.JSONField(
        default=dict, blank=True, help_text="Counts of new/updated/invalid rows and row errors."
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at"]

    def __str__(self):
        return f"{self.file_name} ({self.get_status_display()})"


class ModerationCase(models.Model):
    """All audits of one plan in one cycle, moderated together: the moderated grade and
    rationale are recorded here, never on the auditors' own records."""

    class Reason(models.TextChoices):
        WEAK_GRADE = "weak_grade", "Graded Requires Improvement or Inadequate"
        DOUBLE_AUDITED = "double_audited", "Audited by two auditors"
        RANDOM_SAMPLE = "random_sample", "In the cycle's random moderation sample"

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for a moderator"
        IN_PROGRESS = "in_progress", "Being moderated"
        CLOSED = "closed", "Closed"

    class Outcome(models.TextChoices):
        CONFIRMED = "confirmed", "Grade confirmed"
        CHANGED = "changed", "Grade changed"

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="moderation_cases")
    cycle = models.ForeignKey(
        AuditCycle,
        on_delete=models.PROTECT,
        related_name="moderation_cases",
        null=True,
        blank=True,
    )
    audits = models.ManyToManyField(Audit, related_name="moderation_cases")
    weak_grade = models.BooleanField(default=False)
    double_audited = models.BooleanField(default=False)
    random_sample = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="moderation_cases",
        null=True,
        blank=True,
    )
    moderated_grade = models.CharField(max_length=24, choices=Grade.choices, blank=True)
    section_grades = models.JSONField(
        default=dict, blank=True, help_text="{section key: grade} where the moderator differs."
    )
    rationale = models.TextField(blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, help_text="Raised on every change.")

    class Meta:
        ordering = ["queued_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "cycle"],
                condition=~models.Q(status="closed"),
                name="one_open_case_per_plan_per_cycle",
            ),
        ]
        indexes = [models.Index(fields=["status", "queued_at"])]

    def __str__(self):
        return f"Moderation of plan {self.plan.system_id}"

    @property
    def reasons(self):
        """Why the plan is moderated, as Reason values (each is a field of the case)."""
        return [reason for reason in self.Reason.values if getattr(self, reason)]

    def reason_labels(self):
        labels = dict(self.Reason.choices)
        return [labels[reason] for reason in self.reasons]

    @staticmethod
    def reason_fields(reasons):
        """The case's reason fields for a list of Reason values."""
        return {reason: reason in reasons for reason in ModerationCase.Reason.values}


class Action(models.Model):
    """Something to be done about a finding, owned by a person in an agency, tracked to
    completion with a dated history (ActionUpdate)."""

    class Kind(models.TextChoices):
        AMEND_PLAN = "amend_plan", "Amend the plan before it is issued"
        REAUDIT = "reaudit", "Audit the plan again later"
        REVIEW_PROCESS = "review_process", "Review templates or processes"
        TRAINING = "training", "Training"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    description = models.TextField("what is to be done")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    agency = models.CharField("owning agency", max_length=16, choices=Agency.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="actions"
    )
    due_on = models.DateField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    cancel_reason = models.TextField(blank=True)
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, related_name="actions", null=True, blank=True
    )
    audit = models.ForeignKey(
        Audit, on_delete=models.PROTECT, related_name="actions", null=True, blank=True
    )
    moderation_case = models.ForeignKey(
        ModerationCase,
        on_delete=models.PROTECT,
        related_name="actions",
        null=True,
        blank=True,
    )
    reaudit_assignment = models.OneToOneField(
        Assignment,
        on_delete=models.SET_NULL,
        related_name="reaudit_action",
        null=True,
        blank=True,
        help_text="The assignment made when a re-audit action was done.",
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    raised_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, help_text="Raised on every change.")

    class Meta:
        ordering = ["due_on", "pk"]
        indexes = [
            models.Index(fields=["status", "due_on"]),
            models.Index(fields=["agency", "status"]),
        ]

    def __str__(self):
        return f"Action {self.pk}: {self.get_kind_display()}"

    @property
    def reference(self):
        """How an action is named where its description must not go (emails)."""
        return f"A-{self.pk:05d}"

    @property
    def is_open(self):
        return self.status in (self.Status.OPEN, self.Status.IN_PROGRESS)


class ActionUpdate(models.Model):
    """One dated entry in an action's history."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="updates")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=12, choices=Action.Status.choices)
    note = models.TextField(blank=True)
    changes = models.JSONField(default=dict, blank=True, help_text="{field: [before, after]}")

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.action} on {self.at:%d %b %Y}"


def section_column(key):
    """The AuditFact column holding plan section `key`'s grade: "section_h1" for H1."""
    return f"section_{key.lower()}"


class AuditFact(models.Model):
    """One submitted plan audit as reports count it, in one narrow row kept current on
    submit and on moderation (portal.audits.facts): the plan's attributes, the cycle's tier,
    the auditor's agency, the grade reports use (moderated where a case closed) and each
    section's grade, so dashboards aggregate with GROUP BY and conditional counts over one
    table instead of joining audits, plans, cycles and cases."""

    audit = models.OneToOneField(
        Audit, on_delete=models.CASCADE, primary_key=True, related_name="fact"
    )
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="+")
    cycle = models.ForeignKey(
        AuditCycle, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    tier = models.CharField(max_length=16, blank=True)
    theme = models.CharField(max_length=120, blank=True)
    key_stage = models.CharField(max_length=6)
    primary_need = models.CharField(max_length=4)
    setting_type = models.CharField(max_length=24)
    locality = models.CharField(max_length=100)
    plan_stage = models.CharField(max_length=16)
    agency = models.CharField(max_length=16, blank=True, help_text="The auditor's agency.")
    submitted_on = models.DateField()
    grade = models.CharField(max_length=24, help_text="Moderated where a case closed.")
    auditor_grade = models.CharField(max_length=24)
    moderated = models.BooleanField(default=False)
    section_a = models.CharField(max_length=24, blank=True)
    section_b = models.CharField(max_length=24, blank=True)
    section_c = models.CharField(max_length=24, blank=True)
    section_d = models.CharField(max_length=24, blank=True)
    section_e = models.CharField(max_length=24, blank=True)
    section_f = models.CharField(max_length=24, blank=True)
    section_g = models.CharField(max_length=24, blank=True)
    section_h1 = models.CharField(max_length=24, blank=True)
    section_h2 = models.CharField(max_length=24, blank=True)
    section_i = models.CharField(max_length=24, blank=True)
    section_j = models.CharField(max_length=24, blank=True)
    section_k = models.CharField(max_length=24, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["submitted_on", "grade"]),
            models.Index(fields=["cycle", "grade"]),
            models.Index(fields=["key_stage", "grade"]),
            # Key stage and need together are a common question ("KS2 autistic children").
            models.Index(fields=["key_stage", "primary_need", "grade"]),
            models.Index(fields=["primary_need", "grade"]),
            models.Index(fields=["setting_type", "grade"]),
            models.Index(fields=["locality", "grade"]),
            models.Index(fields=["agency", "grade"]),
        ]

    def __str__(self):
        return f"Fact of audit {self.audit_id}"
