"""Public pages on the Local Offer: the section root, which lists the published quality
summaries newest first, and the summaries themselves — a QA lead's narrative around figures
frozen when the page was published (ReportSnapshot), after disclosure control."""

from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404, HttpResponse, JsonResponse
from modelcluster.fields import ParentalManyToManyField
from wagtail.admin.panels import FieldPanel, FieldRowPanel, HelpPanel, MultiFieldPanel
from wagtail.contrib.routable_page.models import RoutablePageMixin, path
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page
from wagtail.search import index

from portal.framework.blocks import RICH_TEXT_FEATURES, ContentBlock

from .public_cache import public_cache_mark

INTRO_FEATURES = ["bold", "italic", "link", "ol", "ul"]
PERIOD_ENDS_BEFORE_IT_STARTS = "The period must end on or after the day it starts."


class LocalOfferIndexPage(Page):
    """The Local Offer section: what families can read about plan quality in the area, and
    every published quality summary, newest first."""

    introduction = RichTextField(features=INTRO_FEATURES, blank=True)
    body = StreamField(ContentBlock(), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("introduction"), FieldPanel("body")]
    search_fields = [*Page.search_fields, index.SearchField("introduction")]
    parent_page_types = ["framework.HomePage"]
    subpage_types = ["local_offer.QualitySummaryPage"]
    max_count = 1

    class Meta:
        verbose_name = "Local Offer section"

    def serve(self, request, *args, **kwargs):
        response = super().serve(request, *args, **kwargs)
        if not request.user.is_authenticated and not getattr(request, "is_preview", False):
            public_cache_mark(response)
        return response

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["summaries"] = (
            QualitySummaryPage.objects.child_of(self)
            .live()
            .public()
            .order_by("-period_end", "-first_published_at")
        )
        return context


class QualitySummaryPage(RoutablePageMixin, Page):
    """An anonymised quality summary for parents and carers: the period (and cycles) it
    covers, the breakdowns to show, and the QA lead's narrative. Its figures are taken when
    it is published and frozen with that revision: later audits never change them."""

    period_start = models.DateField(help_text="Audits submitted from this day…")
    period_end = models.DateField(help_text="…to this day (inclusive).")
    cycles = ParentalManyToManyField(
        "audits.AuditCycle",
        blank=True,
        help_text="Leave empty to count every cycle's audits in the period.",
    )
    show_key_stage = models.BooleanField("by key stage", default=True)
    show_primary_need = models.BooleanField("by primary need", default=False)
    show_setting_type = models.BooleanField("by type of setting", default=False)
    show_locality = models.BooleanField("by locality", default=False)
    summary = models.TextField(help_text="One or two sentences for the listing and search.")
    what_we_found = RichTextField(features=RICH_TEXT_FEATURES)
    what_we_are_doing = RichTextField("what we are doing about it", features=RICH_TEXT_FEATURES)
    what_the_grades_mean = RichTextField(features=RICH_TEXT_FEATURES)
    feedback = RichTextField("how families can give feedback", features=RICH_TEXT_FEATURES)

    content_panels = [
        *Page.content_panels,
        FieldPanel("summary"),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("period_start"), FieldPanel("period_end")]),
                FieldPanel("cycles"),
                HelpPanel(
                    "The figures are taken when the page is published, with small numbers "
                    "hidden so that no child can be identified."
                ),
            ],
            heading="What the figures cover",
        ),
        MultiFieldPanel(
            [
                FieldPanel("show_key_stage"),
                FieldPanel("show_primary_need"),
                FieldPanel("show_setting_type"),
                FieldPanel("show_locality"),
            ],
            heading="Breakdowns to show",
        ),
        FieldPanel("what_we_found"),
        FieldPanel("what_we_are_doing"),
        FieldPanel("what_the_grades_mean"),
        FieldPanel("feedback"),
    ]
    search_fields = [*Page.search_fields, index.SearchField("summary")]
    parent_page_types = ["local_offer.LocalOfferIndexPage"]
    subpage_types = []

    class Meta:
        verbose_name = "quality summary"

    def clean(self):
        super().clean()
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValidationError({"period_end": PERIOD_ENDS_BEFORE_IT_STARTS})

    @property
    def breakdowns(self):
        return [
            name
            for name in ("key_stage", "primary_need", "setting_type", "locality")
            if getattr(self, f"show_{name}")
        ]

    def snapshot(self):
        """The figures frozen with the live revision (None until they are taken)."""
        if not self.live_revision_id:
            return None
        return ReportSnapshot.objects.filter(revision_id=self.live_revision_id).first()

    def get_context(self, request, *args, **kwargs):
        from portal.framework.models import FrameworkPage, RubricPage

        from .snapshots import table_chart

        context = super().get_context(request, *args, **kwargs)
        snapshot = context["snapshot"] = self.snapshot()
        tables = snapshot.data["tables"] if snapshot else []
        context["tables"] = [
            {
                **table,
                "rows": list(
                    zip(table["row_labels"], table["cells"], table["row_totals"], strict=True)
                ),
                "chart": table_chart(table),
            }
            for table in tables
        ]
        context["framework"] = FrameworkPage.objects.live().public().first()
        context["rubric"] = RubricPage.objects.live().public().first()
        return context

    def serve(self, request, *args, **kwargs):
        """Readers who are not signed in may be served the page and its downloads from the
        cache (public_cache): its figures and text only change with a new publication,
        which clears it. Not before its figures are taken, nor in a preview."""
        response = super().serve(request, *args, **kwargs)
        if (
            not request.user.is_authenticated
            and not getattr(request, "is_preview", False)
            and self.snapshot() is not None
        ):
            public_cache_mark(response)
        return response

    @path("")
    def index_route(self, request):
        return self.render(request)

    @path("data/<str:table>/<str:kind>/")
    def table_download(self, request, table, kind):
        """One table exactly as the page shows it (the same "c" marks), as CSV or JSON."""
        from .snapshots import table_csv

        snapshot = self.snapshot()
        if snapshot is None or kind not in ("csv", "json"):
            raise Http404
        published = next((t for t in snapshot.data["tables"] if t["name"] == table), None)
        if published is None:
            raise Http404
        filename = f"{self.slug}-{table}.{kind}"
        if kind == "json":
            response = JsonResponse(
                {"taken_at": snapshot.data["taken_at"], **published},
                json_dumps_params={"ensure_ascii": False},
            )
        else:
            response = HttpResponse(table_csv(published), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class ReportSnapshot(models.Model):
    """A report's figures as published: taken by a Celery task when a revision goes live
    and never changed after, so readers on different days see the same numbers."""

    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="+")
    revision = models.OneToOneField(
        "wagtailcore.Revision", on_delete=models.CASCADE, related_name="report_snapshot"
    )
    taken_at = models.DateTimeField(auto_now_add=True)
    data = models.JSONField()

    class Meta:
        ordering = ["-taken_at"]

    def __str__(self):
        return f"Figures for {self.page} taken {self.taken_at:%d %b %Y}"


