"""Governance reports for the SEND Partnership Board: who may read them, the fuller figures
frozen when one is published (aggregates only, small numbers hidden with the governance
thresholds), their CSV and PDF downloads, the draft the QA leads are given every two months,
and the emails that say a draft or a report is ready (links only, never figures)."""

import calendar
import csv
import datetime
import io
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from wagtail.log_actions import log
from wagtail.models import PageViewRestriction

from portal.audits.models import Audit, AuditCycle, AuditFact, ModerationCase
from portal.audits.moderation_rules import grade_change
from portal.audits.moderation_selectors import cycle_agreement
from portal.audits.reporting import (
    GOOD_OR_BETTER,
    ReportFilters,
    actions_by_agency,
    grade_distribution,
    grade_distribution_by,
    headline,
    section_distribution,
)
from portal.framework.roles import PARTNERSHIP_BOARD, QA_LEAD
from portal.framework.rubric import GRADE_LABELS, GRADES
from portal.training.models import Agency
from portal.training.selectors import training_reach

from .audit_log import GOVERNANCE_DRAFT_ACTION
from .disclosure import Table, suppress_page
from .models import GovernanceReportIndexPage, GovernanceReportPage
from .snapshots import BREAKDOWN_TITLES, _published, _sections_ranked, table_csv

READERS = (QA_LEAD, PARTNERSHIP_BOARD)
NOT_A_READER = "Governance reports are for the QA leads and the Partnership Board only."
NO_INDEX = "There is no governance reports section to put the draft in: create it first."

AGENCY_LABELS = {**dict(Agency.choices), "": "No agency recorded", None: "No agency recorded"}
GOVERNANCE_BREAKDOWNS = [
    ("agency", "Grades by auditor's agency", "Auditor's agency", AGENCY_LABELS),
    ("locality", "Grades by locality", "Locality", {}),
    ("key_stage", "Grades by key stage", "Key stage", None),
    ("primary_need", "Grades by primary need", "Primary need", None),
    ("setting_type", "Grades by type of setting", "Type of setting", None),
]
SECTION_COLUMNS = ["Good or better", "Below good"]
DRAFT_INTRODUCTION = (
    "<p>How plans written in this period were judged, how far the auditors agreed, and "
    "what the partnership is doing about what it found.</p>"
)


# Who may read ----------------------------------------------------------------------------


