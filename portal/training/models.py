"""Who may judge: staff and their agencies, training modules and knowledge checks, calibration
cases and attempts, accreditation, and invitations. Training content is CMS pages edited by
QA leads; progress, attempts and accreditation are per person and never edited by hand."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from wagtail.admin.panels import FieldPanel, FieldRowPanel, HelpPanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page
from wagtail.search import index

from portal.framework.plan_sections import SECTION_KEYS

from . import blocks

INTRO_FEATURES = ["bold", "italic", "link", "ol", "ul"]
CASE_SECTION_TWICE = "Section {key} appears more than once: give each section once."


class Agency(models.TextChoices):
    EDUCATION = "education", "Education"
    HEALTH = "health", "Health"
    SOCIAL_CARE = "social_care", "Social care"
    SEND_SERVICE = "send_service", "SEND service (local authority)"


class StaffProfile(models.Model):
    """The agency a member of staff works for: auditors are drawn from every agency, and
    training is reported by agency."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    agency = models.CharField(max_length=16, choices=Agency.choices)

    class Meta:
        verbose_name = "staff profile"

    def __str__(self):
        return f"{self.user} ({self.get_agency_display()})"


@register_setting(icon="user")
class TrainingSettings(BaseGenericSetting):
    """The rules QA leads set for calibration, accreditation and invitations."""

    calibration_min_agreement = models.PositiveSmallIntegerField(
        "criterion agreement needed to pass (%)",
        default=80,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="The share of criteria the auditor must tick as the reference does.",
    )
    calibration_overall_must_match = models.BooleanField(
        "overall grade must match the reference",
        default=True,
    )
    accreditation_months = models.PositiveSmallIntegerField(
        "accreditation lasts (months)", default=12, validators=[MinValueValidator(1)]
    )
    reminder_days = models.PositiveSmallIntegerField(
        "remind auditors this many days before their accreditation expires",
        default=30,
        validators=[MinValueValidator(1)],
    )
    invitation_days = models.PositiveSmallIntegerField(
        "invitation links work for (days)",
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
    )

    panels = [
        MultiFieldPanel(
            [FieldPanel("calibration_min_agreement"), FieldPanel("calibration_overall_must_match")],
            heading="Passing a calibration case",
        ),
        MultiFieldPanel(
            [FieldPanel("accreditation_months"), FieldPanel("reminder_days")],
            heading="Accreditation",
        ),
        FieldPanel("invitation_days"),
    ]

    class Meta:
        verbose_name = "training and accreditation rules"


class TrainingIndexPage(Page):
    """The training section: modules for auditors and calibration cases."""

    introduction = RichTextField(features=INTRO_FEATURES, blank=True)

    content_panels = [*Page.content_panels, FieldPanel("introduction")]
    parent_page_types = ["framework.HomePage"]
    subpage_types = ["training.TrainingModulePage", "training.CalibrationCasePage"]
    max_count = 1

    class Meta:
        verbose_name = "training index"

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["modules"] = (
            TrainingModulePage.objects.child_of(self).live().order_by("path").specific()
        )
        return context


class TrainingModulePage(Page):
    """One training module: content to read and watch, and an optional knowledge check."""

    class Audience(models.TextChoices):
        ALL = "all", "All auditors"
        EDUCATION = Agency.EDUCATION.value, "Auditors from education"
        HEALTH = Agency.HEALTH.value, "Auditors from health"
        SOCIAL_CARE = Agency.SOCIAL_CARE.value, "Auditors from social care"
        SEND_SERVICE = Agency.SEND_SERVICE.value, "Auditors from the SEND service"

    summary = models.TextField(help_text="What the learner will be able to do afterwards.")
    duration_minutes = models.PositiveSmallIntegerField(
        "estimated duration (minutes)", validators=[MinValueValidator(1)]
    )
    audience = models.CharField(max_length=16, choices=Audience.choices, default=Audience.ALL)
    required = models.BooleanField(
        "required before auditing",
        default=True,
        help_text="Auditors in the audience must complete it before they can be accredited.",
    )
    body = StreamField(blocks.ModuleContentBlock(), blank=True)
    questions = StreamField(
        [("question", blocks.QuestionBlock())],
        blank=True,
        verbose_name="knowledge check",
        help_text="Leave empty for a module the learner marks complete themselves.",
    )
    pass_mark = models.PositiveSmallIntegerField(
        "pass mark (%)",
        default=80,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="The share of questions to answer correctly.",
    )

    content_panels = [
        *Page.content_panels,
        FieldPanel("summary"),
        FieldRowPanel([FieldPanel("duration_minutes"), FieldPanel("audience")]),
        FieldPanel("required"),
        FieldPanel("body"),
        MultiFieldPanel(
            [
                HelpPanel(
                    "Learners pass the check by choosing every correct option of a question and "
                    "no other. Without questions, they mark the module complete."
                ),
                FieldPanel("questions"),
                FieldPanel("pass_mark"),
            ],
            heading="Knowledge check",
        ),
    ]
    search_fields = [*Page.search_fields, index.SearchField("summary")]
    parent_page_types = ["training.TrainingIndexPage"]
    subpage_types = []

    class Meta:
        verbose_name = "training module"

    @property
    def has_knowledge_check(self):
        return len(self.questions) > 0

    def get_context(self, request, *args, **kwargs):
        from .forms import KnowledgeCheckForm
        from .selectors import module_state_for
        from .services import knowledge_check_questions

        context = super().get_context(request, *args, **kwargs)
        context["state"] = module_state_for(self, request.user)
        if self.has_knowledge_check:
            context["check_form"] = KnowledgeCheckForm(knowledge_check_questions(self))
        return context


