"""Reporting over a million synthetic audits on PostgreSQL: the staff dashboard's figures
(portal.audits.reporting over AuditFact) under six filter combinations, and everything a
report page needs at once (its snapshot), each beside ONE hand-written SQL query over the
base tables (audits ⋈ assignments ⋈ plans, and the auditor's profile for an agency) that
counts the grades with the same filter, timed in the same run.

The data is made by `generate_synthetic_data` (BENCH_REPORTING_SIZE audits, 1,000,000 by
default; a few thousand for a smoke run), then VACUUM ANALYZE, as autovacuum would leave a
database that has settled. Every query runs BENCH_REPORTING_RUNS times (20), round-robin so
that noise from the machine falls on all alike; p50 and p95 are over those runs, and the
ratio is each p50 over the hand-written query's p50 for the same filter."""

import datetime
import io
import logging
import os
import re
import statistics
import time
import zoneinfo

from django.core.management import call_command
from django.db import connection

from portal.audits import reporting
from portal.audits.models import AuditCycle
from portal.audits.reporting import ReportFilters
from portal.framework.models import RubricPage

SIZE = int(os.environ.get("BENCH_REPORTING_SIZE", "1000000"))
RUNS = int(os.environ.get("BENCH_REPORTING_RUNS", "20"))
SNAPSHOT_RUNS = max(1, min(5, RUNS))
LONDON = zoneinfo.ZoneInfo("Europe/London")
# The breakdowns a report page shows (the dashboard offers all of reporting.BREAKDOWNS).
REPORT_BREAKDOWNS = ("key_stage", "primary_need", "setting_type", "locality")
AIM_P95_MS = 300
AIM_RATIO = 1.5
AIM_SNAPSHOT_S = 10


def _filter_combinations():
    cycle = AuditCycle.objects.get(name="SYN 2025 Q3: new plans")
    return {
        "no filter": ReportFilters(),
        "one cycle": ReportFilters(cycles=(cycle.pk,)),
        "key stage": ReportFilters(key_stage="KS2"),
        "key stage + need": ReportFilters(key_stage="KS2", primary_need="ASD"),
        "date range + locality": ReportFilters(
            date_from=datetime.date(2025, 1, 1),
            date_to=datetime.date(2025, 6, 30),
            locality="North",
        ),
        "agency": ReportFilters(agency="health"),
    }


