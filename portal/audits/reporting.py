"""The figures reports show, aggregated in the database over AuditFact (one narrow row per
submitted plan audit, carrying the grade that stands): how many audits, the grade
distribution overall and by a breakdown, each plan section's grades and share Good or
better, trends by quarter and by cycle, and actions open and overdue by agency. Every
function takes ReportFilters and returns plain data (dicts, lists), ready for a table, a
chart, a CSV or a frozen report snapshot."""

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.utils import timezone

from portal.framework.plan_sections import PLAN_SECTIONS
from portal.framework.rubric import GRADES

from .models import Action, AuditFact, section_column

GOOD_OR_BETTER = ("outstanding", "good")
BREAKDOWNS = {
    "key_stage": "Key stage",
    "primary_need": "Primary need",
    "setting_type": "Setting type",
    "locality": "Locality",
    "agency": "Auditor's agency",
    "tier": "Tier",
}


@dataclass(frozen=True)
class ReportFilters:
    """What a report covers; empty means everything."""

    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    cycles: tuple = ()
    tier: str = ""
    theme: str = ""
    key_stage: str = ""
    primary_need: str = ""
    setting_type: str = ""
    locality: str = ""
    agency: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    def as_q(self):
        q = Q()
        if self.date_from:
            q &= Q(submitted_on__gte=self.date_from)
        if self.date_to:
            q &= Q(submitted_on__lte=self.date_to)
        if self.cycles:
            q &= Q(cycle__in=list(self.cycles))
        for name in ("tier", "theme", "key_stage", "primary_need", "setting_type", "locality"):
            if getattr(self, name):
                q &= Q(**{name: getattr(self, name)})
        if self.agency:
            q &= Q(agency=self.agency)
        return q


def facts(filters=ReportFilters()):
    return AuditFact.objects.filter(filters.as_q())


def _grade_counts(prefix=""):
    """Conditional counts, one per grade, over `prefix`grade (GROUP BY-free)."""
    column = prefix or "grade"
    return {grade: Count("pk", filter=Q(**{column: grade})) for grade in GRADES}


def headline(filters=ReportFilters()):
    """Audits, plans audited, and the grade distribution (the grade that stands), in one
    scan."""
    row = facts(filters).aggregate(
        audits=Count("pk"), plans=Count("plan", distinct=True), **_grade_counts()
    )
    return {
        "audits": row["audits"],
        "plans": row["plans"],
        "grades": {grade: row[grade] for grade in GRADES},
    }


def grade_distribution(filters=ReportFilters()):
    """{grade: count} for every grade, best first (GROUP BY grade)."""
    # COUNT(*), not COUNT(id): PostgreSQL can then answer from the (x, grade) indexes alone.
    counts = dict(
        facts(filters)
        .values_list("grade")
        .annotate(n=Count("*"))
        .order_by()
        .values_list("grade", "n")
    )
    return {grade: counts.get(grade, 0) for grade in GRADES}


def grade_distribution_by(breakdown, filters=ReportFilters()):
    """{group: {grade: count}} for a breakdown in BREAKDOWNS, groups in sorted order."""
    if breakdown not in BREAKDOWNS:
        raise ValueError(f"“{breakdown}” is not a breakdown reports offer.")
    rows = facts(filters).values_list(breakdown, "grade").annotate(n=Count("*")).order_by(breakdown)
    table = {}
    for group, grade, count in rows:
        table.setdefault(group, dict.fromkeys(GRADES, 0))[grade] = count
    return table


def section_distribution(filters=ReportFilters()):
    """Per plan section (A–K, in order): {grade: count} over the audits that graded it, how
    many graded it, and how many were Good or better — conditional counts in one scan."""
    aggregates = {}
    for section in PLAN_SECTIONS:
        column = section_column(section.key)
        for grade in GRADES:
            aggregates[f"{column}__{grade}"] = Count("pk", filter=Q(**{column: grade}))
    row = facts(filters).aggregate(**aggregates)
    sections = []
    for section in PLAN_SECTIONS:
        column = section_column(section.key)
        grades = {grade: row[f"{column}__{grade}"] for grade in GRADES}
        graded = sum(grades.values())
        sections.append(
            {
                "key": section.key,
                "title": section.title,
                "grades": grades,
                "graded": graded,
                "good_or_better": sum(grades[grade] for grade in GOOD_OR_BETTER),
            }
        )
    return sections


def quarter_label(day):
    return f"{day.year} Q{(day.month - 1) // 3 + 1}"


def trend_by_quarter(filters=ReportFilters()):
    """[(quarter label, {grade: count})] oldest first, by the quarter audits were submitted.

    Grouped by day in the database (a few hundred days a year) and the days added up into
    quarters here: truncating each row's date to its quarter in SQL costs a time-zone
    conversion per row."""
    rows = (
        facts(filters)
        .values_list("submitted_on", "grade")
        .annotate(n=Count("*"))
        .order_by("submitted_on")
    )
    trend = {}
    for day, grade, count in rows:
        trend.setdefault(quarter_label(day), dict.fromkeys(GRADES, 0))[grade] += count
    return list(trend.items())


def trend_by_cycle(filters=ReportFilters()):
    """[(cycle name, {grade: count})] in the order the cycles started."""
    rows = (
        facts(filters)
        .filter(cycle__isnull=False)
        .values_list("cycle__starts_on", "cycle__name", "grade")
        .annotate(n=Count("pk"))
        .order_by("cycle__starts_on", "cycle__name")
    )
    trend = {}
    for _, name, grade, count in rows:
        trend.setdefault(name, dict.fromkeys(GRADES, 0))[grade] = count
    return list(trend.items())


def actions_by_agency(today=None):
    """{agency: {"open": n, "overdue": n, "done": n}}, every agency with actions."""
    today = today or timezone.localdate()
    open_statuses = [Action.Status.OPEN, Action.Status.IN_PROGRESS]
    rows = (
        Action.objects.values("agency")
        .annotate(
            open=Count("pk", filter=Q(status__in=open_statuses)),
            overdue=Count("pk", filter=Q(status__in=open_statuses, due_on__lt=today)),
            done=Count("pk", filter=Q(status=Action.Status.DONE)),
        )
        .order_by("agency")
    )
    return {
        row["agency"]: {"open": row["open"], "overdue": row["overdue"], "done": row["done"]}
        for row in rows
    }