class CalibrationCasePage(Page):
    """An anonymised exemplar plan, written for training (no real child), which auditors
    audit with the real audit form; their ticks are compared with a QA lead's reference."""

    summary = models.TextField(
        help_text="A line about the invented child and plan, shown before the learner starts."
    )
    plan_sections = StreamField(
        [("section", blocks.CaseSectionBlock())],
        help_text="The plan's text, section by section (A–K).",
    )

    content_panels = [
        *Page.content_panels,
        FieldPanel("summary"),
        FieldPanel("plan_sections"),
        HelpPanel(
            "Record the reference ticks from Training › Calibration references, with the same "
            "audit form auditors use. Auditors are compared with the newest reference."
        ),
    ]
    parent_page_types = ["training.TrainingIndexPage"]
    subpage_types = []

    class Meta:
        verbose_name = "calibration case"

    def clean(self):
        super().clean()
        seen = set()
        for block in self.plan_sections:
            key = block.value["section"]
            if key in seen:
                raise ValidationError({"plan_sections": CASE_SECTION_TWICE.format(key=key)})
            seen.add(key)

    def section_text(self, key):
        """The case's text for plan section `key` (rich text), or None."""
        for block in self.plan_sections:
            if block.value["section"] == key:
                return block.value["text"]
        return None

    def sections_in_order(self):
        order = {key: index for index, key in enumerate(SECTION_KEYS)}
        return sorted(
            (block.value for block in self.plan_sections),
            key=lambda value: order.get(value["section"], len(order)),
        )


class ModuleCompletion(models.Model):
    """A learner finished a module: marked it complete, or passed its knowledge check."""

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="module_completions"
    )
    module = models.ForeignKey(
        TrainingModulePage, on_delete=models.CASCADE, related_name="completions"
    )
    completed_at = models.DateTimeField(auto_now_add=True)
    score = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Knowledge check score (%), if the module has one."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["learner", "module"], name="one_completion_per_module")
        ]

    def __str__(self):
        return f"{self.learner} completed {self.module}"


class KnowledgeCheckAttempt(models.Model):
    """One try at a module's knowledge check, passed or not."""

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="knowledge_checks"
    )
    module = models.ForeignKey(
        TrainingModulePage, on_delete=models.CASCADE, related_name="knowledge_checks"
    )
    revision = models.ForeignKey(
        "wagtailcore.Revision", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    answers = models.JSONField(help_text="{question id: [chosen option numbers]}")
    correct = models.PositiveSmallIntegerField()
    total = models.PositiveSmallIntegerField()
    score = models.PositiveSmallIntegerField(help_text="Percentage correct, rounded down.")
    passed = models.BooleanField()
    taken_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-taken_at"]

    def __str__(self):
        return f"{self.learner} on {self.module}: {self.score}%"


class CalibrationReference(models.Model):
    """A QA lead's reference audit of a calibration case, made with the real audit form
    (through an assignment of the case to them) under a pinned rubric revision."""

    case = models.ForeignKey(
        CalibrationCasePage, on_delete=models.PROTECT, related_name="references"
    )
    assignment = models.OneToOneField(
        "audits.Assignment", on_delete=models.PROTECT, related_name="calibration_reference"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Reference for {self.case} by {self.assignment.auditor}"


class CalibrationAttempt(models.Model):
    """A learner's audit of a calibration case, compared on submission with the reference
    that was current when they started."""

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calibration_attempts"
    )
    case = models.ForeignKey(CalibrationCasePage, on_delete=models.PROTECT, related_name="attempts")
    reference = models.ForeignKey(
        CalibrationReference, on_delete=models.PROTECT, related_name="attempts"
    )
    assignment = models.OneToOneField(
        "audits.Assignment", on_delete=models.PROTECT, related_name="calibration_attempt"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    criterion_agreement = models.DecimalField(
        max_digits=5, decimal_places=4, null=True, blank=True, help_text="Cut to four places."
    )
    overall_matched = models.BooleanField(null=True)
    sections_matched = models.PositiveSmallIntegerField(null=True, blank=True)
    sections_total = models.PositiveSmallIntegerField(null=True, blank=True)
    passed = models.BooleanField(null=True)
    comparison = models.JSONField(null=True, blank=True)
    pass_rule = models.JSONField(
        null=True, blank=True, help_text="The pass rule in force when it was marked."
    )

    class Meta:
        ordering = ["-started_at"]

    def __str__(self):
        return f"{self.learner} on {self.case}"


class Accreditation(models.Model):
    """An auditor may be given plans from `granted_at` until the end of `expires_on`."""

    auditor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="accreditations"
    )
    attempt = models.OneToOneField(
        CalibrationAttempt,
        on_delete=models.PROTECT,
        related_name="accreditation",
        null=True,
        blank=True,
        help_text="The calibration passed; empty for accreditation carried over from records "
        "kept before the portal.",
    )
    granted_at = models.DateTimeField(auto_now_add=True)
    expires_on = models.DateField()
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    lapse_reported_at = models.DateTimeField(
        null=True, blank=True, help_text="When QA leads were told of open assignments on expiry."
    )

    class Meta:
        ordering = ["-expires_on"]
        indexes = [models.Index(fields=["auditor", "expires_on"])]

    def __str__(self):
        return f"{self.auditor} until {self.expires_on:%d %b %Y}"


class Invitation(models.Model):
    """A QA lead's invitation to a new auditor: a link, usable once before it expires, to set
    a password. Only a hash of the link's token is kept."""

    email = models.EmailField()
    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)
    agency = models.CharField(max_length=16, choices=Agency.choices)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="invitations",
        help_text="The account made for the invitee, switched on when they accept.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Invitation to {self.email}"
