"""Pages of the Quality Assurance Framework: home, framework, standards, exemplars, rubric."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from modelcluster.fields import ParentalManyToManyField
from wagtail.admin.panels import FieldPanel, FieldRowPanel, HelpPanel, MultiFieldPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import AbstractGroupApprovalTask, Page
from wagtail.search import index

from . import blocks
from .blocks import section_value_to_dict
from .rubric import (
    DEFAULT_THRESHOLDS,
    GRADE_LABELS,
    next_criterion_key,
    retired_key_conflicts,
    retired_keys,
    validate_thresholds,
)
from .selectors import rubric_criterion_history

INTRO_FEATURES = ["bold", "italic", "link", "ol", "ul"]


class PlanSection(models.Model):
    """One of the statutory sections A–K of an EHC plan; reference data, loaded by migration."""

    key = models.CharField(max_length=2, unique=True)
    title = models.CharField(max_length=100)
    statutory_description = models.TextField()
    sort_order = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["sort_order"]

    def __str__(self):
        return f"{self.key}: {self.title}"


class HomePage(Page):
    introduction = RichTextField(features=INTRO_FEATURES, blank=True)
    body = StreamField(blocks.ContentBlock(), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("introduction"), FieldPanel("body")]
    search_fields = [*Page.search_fields, index.SearchField("introduction")]
    parent_page_types = ["wagtailcore.Page"]
    subpage_types = [
        "framework.FrameworkPage",
        "framework.StandardIndexPage",
        "framework.ExemplarIndexPage",
        "framework.RubricPage",
        "training.TrainingIndexPage",
        "local_offer.LocalOfferIndexPage",
        "local_offer.GovernanceReportIndexPage",
        "framework.AccessibilityStatementPage",
    ]
    max_count = 1

    class Meta:
        verbose_name = "home page"


class AccessibilityStatementPage(Page):
    """The accessibility statement a public sector website must publish (Public Sector Bodies
    Accessibility Regulations 2018): how accessible the portal is, what is not yet and when it
    will be, and how to ask for another format or report a problem. Linked from every page's
    footer."""

    introduction = RichTextField(features=INTRO_FEATURES)
    body = StreamField(blocks.ContentBlock())
    prepared_on = models.DateField(help_text="When the statement was first prepared.")
    reviewed_on = models.DateField(help_text="When it was last reviewed.")

    content_panels = [
        *Page.content_panels,
        FieldPanel("introduction"),
        FieldPanel("body"),
        FieldRowPanel([FieldPanel("prepared_on"), FieldPanel("reviewed_on")]),
    ]
    search_fields = [*Page.search_fields, index.SearchField("introduction")]
    parent_page_types = ["framework.HomePage"]
    subpage_types = []
    max_count = 1

    class Meta:
        verbose_name = "accessibility statement"


class FrameworkPage(Page):
    """The Quality Assurance Framework: its tiers, principles and who does what."""

    introduction = RichTextField(features=INTRO_FEATURES)
    tiers = StreamField([("tier", blocks.TierBlock())], blank=True)
    principles = StreamField([("principle", blocks.PrincipleBlock())], blank=True)
    roles = StreamField([("role", blocks.RoleBlock())], blank=True)
    body = StreamField(blocks.ContentBlock(), blank=True, help_text="Anything else to say.")

    content_panels = [
        *Page.content_panels,
        FieldPanel("introduction"),
        FieldPanel("tiers"),
        FieldPanel("principles"),
        FieldPanel("roles", heading="Who does what"),
        FieldPanel("body"),
    ]
    search_fields = [*Page.search_fields, index.SearchField("introduction")]
    parent_page_types = ["framework.HomePage"]
    subpage_types = []
    max_count = 1

    class Meta:
        verbose_name = "quality assurance framework"


class StandardIndexPage(Page):
    introduction = RichTextField(features=INTRO_FEATURES, blank=True)

    content_panels = [*Page.content_panels, FieldPanel("introduction")]
    parent_page_types = ["framework.HomePage"]
    subpage_types = ["framework.StandardPage"]
    max_count = 1

    class Meta:
        verbose_name = "quality standards index"

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["standards"] = (
            StandardPage.objects.child_of(self).live().public().order_by("number")
        )
        return context


class StandardPage(Page):
    """One quality standard, linked to the rubric sections that evidence it."""

    number = models.PositiveSmallIntegerField(help_text="Standards are listed in this order.")
    summary = models.TextField(help_text="The standard in one or two sentences.")
    body = StreamField(blocks.ContentBlock(), blank=True)
    sections = ParentalManyToManyField(
        PlanSection,
        blank=True,
        related_name="standards",
        verbose_name="evidenced by rubric sections",
    )

    content_panels = [
        *Page.content_panels,
        FieldRowPanel([FieldPanel("number")]),
        FieldPanel("summary"),
        FieldPanel("body"),
        FieldPanel("sections", widget=forms.CheckboxSelectMultiple),
    ]
    search_fields = [*Page.search_fields, index.SearchField("summary")]
    parent_page_types = ["framework.StandardIndexPage"]
    subpage_types = []

    class Meta:
        verbose_name = "quality standard"

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["rubric"] = RubricPage.objects.live().public().first()
        return context


class ExemplarIndexPage(Page):
    introduction = RichTextField(features=INTRO_FEATURES, blank=True)

    content_panels = [*Page.content_panels, FieldPanel("introduction")]
    parent_page_types = ["framework.HomePage"]
    subpage_types = ["framework.ExemplarPage"]
    max_count = 1

    class Meta:
        verbose_name = "exemplars index"

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["exemplars"] = (
            ExemplarPage.objects.child_of(self)
            .live()
            .public()
            .select_related("section")
            .order_by("section__sort_order", "title")
        )
        return context


class ExemplarPage(Page):
    """“What good looks like” for one plan section: annotated good and weak excerpts."""

    section = models.ForeignKey(PlanSection, on_delete=models.PROTECT, related_name="exemplars")
    summary = models.TextField(help_text="What a good section does, in a sentence or two.")
    excerpts = StreamField([("excerpt", blocks.ExcerptBlock())])
    body = StreamField(blocks.ContentBlock(), blank=True)

    content_panels = [
        *Page.content_panels,
        FieldPanel("section"),
        FieldPanel("summary"),
        HelpPanel(
            "Excerpts must be anonymised: no names, dates of birth, addresses, schools or "
            "anything else that could identify a child or family."
        ),
        FieldPanel("excerpts"),
        FieldPanel("body"),
    ]
    search_fields = [*Page.search_fields, index.SearchField("summary")]
    parent_page_types = ["framework.ExemplarIndexPage"]
    subpage_types = []

    class Meta:
        verbose_name = "exemplar"

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["rubric"] = RubricPage.objects.live().public().first()
        return context


def _threshold_field(grade, default):
    return models.DecimalField(
        f"{GRADE_LABELS[grade]} from",
        max_digits=5,
        decimal_places=4,
        default=default,
        validators=[MinValueValidator(Decimal("0.0001")), MaxValueValidator(Decimal("1"))],
        help_text="Lowest score (0 to 1) that earns this grade; a score equal to it earns it.",
    )


class RubricPage(Page):
    """The audit rubric: plan sections with weighted criteria and grade thresholds.

    An audit pins the revision of this page it was made under, so editing and publishing a
    new revision never changes a recorded grade."""

    introduction = RichTextField(features=INTRO_FEATURES, blank=True)
    threshold_outstanding = _threshold_field("outstanding", DEFAULT_THRESHOLDS["outstanding"])
    threshold_good = _threshold_field("good", DEFAULT_THRESHOLDS["good"])
    threshold_requires_improvement = _threshold_field(
        "requires_improvement", DEFAULT_THRESHOLDS["requires_improvement"]
    )
    sections = StreamField(blocks.RubricSectionsBlock(), blank=True)

    content_panels = [
        *Page.content_panels,
        FieldPanel("introduction"),
        MultiFieldPanel(
            [
                FieldRowPanel(
                    [
                        FieldPanel("threshold_outstanding"),
                        FieldPanel("threshold_good"),
                        FieldPanel("threshold_requires_improvement"),
                    ]
                )
            ],
            heading="Grade thresholds",
            help_text="Below the Requires Improvement threshold a section or plan is Inadequate.",
        ),
        FieldPanel("sections"),
    ]
    search_fields = [*Page.search_fields, index.SearchField("introduction")]
    parent_page_types = ["framework.HomePage"]
    subpage_types = []

    class Meta:
        verbose_name = "audit rubric"

    @property
    def thresholds(self):
        return {
            "outstanding": self.threshold_outstanding,
            "good": self.threshold_good,
            "requires_improvement": self.threshold_requires_improvement,
        }

    def clean(self):
        super().clean()
        values = {grade: value for grade, value in self.thresholds.items() if value is not None}
        if len(values) == len(self.thresholds):
            _, errors = validate_thresholds(values)
            if errors:
                raise ValidationError({"threshold_good": errors})
        conflicts = self.assign_criterion_keys(rubric_criterion_history(self))
        if conflicts:
            raise ValidationError(conflicts)

    def assign_criterion_keys(self, history):
        """Give each new (blank-keyed) criterion its section's next key never used in any
        revision; return the problems with keys taken from removed criteria."""
        last_wording, _ = retired_keys(history)
        criteria = [
            (child.value["key"], criterion)
            for child in self.sections
            for criterion in child.value["criteria"]
        ]
        used = set(last_wording) | {c["key"].strip() for _, c in criteria if c["key"]}
        for section_key, criterion in criteria:
            criterion["key"] = criterion["key"].strip() or next_criterion_key(section_key, used)
            used.add(criterion["key"])
        sections = [section_value_to_dict(child.value) for child in self.sections]
        return retired_key_conflicts(history, sections)


class QALeadApprovalTask(AbstractGroupApprovalTask):
    """Approval by a member of the chosen groups other than the person who submitted: no QA
    lead approves their own change to the framework."""

    def _requested_by(self, obj, user):
        state = obj.current_workflow_state
        return state is not None and state.requested_by_id == user.pk

    def get_actions(self, obj, user):
        if self._requested_by(obj, user):
            return []
        return super().get_actions(obj, user)

    def get_task_states_user_can_moderate(self, user, **kwargs):
        return (
            super()
            .get_task_states_user_can_moderate(user, **kwargs)
            .exclude(workflow_state__requested_by=user)
        )

    @classmethod
    def get_description(cls):
        return "A member of the chosen groups, other than the submitter, approves"

    class Meta:
        verbose_name = "approval by another QA lead"
        verbose_name_plural = "approvals by another QA lead"


class OutgoingEmail(models.Model):
    """One email in the outbox (portal.mail): written in the transaction of the change that
    sends it, so it stands or falls with that change, and kept until a worker has delivered
    it, so a broker outage delays mail instead of losing it. Shared infrastructure, kept in
    this app because every app sends mail and portal.mail is not an app itself."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be delivered"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed: the mail server kept refusing it"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    subject = models.CharField(max_length=255)
    # portal.mail.message_to_dict; emptied once sent, since a message can carry a one-time
    # link (an invitation) that must not outlive its delivery in the database.
    message = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When it was last handed to the broker (or a worker retried it); empty while the broker
    # has never taken it, which is what the re-drive looks for.
    queued_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "outgoing email"
        verbose_name_plural = "outgoing emails"
        indexes = [models.Index(fields=["status", "created_at"], name="outgoing_email_waiting")]

    def __str__(self):
        return f"{self.subject} ({self.get_status_display().lower()})"
