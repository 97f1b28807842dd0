"""The staff quality dashboard with the real services: plans audited across two cycles, two
key stages, two agencies and two quarters, one moderated to another grade; every figure on
the page checked against counts worked out here from the grades the audits were given, each
filter narrowing them, each table's CSV and XLSX holding the numbers shown, a page that asks
the database the same number of questions however many audits there are, and who may see it."""

import csv
import datetime
import io
from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import openpyxl
import pytest
from bs4 import BeautifulSoup
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.audits.actions import action_raise, action_update
from portal.audits.cycles import assignment_create
from portal.audits.dashboard_exports import TABLES
from portal.audits.dashboard_forms import (
    NOT_A_CYCLE,
    NOT_AN_OPTION,
    PERIOD_BACKWARDS,
    PERIOD_END_NOT_REAL,
    PERIOD_START_NOT_REAL,
)
from portal.audits.dashboard_views import NOT_ALLOWED
from portal.audits.facts import audit_facts_rebuild
from portal.audits.models import Action, Audit, ModerationCase
from portal.audits.moderation import moderation_case_record

from ..factories import UserFactory
from ..training.factories import audit_complete
from .factories import AuditCycleFactory, PlanFactory

pytestmark = pytest.mark.django_db

DUE = datetime.date(2026, 12, 18)
# SMALL_RUBRIC: A (A1 essential weight 3, A2 weight 1; limiting; weight 2), J (J1; may be
# not applicable; weight 1). The ticks for each overall grade, and the section grades they
# earn (J left out where it is not applicable).
TICKS = {
    "outstanding": {"A": ["A1", "A2"], "J": ["J1"]},
    "good": {"A": ["A1"], "J": None},
    "requires_improvement": {"A": ["A1"], "J": []},
    "inadequate": {"A": [], "J": []},
}
SECTION_GRADES = {
    "outstanding": {"A": "outstanding", "J": "outstanding"},
    "good": {"A": "good"},
    "requires_improvement": {"A": "good", "J": "inadequate"},
    "inadequate": {"A": "inadequate", "J": "inadequate"},
}
GRADES = ("outstanding", "good", "requires_improvement", "inadequate")
GRADE_WORDS = {
    "outstanding": "Outstanding",
    "good": "Good",
    "requires_improvement": "Requires Improvement",
    "inadequate": "Inadequate",
}
KEY_STAGE_WORDS = {"KS2": "Key stage 2", "KS4": "Key stage 4"}
PLANS = {
    # system ID: key stage, primary need, setting type, locality
    "EHC-000001": ("KS2", "ASD", "mainstream", "North"),
    "EHC-000002": ("KS2", "SEMH", "mainstream", "North"),
    "EHC-000003": ("KS4", "ASD", "special", "South"),
    "EHC-000004": ("KS4", "ASD", "mainstream", "South"),
    "EHC-000005": ("KS2", "SEMH", "special", "North"),
    "EHC-000006": ("KS2", "ASD", "mainstream", "South"),
    "EHC-000007": ("KS4", "SEMH", "mainstream", "North"),
}
CYCLE_1 = "Cycle 1: new plans"
CYCLE_2 = "Cycle 2: transition to post-16"
THEME = "Transition to post-16"
AGENCIES = {"amira": "education", "ben": "health"}


@dataclass(frozen=True)
class Spec:
    """One audit as the test means it: which plan, cycle and auditor, when it was
    submitted, the grade the auditor's ticks earn, and any moderated grade."""

    plan: str
    cycle: str
    auditor: str
    submitted: datetime.date
    grade: str
    moderated: str = ""
    moderated_sections: tuple = ()

    @property
    def stands(self):
        return self.moderated or self.grade

    @property
    def sections(self):
        return {**SECTION_GRADES[self.grade], **dict(self.moderated_sections)}

    @property
    def key_stage(self):
        return PLANS[self.plan][0]

    @property
    def agency(self):
        return AGENCIES[self.auditor]

    @property
    def quarter(self):
        return f"{self.submitted.year} Q{(self.submitted.month - 1) // 3 + 1}"


