"""The staff quality dashboard for QA leads and moderators: how many plans were audited, the
grades that stand, each plan section's grades, the trends by quarter and by cycle, and
actions by agency, under the filters in the query string; and each table as a CSV or XLSX
download. The figures come from portal.audits.reporting (aggregated in the database) through
portal.audits.dashboard_exports; views only read the filters and lay the tables out."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from portal.framework.rubric import GRADE_LABELS, GRADES
from portal.refusal import refused

from .dashboard_exports import FORMATS, TABLES, dashboard_table, dashboard_tables, table_export
from .dashboard_forms import DashboardFilterForm

VIEW_AUDITS = "audits.view_audit"
VIEW_CASES = "audits.view_moderationcase"
NOT_ALLOWED_TITLE = "You cannot see the quality dashboard"
NOT_ALLOWED = (
    "Only QA leads and moderators can see the quality dashboard. "
    "Ask a QA lead if you think you should be able to."
)
# Chart colours: each has at least 4.5:1 contrast with white, which the bars sit on and
# which their patterns and separators are drawn in.
GRADE_COLOURS = {
    "outstanding": "#00703c",
    "good": "#1d70b8",
    "requires_improvement": "#a34f00",
    "inadequate": "#942514",
}
COUNT_COLOUR = "#1d70b8"
ACTION_COLOURS = {"Open": "#1d70b8", "Overdue": "#942514", "Done": "#00703c"}
GRADE_SERIES = [{"label": GRADE_LABELS[grade], "colour": GRADE_COLOURS[grade]} for grade in GRADES]
# Which columns of each table are charted (after the label), and how. Charts beside their
# table (on a desktop) are narrower than those above a wide table.
BESIDE = 440
CHARTS = {
    "grades": {
        "columns": (1,),
        "series": [{"label": "Audits", "colour": COUNT_COLOUR}],
        "width": BESIDE,
    },
    "breakdown": {"columns": (1, 2, 3, 4), "series": GRADE_SERIES, "stacked": True},
    "sections": {"columns": (1, 2, 3, 4), "series": GRADE_SERIES, "stacked": True},
    "quarters": {"columns": (1, 2, 3, 4), "series": GRADE_SERIES, "stacked": True},
    "cycles": {"columns": (1, 2, 3, 4), "series": GRADE_SERIES, "stacked": True},
    "actions": {
        "columns": (1, 2, 3),
        "series": [{"label": label, "colour": colour} for label, colour in ACTION_COLOURS.items()],
        "width": BESIDE,
    },
}


def dashboard_view(view):
    """Signed-in QA leads and moderators only; anyone else is told why."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not (request.user.has_perm(VIEW_AUDITS) or request.user.has_perm(VIEW_CASES)):
            return refused(
                request,
                NOT_ALLOWED,
                title=NOT_ALLOWED_TITLE,
                back_url=reverse("my_audits"),
                back_label="Go to my audits",
            )
        return view(request, *args, **kwargs)

    return wrapper


def bar_chart(chart_id, table, columns, series, stacked=False, width=600):
    """The plain data templates/includes/charts/bar_chart.html draws: the table's rows
    (without any total), the values of `columns` in each, and the full bar's length."""
    rows = [
        {
            "label": row[0],
            "values": [row[column] for column in columns],
            "total": sum(row[column] for column in columns),
        }
        for row in table.rows
    ]
    longest = max((row["total"] if stacked else max(row["values"]) for row in rows), default=0)
    return {
        "id": chart_id,
        "title": f"Chart: {table.caption[0].lower()}{table.caption[1:]}",
        "table": table.caption,
        "series": series,
        "rows": rows,
        "scale": longest,
        "stacked": stacked,
        "width": width,
    }


def _figures(request, form):
    tables = dashboard_tables(form.report_filters(), form.chosen_breakdown())
    query = request.GET.urlencode()
    figures = {}
    for name, table in tables.items():
        chart = CHARTS.get(name)
        figures[name] = {
            "table": table,
            "chart": bar_chart(f"chart-{name}", table, **chart) if chart else None,
            "downloads": {
                file_format: reverse("dashboard_export", args=[name, file_format])
                + (f"?{query}" if query else "")
                for file_format in FORMATS
            },
        }
    return figures


def _page(request, form):
    valid = form.is_valid()
    return TemplateResponse(
        request,
        "audits/dashboard/dashboard.html",
        {
            "form": form,
            "figures": _figures(request, form) if valid else None,
            "applied": form.applied() if valid else [],
            "filtered": bool(form.applied()) if valid else True,
        },
        status=200 if valid else 400,
    )


@require_GET
@dashboard_view
def dashboard(request):
    """The figures, each as a chart beside its table, under the filters in the query string;
    invalid filters show their errors and no figures."""
    return _page(request, DashboardFilterForm(request.GET))


@require_GET
@dashboard_view
def dashboard_export(request, table, file_format):
    """One of the dashboard's tables, under the same filters, as a CSV or XLSX file."""
    if table not in TABLES or file_format not in FORMATS:
        raise Http404
    form = DashboardFilterForm(request.GET)
    if not form.is_valid():
        return _page(request, form)
    content = table_export(
        dashboard_table(table, form.report_filters(), form.chosen_breakdown()), file_format
    )
    response = HttpResponse(content, content_type=FORMATS[file_format]().get_content_type())
    filename = f"dashboard-{table}-{timezone.localdate():%Y-%m-%d}.{file_format}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