def governance_reader(user):
    """Whether `user` may read governance reports: an active QA lead, Partnership Board
    member or administrator."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.groups.filter(name__in=READERS).exists()


def governance_refusal(request):
    """None for a reader; otherwise the sign-in page for anonymous visitors, and 403 (with
    NOT_A_READER) for everyone else signed in."""
    if governance_reader(request.user):
        return None
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    raise PermissionDenied(NOT_A_READER)


def governance_index_restrict(index):
    """Make sure the governance section is private to the QA leads and the Partnership Board
    (Wagtail page privacy, inherited by every report under it). Returns the restriction."""
    restriction = PageViewRestriction.objects.filter(
        page=index, restriction_type=PageViewRestriction.GROUPS
    ).first()
    if restriction is None:
        restriction = PageViewRestriction.objects.create(
            page=index, restriction_type=PageViewRestriction.GROUPS
        )
    restriction.groups.add(*Group.objects.filter(name__in=READERS))
    return restriction


# Figures ---------------------------------------------------------------------------------


def governance_filters(page):
    return ReportFilters(
        date_from=page.period_start,
        date_to=page.period_end,
        cycles=tuple(cycle.pk for cycle in page.cycles.all()),
    )


def _grade_table(name, rows):
    """A table of grade counts: rows [(label, {grade: count})]."""
    return Table(
        name=name,
        row_labels=[label for label, _ in rows],
        column_labels=[GRADE_LABELS[grade] for grade in GRADES],
        counts=[[counts[grade] for grade in GRADES] for _, counts in rows],
    )


def governance_tables(page):
    """The grade tables a governance report publishes (before disclosure control): overall,
    by agency, locality, key stage, need and setting, and by plan section."""
    filters = governance_filters(page)
    tables = [
        (
            _grade_table("grades", [("All audits", grade_distribution(filters))]),
            {"title": "Grades of the plans audited", "row_heading": "Plans audited"},
        )
    ]
    for breakdown, title, heading, labels in GOVERNANCE_BREAKDOWNS:
        labels = BREAKDOWN_TITLES[breakdown][2] if labels is None else labels
        rows = [
            (labels.get(group, group or "Not recorded"), counts)
            for group, counts in grade_distribution_by(breakdown, filters).items()
        ]
        # As on the summaries: a breakdown with fewer than two groups big enough to show
        # would only hide the overall figures, so it is left off.
        big_enough = [
            row for row in rows if sum(row[1].values()) >= settings.PORTAL_GOVERNANCE_MIN_GROUP
        ]
        if len(big_enough) >= 2:
            tables.append((_grade_table(breakdown, rows), {"title": title, "row_heading": heading}))
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


def _share(numerator, denominator):
    if numerator is None or not denominator:
        return None
    return round(100 * numerator / denominator)


def _percent_or_dash(value):
    return "–" if value is None else f"{round(100 * value)}%"


def governance_cycles(page):
    """The cycles a report's moderation figures cover: those chosen, else every cycle that
    ran during the period or had audits submitted in it (audits may come in late)."""
    chosen = list(page.cycles.all())
    if chosen:
        return chosen
    with_audits = AuditFact.objects.filter(
        submitted_on__gte=page.period_start, submitted_on__lte=page.period_end
    ).values("cycle")
    return list(
        AuditCycle.objects.filter(
            Q(starts_on__lte=page.period_end, ends_on__gte=page.period_start)
            | Q(pk__in=with_audits)
        ).order_by("starts_on", "name")
    )


def moderation_by_agency(cycles):
    """Over the closed moderation cases of `cycles`: per auditor's agency, how many audits
    were moderated and how many grades moderation kept, raised or lowered. No names.
    Counted in the database by (agency, auditor's grade, moderated grade): at most a few
    dozen rows whatever the number of cases."""
    rows = (
        Audit.objects.filter(
            moderation_cases__status=ModerationCase.Status.CLOSED,
            moderation_cases__cycle__in=cycles,
            # In the same filter() as the others, so it is the same closed case's grade.
            moderation_cases__moderated_grade__gt="",
        )
        .exclude(overall_grade="")
        .values_list(
            "assignment__auditor__staff_profile__agency",
            "overall_grade",
            "moderation_cases__moderated_grade",
        )
        .annotate(n=Count("*"))
        .order_by()
    )
    figures = {}
    for agency, grade, moderated, count in rows:
        row = figures.setdefault(
            AGENCY_LABELS.get(agency, agency),
            {"moderated": 0, "same": 0, "raised": 0, "lowered": 0},
        )
        row["moderated"] += count
        row[grade_change(grade, moderated, GRADES)] += count
    return figures


def _measure(name, title, columns, rows):
    """A plain table (staff and process figures, not about children): one heading row."""
    return {"name": name, "title": title, "columns": columns, "rows": rows}


def moderation_measures(page):
    cycles = governance_cycles(page)
    agreement_rows = []
    for cycle in cycles:
        agreement = cycle_agreement(cycle)
        double = agreement["double_audits"]
        kappa = double["kappa_quadratic"]
        agreement_rows.append(
            [
                cycle.name,
                double["pairs"],
                _percent_or_dash(double["exact"]),
                _percent_or_dash(double["within_one"]),
                "–" if kappa is None else f"{kappa:.2f}",
                agreement["cases_closed"],
                agreement["cases_open"],
                agreement["confirmed"],
                agreement["changed"],
            ]
        )
    by_agency = moderation_by_agency(cycles)
    return [
        _measure(
            "moderation",
            "Moderation outcomes and agreement by cycle",
            [
                "Cycle",
                "Plans audited twice",
                "Same grade",
                "Within one grade",
                "Weighted kappa",
                "Cases closed",
                "Cases open",
                "Grade confirmed",
                "Grade changed",
            ],
            agreement_rows,
        ),
        _measure(
            "moderation_by_agency",
            "How moderation moved auditors' grades, by agency",
            ["Auditor's agency", "Audits moderated", "Kept", "Raised", "Lowered"],
            [
                [agency, row["moderated"], row["same"], row["raised"], row["lowered"]]
                for agency, row in sorted(by_agency.items())
            ],
        ),
    ]


def action_measures(today):
    rows = []
    for agency, row in actions_by_agency(today).items():
        finished = row["open"] + row["done"]
        completed = _share(row["done"], finished)
        rows.append(
            [
                AGENCY_LABELS.get(agency, agency),
                row["open"],
                row["overdue"],
                row["done"],
                "–" if completed is None else f"{completed}%",
            ]
        )
    return _measure(
        "actions",
        f"Actions by owning agency on {today:%-d %B %Y}",
        ["Agency", "Open", "Overdue", "Done", "Completed"],
        rows,
    )


def training_measures():
    return _measure(
        "training",
        "Auditor training and accreditation by agency",
        [
            "Agency",
            "Auditors",
            "Required modules done",
            "Passed calibration",
            "Accredited now",
            "Accreditation expired",
        ],
        [
            [
                row["agency"],
                row["auditors"],
                row["modules_done"],
                row["passed_calibration"],
                row["accredited"],
                row["expired"],
            ]
            for row in training_reach()
        ],
    )


def previous_report(page):
    """The latest published governance report whose period ended before this one's began."""
    return (
        GovernanceReportPage.objects.live()
        .filter(period_end__lt=page.period_start)
        .exclude(pk=page.pk)
        .order_by("-period_end", "-first_published_at")
        .first()
    )


def change_since_previous(page, now):
    """The headline then and now, or None for the first report (or one without figures)."""
    previous = previous_report(page)
    snapshot = previous.snapshot() if previous else None
    if snapshot is None or not snapshot.data["headline"]["published"]:
        return None
    then = snapshot.data["headline"]
    return {
        "previous_title": previous.title,
        "previous_period": then["period"],
        "audits_then": then["audits"],
        "audits_now": now["audits"],
        "good_or_better_then": then["good_or_better"],
        "good_or_better_now": now["good_or_better"],
    }


def governance_figures(page, today=None):
    """Everything a governance report shows, as plain JSON data: the grade tables after
    disclosure control, and the moderation, action and training tables by agency."""
    today = today or timezone.localdate()
    primary_max = settings.PORTAL_GOVERNANCE_PRIMARY_MAX
    min_group = settings.PORTAL_GOVERNANCE_MIN_GROUP
    tables = governance_tables(page)
    published = suppress_page(
        [table for table, _ in tables], primary_max=primary_max, min_group=min_group
    )
    shown = [
        _published(table, titles) for table, (_, titles) in zip(published, tables, strict=True)
    ]
    overall = shown[0]
    audits = overall["total"]
    enough = bool(overall["cells"]) and isinstance(audits, int) and audits >= min_group
    good = [overall["cells"][0][GRADES.index(grade)] for grade in GOOD_OR_BETTER] if enough else []
    good_or_better = (
        _share(sum(good), audits) if enough and all(isinstance(n, int) for n in good) else None
    )
    plans = headline(governance_filters(page))["plans"]
    top = {
        "published": enough,
        "period": f"{page.period_start:%-d %B %Y} to {page.period_end:%-d %B %Y}",
        "audits": audits if enough else None,
        "plans": plans if enough and plans >= min_group else None,
        "good_or_better": good_or_better,
    }
    return {
        "taken_at": timezone.now().isoformat(),
        "headline": top,
        "tables": shown if enough else [],
        "sections": _sections_ranked(shown[-1]) if enough else [],
        "measures": [*moderation_measures(page), action_measures(today), training_measures()],
        "change": change_since_previous(page, top) if enough else None,
        "thresholds": {"primary_max": primary_max, "min_group": min_group},
    }


# Downloads -------------------------------------------------------------------------------


def governance_csv(page, snapshot):
    """Every table of a report, one after another, each under its title."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([page.title])
    writer.writerow([f"Audits submitted from {snapshot.data['headline']['period']}"])
    writer.writerow([f"Figures taken {snapshot.taken_at:%-d %B %Y}"])
    for table in snapshot.data["tables"]:
        writer.writerow([])
        writer.writerow([table["title"]])
        out.write(table_csv(table))
    for measure in snapshot.data["measures"]:
        writer.writerow([])
        writer.writerow([measure["title"]])
        writer.writerow(measure["columns"])
        writer.writerows(measure["rows"])
    change = snapshot.data.get("change")
    if change:
        writer.writerow([])
        writer.writerow([f"Change since {change['previous_title']}"])
        writer.writerow(["Measure", "Then", "Now"])
        writer.writerow(["Plans audited", change["audits_then"], change["audits_now"]])
        writer.writerow(
            [
                "Graded good or better (%)",
                change["good_or_better_then"],
                change["good_or_better_now"],
            ]
        )
    return out.getvalue()


def _no_fetching(url, *args, **kwargs):
    """The print template is self-contained: nothing is fetched while rendering a PDF."""
    raise ValueError(f"Governance PDFs fetch nothing: {url}")


def governance_pdf(context):
    """The report as a PDF (WeasyPrint) from its print template and the page's context."""
    from weasyprint import HTML

    html = render_to_string("local_offer/governance_report_pdf.html", context)
    return HTML(string=html, url_fetcher=_no_fetching).write_pdf()


# Drafts and emails -----------------------------------------------------------------------


def months_before(day, months):
    """The same day `months` calendar months earlier (the month's last day where it is
    shorter)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return datetime.date(year, month + 1, min(day.day, last))


def next_draft_period(today):
    """(start, end) of the next report to draft, or None when it is not due: due once the
    last report's period ended PORTAL_GOVERNANCE_PERIOD_MONTHS or more ago; it then runs
    from the day after to yesterday. The first report covers the last period's months."""
    months = settings.PORTAL_GOVERNANCE_PERIOD_MONTHS
    yesterday = today - datetime.timedelta(days=1)
    last = GovernanceReportPage.objects.order_by("-period_end").first()
    if last is None:
        return months_before(today, months), yesterday
    if last.period_end > months_before(today, months):
        return None
    return last.period_end + datetime.timedelta(days=1), yesterday


def _active_in(role):
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=role)
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )


