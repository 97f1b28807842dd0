"""The dashboard's tables: each figure from portal.audits.reporting laid out as a caption,
column headings and rows. The dashboard shows them (each beside its chart) and downloads
them as CSV or XLSX from these same rows, so a download holds exactly the numbers shown."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import tablib
from import_export.formats import base_formats

from portal.framework.rubric import GRADE_LABELS, GRADES
from portal.training.models import Agency

from . import reporting
from .models import AuditCycle, KeyStage, PrimaryNeed, SettingType

FORMATS = {"csv": base_formats.CSV, "xlsx": base_formats.XLSX}
TABLES = ("headline", "grades", "breakdown", "sections", "quarters", "cycles", "actions")
NO_AUDITS = "no audits"
NONE_GRADED = "none graded"
NOT_RECORDED = "Not recorded"
GRADE_HEADERS = tuple(GRADE_LABELS[grade] for grade in GRADES)
GOOD_OR_BETTER_SHARE = "Good or better (%)"
# Group values of each breakdown in words, in the order their choices are listed.
GROUP_LABELS = {
    "key_stage": dict(KeyStage.choices),
    "primary_need": dict(PrimaryNeed.choices),
    "setting_type": dict(SettingType.choices),
    "agency": dict(Agency.choices),
    "tier": dict(AuditCycle.Tier.choices),
    "locality": {},
}
# A spreadsheet reads a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Share:
    """A count as a percentage of a total, to one decimal place (halves rounded up): shown
    with a % sign, exported as the bare number, and `empty` where the total is nothing."""

    count: int
    of: int
    empty: str = NO_AUDITS

    @property
    def percent(self):
        if not self.of:
            return None
        value = (Decimal(self.count) * 100 / Decimal(self.of)).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )
        return int(value) if value == value.to_integral_value() else float(value)

    def __str__(self):
        percent = self.percent
        return self.empty if percent is None else f"{percent}%"


@dataclass(frozen=True)
class Table:
    """One of the dashboard's tables. Each row starts with its label (the row's heading);
    `total`, where there is one, is a last row that charts leave out."""

    name: str
    caption: str
    sheet: str
    headers: tuple
    rows: tuple
    total: tuple = ()

    @property
    def all_rows(self):
        return (*self.rows, self.total) if self.total else self.rows


def _grade_row(label, counts, empty=NO_AUDITS):
    """A label, the count of each grade, how many in all, and the share Good or better."""
    audits = sum(counts.values())
    good = sum(counts[grade] for grade in reporting.GOOD_OR_BETTER)
    return (label, *(counts[grade] for grade in GRADES), audits, Share(good, audits, empty))


def headline_table(filters, breakdown):
    figures = reporting.headline(filters)
    return Table(
        name="headline",
        caption="Plans audited and audits",
        sheet="Plans and audits",
        headers=("Figure", "Number"),
        rows=(("Plans audited", figures["plans"]), ("Audits", figures["audits"])),
    )


def grades_table(filters, breakdown):
    counts = reporting.grade_distribution(filters)
    audits = sum(counts.values())
    return Table(
        name="grades",
        caption="Overall grades (the moderated grade where there is one)",
        sheet="Overall grades",
        headers=("Grade", "Audits", "Share of audits (%)"),
        rows=tuple(
            (GRADE_LABELS[grade], counts[grade], Share(counts[grade], audits)) for grade in GRADES
        ),
        total=("All grades", audits, Share(audits, audits)),
    )


def _group_order(breakdown):
    labels = GROUP_LABELS[breakdown]
    order = {value: position for position, value in enumerate(labels)}
    return lambda group: (order.get(group, len(order)), labels.get(group) or group or "")


def breakdown_table(filters, breakdown):
    title = reporting.BREAKDOWNS[breakdown]
    table = reporting.grade_distribution_by(breakdown, filters)
    labels = GROUP_LABELS[breakdown]
    return Table(
        name="breakdown",
        caption=f"Overall grades by {title[0].lower()}{title[1:]}",
        sheet=f"Grades by {title[0].lower()}{title[1:]}"[:31],
        headers=(title, *GRADE_HEADERS, "Audits", GOOD_OR_BETTER_SHARE),
        rows=tuple(
            _grade_row(labels.get(group) or group or NOT_RECORDED, table[group])
            for group in sorted(table, key=_group_order(breakdown))
        ),
    )


def sections_table(filters, breakdown):
    return Table(
        name="sections",
        caption="Grades of each plan section (moderated where the moderator graded it)",
        sheet="Plan sections",
        headers=("Plan section", *GRADE_HEADERS, "Audits grading it", GOOD_OR_BETTER_SHARE),
        rows=tuple(
            _grade_row(f"{section['key']}: {section['title']}", section["grades"], NONE_GRADED)
            for section in reporting.section_distribution(filters)
        ),
    )


def quarters_table(filters, breakdown):
    return Table(
        name="quarters",
        caption="Overall grades by the quarter audits were submitted in",
        sheet="By quarter",
        headers=("Quarter", *GRADE_HEADERS, "Audits", GOOD_OR_BETTER_SHARE),
        rows=tuple(
            _grade_row(quarter, counts) for quarter, counts in reporting.trend_by_quarter(filters)
        ),
    )


def cycles_table(filters, breakdown):
    return Table(
        name="cycles",
        caption="Overall grades by audit cycle",
        sheet="By audit cycle",
        headers=("Audit cycle", *GRADE_HEADERS, "Audits", GOOD_OR_BETTER_SHARE),
        rows=tuple(_grade_row(name, counts) for name, counts in reporting.trend_by_cycle(filters)),
    )


def actions_table(filters, breakdown):
    """Every action by owning agency: actions are not narrowed by the audit filters."""
    counts = reporting.actions_by_agency()
    labels = dict(Agency.choices)
    agencies = [*labels, *sorted(set(counts) - set(labels))]
    empty = {"open": 0, "overdue": 0, "done": 0}
    return Table(
        name="actions",
        caption="Actions by owning agency",
        sheet="Actions by agency",
        headers=("Owning agency", "Open", "Overdue", "Done"),
        rows=tuple(
            (
                labels.get(agency, agency),
                counts.get(agency, empty)["open"],
                counts.get(agency, empty)["overdue"],
                counts.get(agency, empty)["done"],
            )
            for agency in agencies
        ),
    )


BUILDERS = {
    "headline": headline_table,
    "grades": grades_table,
    "breakdown": breakdown_table,
    "sections": sections_table,
    "quarters": quarters_table,
    "cycles": cycles_table,
    "actions": actions_table,
}


def dashboard_table(name, filters, breakdown):
    """One of the dashboard's tables (a name in TABLES), for `filters`; `breakdown` (a key of
    reporting.BREAKDOWNS) is the one the "breakdown" table groups by."""
    return BUILDERS[name](filters, breakdown)


def dashboard_tables(filters, breakdown):
    """Every table of the dashboard, by name, in the order the page shows them."""
    return {name: dashboard_table(name, filters, breakdown) for name in TABLES}


def _exported(cell, file_format):
    if isinstance(cell, Share):
        return "" if cell.percent is None else cell.percent
    if file_format == "csv" and isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return f"'{cell}"
    return cell


def table_export(table, file_format):
    """The table as CSV (text) or XLSX (bytes): its headings, then its rows, with shares as
    bare numbers. Labels can come from the plan register, so none is left to be read as a
    formula (a leading "=" is dropped in XLSX; CSV cells are quoted with "'")."""
    dataset = tablib.Dataset(headers=list(table.headers), title=table.sheet)
    for row in table.all_rows:
        dataset.append([_exported(cell, file_format) for cell in row])
    if file_format == "xlsx":
        return FORMATS["xlsx"]().export_data(dataset, escape=True)
    return FORMATS[file_format]().export_data(dataset)
