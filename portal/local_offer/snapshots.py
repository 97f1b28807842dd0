"""Taking a published report's figures: the aggregates its revision asks for (portal.audits
.reporting, in the database), put through disclosure control as one page (so no hidden
number can be worked out from anything else the page shows), and frozen as a
ReportSnapshot of that revision."""

import csv
import io

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from wagtail.log_actions import log

from portal.audits.models import KeyStage, PrimaryNeed, SettingType
from portal.audits.reporting import (
    GOOD_OR_BETTER,
    ReportFilters,
    grade_distribution,
    grade_distribution_by,
    section_distribution,
)
from portal.framework.rubric import GRADE_LABELS, GRADES

from .audit_log import REPORT_SNAPSHOT_ACTION
from .disclosure import Table, suppress_page
from .models import QualitySummaryPage, ReportSnapshot

SUPPRESSED = "c"
BREAKDOWN_TITLES = {
    "key_stage": ("Grades by key stage", "Key stage", dict(KeyStage.choices)),
    "primary_need": ("Grades by primary need", "Primary need", dict(PrimaryNeed.choices)),
    "setting_type": ("Grades by type of setting", "Type of setting", dict(SettingType.choices)),
    "locality": ("Grades by locality", "Locality", {}),
}
SECTION_COLUMNS = ["Good or better", "Below good"]


def summary_filters(page):
    return ReportFilters(
        date_from=page.period_start,
        date_to=page.period_end,
        cycles=tuple(cycle.pk for cycle in page.cycles.all()),
    )


def _grade_table(name, title, row_heading, rows):
    """A table of grade counts: rows [(label, {grade: count})]."""
    return Table(
        name=name,
        row_labels=[label for label, _ in rows],
        column_labels=[GRADE_LABELS[grade] for grade in GRADES],
        counts=[[counts[grade] for grade in GRADES] for _, counts in rows],
    ), {"title": title, "row_heading": row_heading}


def summary_tables(page):
    """The tables a summary publishes (before disclosure control), with their titles."""
    filters = summary_filters(page)
    tables = [
        _grade_table(
            "grades",
            "Grades of the plans audited",
            "Plans audited",
            [("All audits", grade_distribution(filters))],
        )
    ]
    for breakdown in page.breakdowns:
        title, heading, labels = BREAKDOWN_TITLES[breakdown]
        rows = [
            (labels.get(group, group), counts)
            for group, counts in grade_distribution_by(breakdown, filters).items()
        ]
        # A breakdown with fewer than two groups big enough to show would only hide the
        # overall figures (they would give its one group away): it is left off the page.
        big_enough = [
            row for row in rows if sum(row[1].values()) >= settings.PORTAL_DISCLOSURE_MIN_GROUP
        ]
        if len(big_enough) >= 2:
            tables.append(_grade_table(breakdown, title, heading, rows))
    sections = section_distribution(filters)
    tables.append(
        (
            Table(
                name="sections",
                row_labels=[f"{row['key']}: {row['title']}" for row in sections],
                column_labels=SECTION_COLUMNS,
                counts=[
                    [row["good_or_better"], row["graded"] - row["good_or_better"]]
                    for row in sections
                ],
            ),
            {"title": "How each section of the plan was graded", "row_heading": "Section"},
        )
    )
    return tables


def _published(table, titles):
    return {
        "name": table.name,
        "title": titles["title"],
        "row_heading": titles["row_heading"],
        "row_labels": list(table.row_labels),
        "column_labels": list(table.column_labels),
        "cells": [list(row) for row in table.cells],
        "row_totals": list(table.row_totals),
        "column_totals": list(table.column_totals),
        "total": table.total,
        "percentages": [list(row) for row in table.percentages],
        # How many groups are too small to show, never which: naming one would say that a
        # few children of that group were audited.
        "groups_not_shown": len(table.dropped_rows),
    }


def _percent(numerator, denominator):
    if not isinstance(numerator, int) or not isinstance(denominator, int) or not denominator:
        return None
    return round(100 * numerator / denominator)


def _sections_ranked(table):
    """Sections with a published share Good or better, strongest first."""
    ranked = []
    for label, cells, total in zip(
        table["row_labels"], table["cells"], table["row_totals"], strict=True
    ):
        share = _percent(cells[0], total)
        if share is not None:
            ranked.append({"section": label, "good_or_better": share})
    return sorted(ranked, key=lambda row: (-row["good_or_better"], row["section"]))


def _earlier_summaries(page):
    """The headline of every earlier published summary, oldest first, for the trend."""
    earlier = (
        QualitySummaryPage.objects.live()
        .public()
        .filter(period_end__lt=page.period_start)
        .exclude(pk=page.pk)
        .order_by("period_end")
    )
    trend = []
    for other in earlier:
        snapshot = other.snapshot()
        if snapshot and snapshot.data.get("headline", {}).get("published"):
            headline = snapshot.data["headline"]
            trend.append(
                {
                    "title": other.title,
                    "period": headline["period"],
                    "audits": headline["audits"],
                    "good_or_better": headline["good_or_better"],
                }
            )
    return trend