D = datetime.date
SPECS = (
    Spec("EHC-000001", CYCLE_1, "amira", D(2025, 2, 10), "outstanding"),
    Spec("EHC-000002", CYCLE_1, "ben", D(2025, 2, 11), "good"),
    # Requires Improvement by the auditor; the moderator makes it Good, and J Good too.
    Spec(
        "EHC-000003",
        CYCLE_1,
        "amira",
        D(2025, 3, 3),
        "requires_improvement",
        moderated="good",
        moderated_sections=(("J", "good"),),
    ),
    Spec("EHC-000004", CYCLE_1, "ben", D(2025, 3, 31), "inadequate"),
    Spec("EHC-000005", CYCLE_2, "amira", D(2025, 4, 1), "good"),
    Spec("EHC-000006", CYCLE_2, "ben", D(2025, 5, 13), "good"),
    Spec("EHC-000007", CYCLE_2, "ben", D(2025, 6, 2), "requires_improvement"),
    # The same plan again, in the second cycle: one plan, two audits.
    Spec("EHC-000001", CYCLE_2, "amira", D(2025, 6, 30), "outstanding"),
)


def percent(count, of):
    """A share as the dashboard words it, worked out here: one place, halves rounded up."""
    value = (Decimal(count * 100) / Decimal(of)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{value.normalize():f}%"


def grade_row(specs):
    """The cells of a grades row for `specs`: each grade's count, the audits, the share Good
    or better, as the page shows them."""
    counts = Counter(spec.stands for spec in specs)
    good = counts["outstanding"] + counts["good"]
    return [*(str(counts[grade]) for grade in GRADES), str(len(specs)), percent(good, len(specs))]


@dataclass
class World:
    cycles: dict
    moderator: object


def build(rubric_page, specs=SPECS, moderate=True):
    """Submit each audit through the real services, date it as the spec says, and close the
    moderation case of any audit the spec gives a moderated grade; then rebuild the report
    rows so they carry the dates."""
    cycles = {
        CYCLE_1: AuditCycleFactory(
            name=CYCLE_1,
            rubric=rubric_page,
            tier="new_plans",
            starts_on=D(2025, 1, 1),
            ends_on=D(2025, 3, 31),
            moderation_share=0,
        ),
        CYCLE_2: AuditCycleFactory(
            name=CYCLE_2,
            rubric=rubric_page,
            tier="thematic",
            theme=THEME,
            starts_on=D(2025, 4, 1),
            ends_on=D(2025, 6, 30),
            moderation_share=0,
        ),
    }
    auditors = {
        name: UserFactory(username=name, roles=["Auditor"], agency=agency)
        for name, agency in AGENCIES.items()
    }
    plans = {}
    for system_id, (key_stage, need, setting, locality) in PLANS.items():
        plans[system_id] = PlanFactory(
            system_id=system_id,
            key_stage=key_stage,
            primary_need=need,
            setting_type=setting,
            locality=locality,
        )
    moderator = UserFactory(username="moderator1", roles=["Moderator"])
    for spec in specs:
        auditor = auditors[spec.auditor]
        assignment = assignment_create(
            plans[spec.plan], auditor, DUE, None, cycle=cycles[spec.cycle]
        )
        audit = audit_complete(assignment, auditor, TICKS[spec.grade])
        assert audit.overall_grade == spec.grade
        submitted = datetime.datetime.combine(spec.submitted, datetime.time(12), datetime.UTC)
        Audit.objects.filter(pk=audit.pk).update(submitted_at=submitted)
        if spec.moderated and moderate:
            case = ModerationCase.objects.get(audits=audit)
            moderation_case_record(
                case,
                moderator,
                case.version,
                grade=spec.moderated,
                section_grades=dict(spec.moderated_sections),
                rationale="The plan meets A1 and the budget is set out.",
                close=True,
            )
    audit_facts_rebuild()
    return World(cycles=cycles, moderator=moderator)


@pytest.fixture
def world(rubric_page):
    return build(rubric_page)


@pytest.fixture
def lead_client(client, qa_lead):
    client.force_login(qa_lead)
    return client


def dashboard(client, **params):
    return client.get(reverse("dashboard"), params)


def soup(response):
    return BeautifulSoup(response.content, "html.parser")


def page_table(response, caption):
    """The table with `caption`: its column headings and its rows (each a list of the
    cells' text, the row's heading first)."""
    for table in soup(response).select("table"):
        if table.caption.get_text(" ", strip=True) == caption:
            headers = [th.get_text(" ", strip=True) for th in table.thead.select("th")]
            rows = [
                [cell.get_text(" ", strip=True) for cell in row.select("th, td")]
                for row in table.tbody.select("tr")
            ]
            return headers, rows
    raise AssertionError(f"No table captioned {caption!r}")


def rows_by_label(response, caption):
    return {row[0]: row[1:] for row in page_table(response, caption)[1]}


def text(response):
    return " ".join(soup(response).get_text(" ").split())


GRADES_CAPTION = "Overall grades (the moderated grade where there is one)"
SECTIONS_CAPTION = "Grades of each plan section (moderated where the moderator graded it)"


# Every figure, against counts worked out from SPECS


def test_the_headline_counts_plans_and_audits(lead_client, world):
    rows = rows_by_label(dashboard(lead_client), "Plans audited and audits")
    assert rows == {
        "Plans audited": [str(len({spec.plan for spec in SPECS}))],
        "Audits": [str(len(SPECS))],
    }
    assert rows == {"Plans audited": ["7"], "Audits": ["8"]}


def test_overall_grades_count_the_grade_that_stands(lead_client, world):
    response = dashboard(lead_client)
    stands = Counter(spec.stands for spec in SPECS)
    rows = rows_by_label(response, GRADES_CAPTION)
    assert rows == {
        **{
            GRADE_WORDS[grade]: [str(stands[grade]), percent(stands[grade], len(SPECS))]
            for grade in GRADES
        },
        "All grades": ["8", "100%"],
    }
    # The moderated audit counts as Good, not as the auditor's Requires Improvement.
    assert rows["Good"] == ["4", "50%"]
    assert rows["Requires Improvement"] == ["1", "12.5%"]
    assert "the moderated grade where there is one" in text(response)


def test_closing_a_moderation_case_moves_the_audit_to_the_moderated_grade(
    client, rubric_page, qa_lead
):
    build(rubric_page, moderate=False)
    client.force_login(qa_lead)
    before = rows_by_label(dashboard(client), GRADES_CAPTION)
    assert (before["Good"][0], before["Requires Improvement"][0]) == ("3", "2")

    audit = Audit.objects.get(assignment__plan__system_id="EHC-000003")
    case = ModerationCase.objects.get(audits=audit)
    moderation_case_record(
        case,
        UserFactory(roles=["Moderator"]),
        case.version,
        grade="good",
        section_grades={"J": "good"},
        rationale="The budget is set out after all.",
        close=True,
    )

    after = rows_by_label(dashboard(client), GRADES_CAPTION)
    assert (after["Good"][0], after["Requires Improvement"][0]) == ("4", "1")
    assert after["All grades"] == ["8", "100%"]
    sections = rows_by_label(dashboard(client), SECTIONS_CAPTION)
    assert sections["J: Personal budget"][:4] == ["2", "1", "0", "2"]


def test_grades_by_each_breakdown(lead_client, world):
    by_key_stage = rows_by_label(dashboard(lead_client), "Overall grades by key stage")
    assert by_key_stage == {
        KEY_STAGE_WORDS[stage]: grade_row([s for s in SPECS if s.key_stage == stage])
        for stage in ("KS2", "KS4")
    }
    assert by_key_stage["Key stage 4"] == ["0", "1", "1", "1", "3", "33.3%"]

    by_agency = rows_by_label(
        dashboard(lead_client, breakdown="agency"), "Overall grades by auditor's agency"
    )
    assert by_agency == {
        "Education": grade_row([s for s in SPECS if s.agency == "education"]),
        "Health": grade_row([s for s in SPECS if s.agency == "health"]),
    }

    by_locality = rows_by_label(
        dashboard(lead_client, breakdown="locality"), "Overall grades by locality"
    )
    assert by_locality == {
        place: grade_row([s for s in SPECS if PLANS[s.plan][3] == place])
        for place in ("North", "South")
    }


def test_each_plan_section_with_its_share_good_or_better(lead_client, world):
    headers, rows = page_table(dashboard(lead_client), SECTIONS_CAPTION)
    assert headers == [
        "Plan section",
        "Outstanding",
        "Good",
        "Requires Improvement",
        "Inadequate",
        "Audits grading it",
        "Good or better (%)",
    ]
    assert len(rows) == 12  # A to K, with H1 and H2
    by_label = {row[0]: row[1:] for row in rows}
    for key, label in (("A", "A: Views, interests and aspirations"), ("J", "J: Personal budget")):
        graded = [spec.sections[key] for spec in SPECS if key in spec.sections]
        counts = Counter(graded)
        good = counts["outstanding"] + counts["good"]
        assert by_label[label] == [
            *(str(counts[grade]) for grade in GRADES),
            str(len(graded)),
            percent(good, len(graded)),
        ]
    # J: Outstanding twice, Good once (the moderator's), Inadequate twice; the three Good
    # audits left it out as not applicable.
    assert by_label["J: Personal budget"] == ["2", "1", "0", "2", "5", "60%"]
    assert by_label["B: Special educational needs"] == ["0", "0", "0", "0", "0", "none graded"]


def test_trends_by_quarter_and_by_cycle(lead_client, world):
    response = dashboard(lead_client)
    by_quarter = page_table(response, "Overall grades by the quarter audits were submitted in")[1]
    assert by_quarter == [
        [quarter, *grade_row([s for s in SPECS if s.quarter == quarter])]
        for quarter in ("2025 Q1", "2025 Q2")
    ]
    by_cycle = page_table(response, "Overall grades by audit cycle")[1]
    assert by_cycle == [
        [name, *grade_row([s for s in SPECS if s.cycle == name])] for name in (CYCLE_1, CYCLE_2)
    ]
    assert by_cycle[0] == [CYCLE_1, "1", "2", "0", "1", "4", "75%"]


@pytest.fixture
def actions(world, qa_lead):
    """Education: two open (one overdue) and one done; health: one in progress."""
    owners = {
        agency: UserFactory(roles=["Action owner"], agency=agency)
        for agency in ("education", "health")
    }
    today = timezone.localdate()

    def raise_for(agency):
        return action_raise(
            raised_by=qa_lead,
            description="Review the template for section J.",
            kind=Action.Kind.REVIEW_PROCESS,
            agency=agency,
            owner=owners[agency],
            due_on=today + datetime.timedelta(days=7),
        )

    overdue = raise_for("education")
    Action.objects.filter(pk=overdue.pk).update(due_on=today - datetime.timedelta(days=1))
    raise_for("education")
    done = raise_for("education")
    action_update(done, qa_lead, done.version, status=Action.Status.DONE)
    in_progress = raise_for("health")
    action_update(in_progress, qa_lead, in_progress.version, status=Action.Status.IN_PROGRESS)


def test_actions_open_overdue_and_done_by_owning_agency(lead_client, actions):
    # Actions are every action, whatever the filters: a key stage does not narrow them.
    for params in ({}, {"key_stage": "KS4"}):
        assert rows_by_label(dashboard(lead_client, **params), "Actions by owning agency") == {
            "Education": ["2", "1", "1"],
            "Health": ["1", "0", "0"],
            "Social care": ["0", "0", "0"],
            "SEND service (local authority)": ["0", "0", "0"],
        }


# Charts


def test_every_chart_is_a_named_image_beside_the_table_with_its_numbers(
    lead_client, world, actions
):
    page = soup(dashboard(lead_client))
    charts = page.select("svg[role=img]")
    assert len(charts) == 6
    for chart in charts:
        title = page.find(id=chart["aria-labelledby"])
        desc = page.find(id=chart["aria-describedby"])
        assert title.name == "title"
        assert title.get_text().startswith("Chart: ")
        assert "The table after this chart holds the same numbers." in desc.get_text()
        table = chart.find_next("table")
        assert f"“{table.caption.get_text(strip=True)}”" in desc.get_text()

    # The plan-sections chart: each section's row, split by grade, with its total.
    sections = page.find(id="chart-sections-title").parent
    words = [text.get_text() for text in sections.select("text")]
    assert words[:4] == ["Outstanding", "Good", "Requires Improvement", "Inadequate"]
    assert words[4:6] == ["A: Views, interests and aspirations", "8"]
    j = words.index("J: Personal budget")
    assert words[j + 1] == "5"
    # A pattern for each grade, so colour is not the only way to tell them apart.
    assert len(sections.select("defs pattern")) == 4


# Filters


FILTERS = [
    ("key stage", lambda w: {"key_stage": "KS4"}, lambda s: s.key_stage == "KS4"),
    ("agency", lambda w: {"agency": "health"}, lambda s: s.agency == "health"),
    ("primary need", lambda w: {"primary_need": "SEMH"}, lambda s: PLANS[s.plan][1] == "SEMH"),
    (
        "setting type",
        lambda w: {"setting_type": "special"},
        lambda s: PLANS[s.plan][2] == "special",
    ),
    ("locality", lambda w: {"locality": "South"}, lambda s: PLANS[s.plan][3] == "South"),
    ("cycle", lambda w: {"cycle": w.cycles[CYCLE_2].pk}, lambda s: s.cycle == CYCLE_2),
    ("tier", lambda w: {"tier": "new_plans"}, lambda s: s.cycle == CYCLE_1),
    ("theme", lambda w: {"theme": THEME}, lambda s: s.cycle == CYCLE_2),
    (
        "from a date",
        lambda w: {"date_from_day": "1", "date_from_month": "4", "date_from_year": "2025"},
        lambda s: s.submitted >= D(2025, 4, 1),
    ),
    (
        "up to a date",
        lambda w: {"date_to_day": "31", "date_to_month": "3", "date_to_year": "2025"},
        lambda s: s.submitted <= D(2025, 3, 31),
    ),
    (
        "a period and an agency",
        lambda w: {
            "date_from_day": "11",
            "date_from_month": "2",
            "date_from_year": "2025",
            "date_to_day": "2",
            "date_to_month": "6",
            "date_to_year": "2025",
            "agency": "health",
        },
        lambda s: D(2025, 2, 11) <= s.submitted <= D(2025, 6, 2) and s.agency == "health",
    ),
    (
        "key stage and agency",
        lambda w: {"key_stage": "KS2", "agency": "education"},
        lambda s: s.key_stage == "KS2" and s.agency == "education",
    ),
]


@pytest.mark.parametrize("params, keep", [pytest.param(p, k, id=name) for name, p, k in FILTERS])
def test_each_filter_narrows_every_figure(lead_client, world, params, keep):
    query = params(world)
    response = dashboard(lead_client, **query)
    assert response.status_code == 200
    kept = [spec for spec in SPECS if keep(spec)]
    assert kept and len(kept) < len(SPECS)

    assert rows_by_label(response, "Plans audited and audits") == {
        "Plans audited": [str(len({spec.plan for spec in kept}))],
        "Audits": [str(len(kept))],
    }
    stands = Counter(spec.stands for spec in kept)
    grades = rows_by_label(response, GRADES_CAPTION)
    for grade in GRADES:
        assert grades[GRADE_WORDS[grade]][0] == str(stands[grade])
    assert grades["All grades"] == [str(len(kept)), "100%"]
    quarters = page_table(response, "Overall grades by the quarter audits were submitted in")[1]
    assert quarters == [
        [quarter, *grade_row([s for s in kept if s.quarter == quarter])]
        for quarter in sorted({s.quarter for s in kept})
    ]
    # The page says what it is showing, and the downloads carry the same filters.
    assert "Showing submitted audits matching these filters:" in text(response)
    download = soup(response).select_one("a[href*='/export/grades.csv']")
    assert download.get_text() == f"Download CSV: {GRADES_CAPTION}"
    assert all(f"{name}=" in download["href"] for name in query)
    exported = csv_rows(lead_client.get(download["href"]))
    assert exported[-1] == ["All grades", str(len(kept)), "100"]


def test_the_filters_show_what_they_narrow_to_in_words(lead_client, world):
    response = dashboard(
        lead_client,
        key_stage="KS4",
        agency="health",
        date_from_day="1",
        date_from_month="4",
        date_from_year="2025",
    )
    applied = soup(response).find(id="applied-filters").get_text(" ", strip=True)
    assert "Submitted: on or after 1 April 2025" in applied
    assert "Key stage: Key stage 4" in applied
    assert "Auditor's agency: Health" in applied


def test_no_matching_audits_shows_zeros_and_says_so(lead_client, world):
    response = dashboard(lead_client, key_stage="KS5")
    assert response.status_code == 200
    assert rows_by_label(response, "Plans audited and audits") == {
        "Plans audited": ["0"],
        "Audits": ["0"],
    }
    assert rows_by_label(response, GRADES_CAPTION)["All grades"] == ["0", "no audits"]
    assert "No audits match the filters." in text(response)
    # Nothing to draw (and no actions raised yet): tables only, no empty charts.
    assert soup(response).select("svg") == []


@pytest.mark.parametrize(
    "params, message",
    [
        ({"key_stage": "KS9"}, NOT_AN_OPTION),
        ({"locality": "Atlantis"}, NOT_AN_OPTION),
        ({"breakdown": "auditor_name"}, NOT_AN_OPTION),
        ({"cycle": "not-a-number"}, NOT_A_CYCLE),
        ({"cycle": "999999"}, NOT_A_CYCLE),
        (
            {"date_from_day": "31", "date_from_month": "2", "date_from_year": "2025"},
            PERIOD_START_NOT_REAL,
        ),
        ({"date_to_day": "1", "date_to_month": "", "date_to_year": "2025"}, PERIOD_END_NOT_REAL),
        (
            {
                "date_from_day": "1",
                "date_from_month": "6",
                "date_from_year": "2025",
                "date_to_day": "1",
                "date_to_month": "4",
                "date_to_year": "2025",
            },
            PERIOD_BACKWARDS,
        ),
    ],
)
def test_an_invalid_filter_is_explained_and_shows_no_figures(lead_client, world, params, message):
    response = dashboard(lead_client, **params)
    assert response.status_code == 400
    summary = soup(response).select_one(".govuk-error-summary")
    assert message in summary.get_text()
    assert soup(response).select("svg[role=img]") == []
    assert "Correct the filters to see the figures." in text(response)
    assert response.content.decode().count(message) == 2  # in the summary and by the field

    export = lead_client.get(reverse("dashboard_export", args=["grades", "csv"]), params)
    assert export.status_code == 400
    assert message in export.content.decode()


# Downloads


def csv_rows(response):
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


def xlsx_rows(response):
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def as_shown(value):
    """An exported cell as the page words it: shares carry a % sign on the page."""
    return "" if value is None else str(value)


@pytest.mark.parametrize("file_format, read", [("csv", csv_rows), ("xlsx", xlsx_rows)])
def test_every_table_downloads_with_exactly_the_numbers_shown(
    lead_client, world, actions, file_format, read
):
    params = {"breakdown": "agency"}
    response = dashboard(lead_client, **params)
    for name in TABLES:
        table = soup(response).find(id=f"table-{name}")
        caption = table.caption.get_text(" ", strip=True)
        headers, rows = page_table(response, caption)
        download = lead_client.get(reverse("dashboard_export", args=[name, file_format]), params)
        assert download.status_code == 200
        assert f"dashboard-{name}-" in download["Content-Disposition"]
        exported = read(download)
        assert exported[0] == headers
        shown = [[cell.removesuffix("%") if "%" in cell else cell for cell in row] for row in rows]
        assert [[as_shown(cell) for cell in row] for row in exported[1:]] == [
            [("" if cell in ("none graded", "no audits") else cell) for cell in row]
            for row in shown
        ], name


def test_downloads_hold_numbers_worked_out_here(lead_client, world):
    rows = csv_rows(lead_client.get(reverse("dashboard_export", args=["grades", "csv"])))
    stands = Counter(spec.stands for spec in SPECS)
    assert rows == [
        ["Grade", "Audits", "Share of audits (%)"],
        ["Outstanding", str(stands["outstanding"]), "25"],
        ["Good", str(stands["good"]), "50"],
        ["Requires Improvement", "1", "12.5"],
        ["Inadequate", "1", "12.5"],
        ["All grades", "8", "100"],
    ]
    sheet = xlsx_rows(
        lead_client.get(
            reverse("dashboard_export", args=["sections", "xlsx"]), {"key_stage": "KS4"}
        )
    )
    ks4 = [spec for spec in SPECS if spec.key_stage == "KS4"]
    a_grades = Counter(spec.sections["A"] for spec in ks4)
    # Two of the three key stage 4 audits found section A Good: 66.7%, as a number.
    assert a_grades["outstanding"] + a_grades["good"] == 2
    assert sheet[1] == [
        "A: Views, interests and aspirations",
        *(a_grades[grade] for grade in GRADES),
        3,
        66.7,
    ]


def test_an_unknown_table_or_format_is_not_found(lead_client, world):
    assert lead_client.get("/dashboard/export/audits.csv").status_code == 404
    assert lead_client.get("/dashboard/export/grades.pdf").status_code == 404


def test_a_register_label_is_never_exported_as_a_formula(lead_client, rubric_page):
    cycle = AuditCycleFactory(rubric=rubric_page, moderation_share=0)
    auditor = UserFactory(roles=["Auditor"], agency="health")
    plan = PlanFactory(locality='=HYPERLINK("http://example.com")')
    audit_complete(assignment_create(plan, auditor, DUE, None, cycle=cycle), auditor, TICKS["good"])
    params = {"breakdown": "locality"}
    rows = csv_rows(lead_client.get(reverse("dashboard_export", args=["breakdown", "csv"]), params))
    assert rows[1][0] == '\'=HYPERLINK("http://example.com")'
    sheet = xlsx_rows(
        lead_client.get(reverse("dashboard_export", args=["breakdown", "xlsx"]), params)
    )
    assert sheet[1][0] == 'HYPERLINK("http://example.com")'


# The database does the counting


def test_the_page_asks_the_database_as_often_for_3_audits_as_for_12(
    client, rubric_page, qa_lead, django_assert_max_num_queries
):
    cycle = AuditCycleFactory(rubric=rubric_page, moderation_share=0)
    auditor = UserFactory(roles=["Auditor"], agency="education")
    client.force_login(qa_lead)

    def add_audits(count):
        for number in range(count):
            plan = PlanFactory(key_stage=("KS2", "KS4")[number % 2], locality=f"Area {number % 3}")
            assignment = assignment_create(plan, auditor, DUE, None, cycle=cycle)
            audit_complete(assignment, auditor, TICKS[GRADES[number % 4]])

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("dashboard"), {"breakdown": "locality"})
        assert response.status_code == 200
        return len(captured), response

    add_audits(3)
    with_3, response = queries()
    assert rows_by_label(response, "Plans audited and audits")["Audits"] == ["3"]
    add_audits(9)
    with_12, response = queries()
    assert rows_by_label(response, "Plans audited and audits")["Audits"] == ["12"]
    assert with_12 == with_3
    with django_assert_max_num_queries(with_3):
        client.get(reverse("dashboard"), {"breakdown": "locality"})


# Who may see it


@pytest.mark.parametrize("role", ["QA lead", "Moderator"])
def test_qa_leads_and_moderators_see_the_dashboard_and_its_menu_item(client, world, role):
    client.force_login(UserFactory(roles=[role]))
    response = dashboard(client)
    assert response.status_code == 200
    link = soup(response).find("a", class_="govuk-service-navigation__link", string="Dashboard")
    assert link["aria-current"] == "page"
    assert client.get(reverse("dashboard_export", args=["grades", "csv"])).status_code == 200


@pytest.mark.parametrize("role", ["Auditor", "Action owner", "Partnership Board"])
def test_others_are_told_they_cannot_see_it(client, world, role):
    client.force_login(UserFactory(roles=[role], agency="education"))
    response = dashboard(client)
    assert response.status_code == 403
    assert NOT_ALLOWED in text(response)
    assert soup(response).select("table, svg") == []
    assert client.get(reverse("dashboard_export", args=["grades", "csv"])).status_code == 403
    assert not soup(response).find("a", string="Dashboard")


def test_someone_signed_out_is_asked_to_sign_in(client, world):
    for url in (reverse("dashboard"), reverse("dashboard_export", args=["grades", "xlsx"])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