def hand_written(filters):
    """The grade distribution by one SQL query over the base tables, with the same filter.
    It counts the auditors' own grades (a moderated grade would need the cases joined too),
    so its counts differ from the reports' where moderation changed a grade; its total is
    the same."""
    joins = [
        "JOIN audits_assignment s ON s.id = a.assignment_id",
        "JOIN audits_plan p ON p.id = s.plan_id",
    ]
    where, params = ["a.status = 'submitted'"], []
    if filters.cycles:
        where.append("s.cycle_id = ANY(%s)")
        params.append(list(filters.cycles))
    for name in ("key_stage", "primary_need", "setting_type", "locality"):
        if getattr(filters, name):
            where.append(f"p.{name} = %s")
            params.append(getattr(filters, name))
    # Report dates are days in local time: the day's bounds as moments.
    if filters.date_from:
        where.append("a.submitted_at >= %s")
        params.append(datetime.datetime.combine(filters.date_from, datetime.time(), LONDON))
    if filters.date_to:
        where.append("a.submitted_at < %s")
        following = filters.date_to + datetime.timedelta(days=1)
        params.append(datetime.datetime.combine(following, datetime.time(), LONDON))
    if filters.agency:
        joins.append("JOIN training_staffprofile sp ON sp.user_id = s.auditor_id")
        where.append("sp.agency = %s")
        params.append(filters.agency)
    sql = (
        "SELECT a.overall_grade, COUNT(*) FROM audits_audit a "  # noqa: S608 - fixed fragments
        + " ".join(joins)
        + " WHERE "
        + " AND ".join(where)
        + " GROUP BY a.overall_grade"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return dict(cursor.fetchall())


def _dashboard_queries(filters):
    queries = {
        "hand-written SQL: grade distribution over audits ⋈ assignments ⋈ plans": lambda: (
            hand_written(filters)
        ),
        "headline (audits, plans, grades)": lambda: reporting.headline(filters),
        "grade_distribution": lambda: reporting.grade_distribution(filters),
    }
    for breakdown in reporting.BREAKDOWNS:
        queries[f"grade_distribution_by {breakdown}"] = lambda breakdown=breakdown: (
            reporting.grade_distribution_by(breakdown, filters)
        )
    queries["section_distribution"] = lambda: reporting.section_distribution(filters)
    queries["trend_by_quarter"] = lambda: reporting.trend_by_quarter(filters)
    return queries


def report_snapshot():
    """Everything a report page over all the audits needs."""
    filters = ReportFilters()
    return {
        "headline": reporting.headline(filters),
        "grades": reporting.grade_distribution(filters),
        "breakdowns": {b: reporting.grade_distribution_by(b, filters) for b in REPORT_BREAKDOWNS},
        "sections": reporting.section_distribution(filters),
        "quarters": reporting.trend_by_quarter(filters),
    }


def _percentile(values, share):
    ordered = sorted(values)
    return ordered[round(share * (len(ordered) - 1))]


def _timed(query):
    started = time.perf_counter()
    result = query()
    return time.perf_counter() - started, result


def prepare(size=SIZE):
    """Generate the data (after the demo rubric, if no rubric is published); returns the
    command's report and its wall time."""
    if not RubricPage.objects.live().exists():
        quiet = logging.getLogger("wagtail")
        level, quiet.level = quiet.level, logging.WARNING  # not every demo page created
        try:
            call_command("load_demo_content", "--no-users", verbosity=0, stdout=io.StringIO())
        finally:
            quiet.setLevel(level)
    out = io.StringIO()
    started = time.perf_counter()
    call_command("generate_synthetic_data", "--size", str(size), "--replace", stdout=out)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        # The command ANALYZEs; VACUUM as well sets the visibility map, as autovacuum would.
        for table in ("audits_auditfact", "audits_audit", "audits_assignment", "audits_plan"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    return out.getvalue(), seconds


def measure_dashboard(runs=RUNS):
    """{filter name: [(what, p50 s, p95 s, ratio to the hand-written query's p50)]}, with a
    last row for all the dashboard's functions together (their times per run added)."""
    combinations = _filter_combinations()
    queries = {name: _dashboard_queries(filters) for name, filters in combinations.items()}
    for name, filters in combinations.items():  # warm the cache; check the totals agree
        base_total = sum(hand_written(filters).values())
        facts_total = sum(reporting.grade_distribution(filters).values())
        assert base_total == facts_total, (name, base_total, facts_total)
        for query in queries[name].values():
            query()
    timings = {name: {what: [] for what in queries[name]} for name in combinations}
    for _ in range(runs):
        for name in combinations:
            for what, query in queries[name].items():
                timings[name][what].append(_timed(query)[0])
    results = {}
    for name, by_query in timings.items():
        baseline_what, *functions = by_query
        baseline = statistics.median(by_query[baseline_what])
        rows = [(baseline_what, baseline, _percentile(by_query[baseline_what], 0.95), 1.0)]
        for what in functions:
            p50 = statistics.median(by_query[what])
            rows.append((what, p50, _percentile(by_query[what], 0.95), p50 / baseline))
        together = [sum(values) for values in zip(*(by_query[w] for w in functions), strict=True)]
        p50 = statistics.median(together)
        rows.append(
            (
                "the dashboard's functions together (per run)",
                p50,
                _percentile(together, 0.95),
                p50 / baseline,
            )
        )
        results[name] = rows
    return results


def measure_snapshot(runs=SNAPSHOT_RUNS):
    """[(what, p50 s, max s, ratio)]: the hand-written query over every audit, then the whole
    snapshot."""
    base = [_timed(lambda: hand_written(ReportFilters()))[0] for _ in range(runs)]
    snapshot = [_timed(report_snapshot)[0] for _ in range(runs)]
    baseline = statistics.median(base)
    return [
        ("hand-written SQL: grade distribution of every audit", baseline, max(base), 1.0),
        (
            "report snapshot: headline, grades, 4 breakdowns, sections, quarters",
            statistics.median(snapshot),
            max(snapshot),
            statistics.median(snapshot) / baseline,
        ),
    ]


def run():
    if connection.vendor != "postgresql":
        return None
    report, seconds = prepare()
    made = re.search(r"Made (.*) in", report)
    return {
        "size": SIZE,
        "runs": RUNS,
        "generated": (seconds, made.group(1) if made else report.strip()),
        "dashboard": measure_dashboard(),
        "snapshot": measure_snapshot(),
    }