GOVERNANCE_FEATURES = ["h2", "h3", "bold", "italic", "link", "ol", "ul"]


class GovernanceReportIndexPage(Page):
    """The Partnership Board's governance reports, newest first. Private to the QA leads and
    the board (a Wagtail view restriction, made when the page is created)."""

    introduction = RichTextField(features=INTRO_FEATURES, blank=True)

    content_panels = [*Page.content_panels, FieldPanel("introduction")]
    parent_page_types = ["framework.HomePage"]
    subpage_types = ["local_offer.GovernanceReportPage"]
    max_count = 1

    class Meta:
        verbose_name = "governance reports section"

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["reports"] = (
            GovernanceReportPage.objects.child_of(self)
            .live()
            .order_by("-period_end", "-first_published_at")
        )
        return context

    def serve(self, request, *args, **kwargs):
        from django.utils.cache import add_never_cache_headers

        from .governance import governance_refusal

        response = governance_refusal(request) or super().serve(request, *args, **kwargs)
        add_never_cache_headers(response)
        return response


class GovernanceReportPage(RoutablePageMixin, Page):
    """A report to the SEND Partnership Board: fuller figures than the public summaries
    (by agency, locality, need and setting; moderation, actions, training), still aggregates
    only, frozen when published, with the QA lead's commentary. Never cached; readable only
    by QA leads, board members and administrators."""

    period_start = models.DateField(help_text="Audits submitted from this day…")
    period_end = models.DateField(help_text="…to this day (inclusive).")
    cycles = ParentalManyToManyField(
        "audits.AuditCycle",
        blank=True,
        related_name="+",
        help_text="Leave empty to count every cycle's audits in the period, and the "
        "moderation of every cycle that ran during it.",
    )
    introduction = RichTextField(features=INTRO_FEATURES, blank=True)
    commentary = RichTextField(
        features=GOVERNANCE_FEATURES,
        blank=True,
        help_text="What the figures mean and what the partnership is doing: write it before "
        "sending the report for approval.",
    )

    content_panels = [
        *Page.content_panels,
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("period_start"), FieldPanel("period_end")]),
                FieldPanel("cycles"),
                HelpPanel(
                    "The figures are taken when the report is published and do not change "
                    "after. Small numbers are hidden even here: the board reads aggregates."
                ),
            ],
            heading="What the figures cover",
        ),
        FieldPanel("introduction"),
        FieldPanel("commentary"),
    ]
    parent_page_types = ["local_offer.GovernanceReportIndexPage"]
    subpage_types = []

    class Meta:
        verbose_name = "governance report"

    def clean(self):
        super().clean()
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValidationError({"period_end": PERIOD_ENDS_BEFORE_IT_STARTS})

    def snapshot(self):
        """The figures frozen with the live revision (None until they are taken)."""
        if not self.live_revision_id:
            return None
        return ReportSnapshot.objects.filter(revision_id=self.live_revision_id).first()

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        snapshot = context["snapshot"] = self.snapshot()
        context["tables"] = [
            {
                **table,
                "rows": list(
                    zip(table["row_labels"], table["cells"], table["row_totals"], strict=True)
                ),
            }
            for table in (snapshot.data["tables"] if snapshot else [])
        ]
        return context

    def serve(self, request, *args, **kwargs):
        """Belt and braces with the section's view restriction: only readers get the report
        or its downloads, and no copy is kept by any cache on the way."""
        from django.utils.cache import add_never_cache_headers

        from .governance import governance_refusal

        response = governance_refusal(request) or super().serve(request, *args, **kwargs)
        add_never_cache_headers(response)
        return response

    @path("")
    def index_route(self, request):
        return self.render(request)

    @path("pdf/")
    def pdf_download(self, request):
        """The report as a PDF: the same frozen figures and the commentary."""
        from .governance import governance_pdf

        snapshot = self.snapshot()
        if snapshot is None:
            raise Http404
        context = self.get_context(request)
        response = HttpResponse(governance_pdf(context), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{self.slug}.pdf"'
        return response

    @path("csv/")
    def csv_download(self, request):
        """Every table of the report, one after another under its title."""
        from .governance import governance_csv

        snapshot = self.snapshot()
        if snapshot is None:
            raise Http404
        response = HttpResponse(
            governance_csv(self, snapshot), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{self.slug}.csv"'
        return response