def _send_after_commit(subject, body, recipients):
    if recipients:
        transaction.on_commit(partial(send_mail, subject, body, None, recipients), robust=True)


@transaction.atomic
def governance_report_draft_create(today=None):
    """Create the next governance report as a draft, if one is due, and email every active
    QA lead the link to review it. Returns the draft, or None when none was due."""
    today = today or timezone.localdate()
    period = next_draft_period(today)
    if period is None:
        return None
    index = GovernanceReportIndexPage.objects.first()
    if index is None:
        raise GovernanceReportIndexPage.DoesNotExist(NO_INDEX)
    start, end = period
    draft = GovernanceReportPage(
        title=f"Governance report: {start:%-d %B %Y} to {end:%-d %B %Y}",
        slug=slugify(f"{start:%Y-%m-%d} to {end:%Y-%m-%d}"),
        period_start=start,
        period_end=end,
        introduction=DRAFT_INTRODUCTION,
        live=False,
    )
    index.add_child(instance=draft)
    draft.save_revision()
    # Made by Celery beat, not by a person: the page's history says the portal drafted it.
    log(
        instance=draft,
        action=GOVERNANCE_DRAFT_ACTION,
        user=None,
        data={"period_start": start.isoformat(), "period_end": end.isoformat()},
    )
    link = settings.WAGTAILADMIN_BASE_URL.rstrip("/") + reverse(
        "wagtailadmin_pages:edit", args=[draft.pk]
    )
    _send_after_commit(
        f"Governance report ready to review: {start:%-d %B %Y} to {end:%-d %B %Y}",
        "A draft governance report for the Partnership Board is ready for you to review.\n\n"
        "Add the commentary, check the period and cycles, and send it for approval:\n"
        f"{link}\n\nIts figures are taken when it is published.",
        [user.email for user in _active_in(QA_LEAD)],
    )
    return draft


def governance_report_announce(page):
    """Email every active Partnership Board member that a report is published, with a link
    to it: never its figures, which stay behind the sign-in."""
    url = page.get_full_url() or (settings.WAGTAILADMIN_BASE_URL.rstrip("/") + page.url)
    _send_after_commit(
        f"Governance report published: {page.title}",
        "A governance report for the SEND Partnership Board has been published.\n\n"
        f"Read it (sign in first): {url}\n",
        [user.email for user in _active_in(PARTNERSHIP_BOARD)],
    )