def summary_figures(page):
    """Everything a summary page shows, disclosure-controlled: plain JSON data."""
    tables = summary_tables(page)
    published = suppress_page(
        [table for table, _ in tables],
        primary_max=settings.PORTAL_DISCLOSURE_PRIMARY_MAX,
        min_group=settings.PORTAL_DISCLOSURE_MIN_GROUP,
    )
    shown = [
        _published(table, titles) for table, (_, titles) in zip(published, tables, strict=True)
    ]
    overall = shown[0]
    audits = overall["total"]
    enough = (
        bool(overall["cells"])
        and isinstance(audits, int)
        and audits >= settings.PORTAL_DISCLOSURE_MIN_GROUP
    )
    good = [overall["cells"][0][GRADES.index(grade)] for grade in GOOD_OR_BETTER] if enough else []
    good_or_better = (
        _percent(sum(good), audits) if enough and all(isinstance(n, int) for n in good) else None
    )
    period = f"{page.period_start:%-d %B %Y} to {page.period_end:%-d %B %Y}"
    return {
        "taken_at": timezone.now().isoformat(),
        "headline": {
            "published": enough,
            "period": period,
            "audits": audits if enough else None,
            "good_or_better": good_or_better,
        },
        "tables": shown if enough else [],
        "sections": _sections_ranked(shown[-1]) if enough else [],
        "trend": _earlier_summaries(page),
        "thresholds": {
            "primary_max": settings.PORTAL_DISCLOSURE_PRIMARY_MAX,
            "min_group": settings.PORTAL_DISCLOSURE_MIN_GROUP,
        },
    }


@transaction.atomic
def report_snapshot_take(revision):
    """Freeze the figures of a published revision (once: a revision's snapshot never
    changes). Returns the snapshot."""
    existing = ReportSnapshot.objects.filter(revision=revision).first()
    if existing:
        return existing
    page = revision.as_object()
    snapshot = ReportSnapshot.objects.create(
        page_id=int(revision.object_id), revision=revision, data=report_figures(page)
    )
    # Taken by a Celery task after publication: the portal's own act, so no user (the page's
    # history names who published the revision).
    log(
        instance=snapshot,
        action=REPORT_SNAPSHOT_ACTION,
        user=None,
        data={"page": snapshot.page_id, "revision": revision.pk},
    )
    return snapshot


def report_snapshots_missing_take():
    """Take the figures of every live report revision without them; returns the snapshots."""
    from .models import GovernanceReportPage

    taken = []
    for model in (QualitySummaryPage, GovernanceReportPage):
        waiting = (
            model.objects.live()
            .filter(live_revision__isnull=False)
            .exclude(live_revision__in=ReportSnapshot.objects.values("revision"))
        )
        for page in waiting.select_related("live_revision"):
            taken.append(report_snapshot_take(page.live_revision))
    return taken


def report_figures(page):
    """The figures a report page of either kind publishes: a governance report's fuller
    set (portal.local_offer.governance) or a quality summary's."""
    from .governance import governance_figures
    from .models import GovernanceReportPage

    if isinstance(page, GovernanceReportPage):
        return governance_figures(page)
    return summary_figures(page)


CHART_COLOURS = ["#00703c", "#1d70b8", "#a34f00", "#942514", "#4c2c92", "#505a5f"]


def table_chart(table):
    """The chart (templates/includes/charts/bar_chart.html) of a published table, or None
    where a figure is hidden: a bar cannot be drawn for "c", and the table says it all."""
    rows = list(zip(table["row_labels"], table["cells"], table["row_totals"], strict=True))
    if not rows or any(not isinstance(cell, int) for _, cells, _ in rows for cell in cells):
        return None
    return {
        "id": f"chart-{table['name']}",
        "title": f"Chart: {table['title'].lower()}",
        "table": f"{table['title']} (number of audits)",
        "series": [
            {"label": label, "colour": colour}
            for label, colour in zip(table["column_labels"], CHART_COLOURS, strict=False)
        ],
        "rows": [
            {"label": label, "values": list(cells), "total": sum(cells)} for label, cells, _ in rows
        ],
        "scale": max(sum(cells) for _, cells, _ in rows) or 1,
        "stacked": True,
    }


def table_csv(table):
    """A published table as CSV: the same cells and "c" marks as the page."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([table["row_heading"], *table["column_labels"], "Total"])
    for label, cells, total in zip(
        table["row_labels"], table["cells"], table["row_totals"], strict=True
    ):
        writer.writerow([label, *cells, total])
    writer.writerow(["Total", *table["column_totals"], table["total"]])
    return out.getvalue()
