"""Fuzzing the plan register import with hypothesis: whatever bytes a QA lead uploads (random
bytes, the sample register mangled, other encodings, odd columns, formulas, damaged or odd
Excel workbooks), the import never fails with an error page, writes every plan or none, and
explains each refusal in one of the register's own sentences, naming the row and column."""

import codecs
import csv
import datetime
import io
import re
import string
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.forms import FileField
from django.urls import reverse
from django.utils.html import escape
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from wagtail.models import ModelLogEntry

from portal.audits import plan_register, register
from portal.audits.models import Plan, PlanImport
from portal.audits.plan_register import PLANS_IMPORTED_ACTION, plans_import

from .conftest import CANONICAL_HEADER, register_csv
from .factories import PlanFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("plan_import_media")]

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Every sentence the import may refuse a file or a row with. NOT_WRITTEN and ROW_FAILED are
# left out on purpose: they carry the database's own words, so reaching them means the
# register rules let through something the database then refused.
FILE_MESSAGES = [
    register.NO_HEADER_ROW,
    register.IDENTIFIER_COLUMNS,
    register.MISSING_COLUMNS,
    register.REPEATED_COLUMNS,
    register.UNNAMED_COLUMN_WITH_VALUES,
    register.NOT_COMMA_SEPARATED,
    register.NO_PLANS,
    plan_register.FILE_TOO_LARGE,
    plan_register.FILE_TYPE,
    plan_register.NOT_UTF8,
    plan_register.NOT_CSV,
    plan_register.NOT_XLSX,
    plan_register.SEVERAL_SHEETS,
    plan_register.TOO_MANY_ROWS,
]
ROW_MESSAGES = [
    register.CELL_EMPTY,
    register.CELL_NOT_TEXT,
    register.CELL_CONTROL_CHARACTER,
    register.SYSTEM_ID_CHARACTERS,
    register.SYSTEM_ID_TOO_LONG,
    register.SYSTEM_ID_LOOKS_LIKE_NHS_NUMBER,
    register.SYSTEM_ID_LOOKS_LIKE_UPN,
    register.SYSTEM_ID_REPEATED,
    register.UNKNOWN_CODE,
    register.LOCALITY_TOO_LONG,
    register.LOOKS_LIKE_FORMULA,
    register.DATE_UNREADABLE,
    register.DATE_TWO_DIGIT_YEAR,
    register.DATE_NOT_REAL,
    register.DATE_IN_FUTURE,
    register.DATE_TOO_EARLY,
]


def template_pattern(template):
    """A message template as a regular expression: its words exactly, any value in each
    {placeholder}."""
    parts = re.split(r"\{[^{}]*\}|%\([a-z_]+\)[sd]", template)
    return re.compile(".*?".join(re.escape(part) for part in parts), re.DOTALL)


FILE_PATTERNS = [template_pattern(message) for message in FILE_MESSAGES]
ROW_PATTERNS = [template_pattern(message) for message in ROW_MESSAGES]
# Shown on screen for a readable file with columns the register does not use.
NOTICE_PATTERN = template_pattern(register.IGNORED_COLUMNS)
# Django's own sentences for an upload that is not a file at all (empty, no name).
UPLOAD_PATTERNS = [
    *FILE_PATTERNS,
    *(template_pattern(str(message)) for message in FileField.default_error_messages.values()),
]


def assert_readable(message, patterns):
    assert isinstance(message, str) and message.strip(), message
    assert any(pattern.fullmatch(message) for pattern in patterns), message
    # Values are quoted as the QA lead typed them, but never as raw control characters.
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", message), repr(message)
    assert "Traceback" not in message


def assert_explained(outcome):
    """Every refusal is one of the register's sentences; a row's names its row and column."""
    for message in outcome.file_errors:
        assert_readable(message, FILE_PATTERNS)
    for error in outcome.errors:
        assert_readable(error["message"], ROW_PATTERNS)
        assert isinstance(error["row"], int) and error["row"] >= 2
        assert error["column"] in register.COLUMNS
        assert error["message"].startswith(f"Row {error['row']}: {error['column']} ")
    for notice in outcome.notices:
        assert_readable(notice, [NOTICE_PATTERN])


def register_fingerprint():
    """Every plan in the register as stored, with when it last changed."""
    return list(
        Plan.objects.order_by("pk").values_list("pk", *register.COLUMNS, "created_at", "updated_at")
    )


@pytest.fixture
def existing_plans(db):
    """Plans already in the register, so an import can update as well as add."""
    return [
        PlanFactory(system_id="EHC-224906", locality="South"),
        PlanFactory(system_id="EHC-1", key_stage="KS3", locality="North"),
    ]


@pytest.fixture(scope="module")
def sample_rows(plans_2000_rows):
    """The first rows of the synthetic register, as a base to mangle."""
    return [list(row) for row in plans_2000_rows[:40]]


# Strategies


NASTY_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "EHC\x00-1",
        "North\x00",
        "\x07bell",
        "=cmd|' /C calc'!A0",
        '=HYPERLINK("http://x")',
        "+1+1",
        "-2",
        "@SUM(A1)",
        "\tEHC-9",
        "\rEHC-9",
        "9434765919",  # a valid NHS number
        "A123456789012",  # shaped like a UPN
        "03/15/2024",
        "15/03/24",
        "31/02/2024",
        "2099-01-01",
        "2013-12-31",
        "15 Smarch 2024",
        "1" * 5000,
        "x" * 200_000,  # longer than the csv module's field limit
        "Léa's team",
        "北区",
        "\u202eevil",
        "\ufeffEHC-5",
        "NaN",
        "null",
        "KS 3",
        "post-19",
        "Early years",
    ]
)
VALID_CELLS = {
    "system_id": st.from_regex(r"EHC-[0-9]{1,6}", fullmatch=True),
    "key_stage": st.sampled_from(["EY", "KS1", "KS2", "ks3", "KS 4", "KS5", "POST19", "Post-19"]),
    "primary_need": st.sampled_from([*sorted(register.PRIMARY_NEEDS), "asd", "Hearing impairment"]),
    "setting_type": st.sampled_from([*sorted(register.SETTING_TYPES), "Early years", "FE college"]),
    "locality": st.text(string.ascii_letters + " -'", min_size=1, max_size=30),
    "plan_stage": st.sampled_from(["new_plan", "annual_review", "New plan", "annual review"]),
    "date_issued": st.dates(datetime.date(2014, 9, 1), datetime.date(2025, 12, 31)).map(
        lambda day: day.strftime("%d/%m/%Y") if day.day % 2 else day.isoformat()
    ),
}


def cell(column):
    """Mostly a value the register accepts, sometimes anything at all."""
    return st.one_of(
        VALID_CELLS.get(column, st.text(max_size=20)),
        VALID_CELLS.get(column, st.text(max_size=20)),
        NASTY_TEXT,
        st.text(max_size=40),
    )


HEADER_NAMES = st.sampled_from(
    [
        *CANONICAL_HEADER,
        " System ID ",
        "Key stage",
        "PRIMARY NEED",
        "date issued",
        "",
        "notes",
        "School name",
        "First name",
        "Date of birth",
        "NHS number",
        "Address",
        "system_id;key_stage",
        "\ufeffsystem_id",
        "system_id\x00",
    ]
)


@st.composite
def headers(draw):
    """The canonical columns, shuffled, some dropped, repeated, renamed or added to."""
    header = list(CANONICAL_HEADER)
    if draw(st.booleans()):
        header = draw(st.permutations(header))
    for _ in range(draw(st.integers(0, 3))):
        change = draw(st.sampled_from(["drop", "repeat", "add", "rename"]))
        if change == "drop" and header:
            header.pop(draw(st.integers(0, len(header) - 1)))
        elif change == "repeat" and header:
            header.append(draw(st.sampled_from(header)))
        elif change == "add":
            header.insert(draw(st.integers(0, len(header))), draw(HEADER_NAMES))
        elif header:
            header[draw(st.integers(0, len(header) - 1))] = draw(HEADER_NAMES)
    return header


READABLE_HEADERS = st.permutations(CANONICAL_HEADER).flatmap(
    lambda header: st.sampled_from([header, [*header, "notes"], [*header, "School name"]])
)


@st.composite
def register_tables(draw, max_rows=12, header_strategy=None):
    """(header, rows): a register table with canonical-ish columns and odd cells and rows."""
    header = list(draw(headers() if header_strategy is None else header_strategy))
    rows = []
    for _ in range(draw(st.integers(0, max_rows))):
        shape = draw(st.sampled_from(["row", "row", "row", "blank", "short", "long"]))
        if shape == "blank":
            rows.append([""] * draw(st.integers(0, len(header))))
            continue
        row = [draw(cell(register.normalise_header(str(name)))) for name in header]
        if shape == "short" and row:
            row = row[: draw(st.integers(0, len(row) - 1))]
        elif shape == "long":
            row += draw(st.lists(cell("extra"), min_size=1, max_size=2))
        rows.append(row)
    return header, rows


ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252", "mac-roman"])


@st.composite
def csv_files(draw):
    """A register as CSV bytes, in some encoding, maybe with a BOM, maybe another separator."""
    header, rows = draw(register_tables())
    out = io.StringIO(newline="")
    delimiter = draw(st.sampled_from([",", ",", ",", ";", "\t"]))
    line_end = draw(st.sampled_from(["\r\n", "\n"]))
    writer = csv.writer(out, delimiter=delimiter, lineterminator=line_end)
    writer.writerow(header)
    writer.writerows(rows)
    text = out.getvalue()
    encoding = draw(ENCODINGS)
    return text.encode(encoding, errors="replace"), draw(st.sampled_from(["plans.csv", "p.txt"]))


@st.composite
def mangled_sample(draw, sample_rows):
    """The synthetic register's own rows, with bytes changed, cut short or spliced."""
    rows = sample_rows[: draw(st.integers(1, len(sample_rows)))]
    content = bytearray(register_csv(rows, bom=draw(st.booleans())))
    for _ in range(draw(st.integers(1, 4))):
        change = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "encode"]))
        position = draw(st.integers(0, max(len(content) - 1, 0)))
        if change == "flip" and content:
            content[position] = draw(st.integers(0, 255))
        elif change == "insert":
            content[position:position] = draw(
                st.sampled_from([b"\x00", b"\xff\xfe", b'"', b",", b"\r\n", b"\xe9", b"=cmd"])
            )
        elif change == "delete" and content:
            del content[position : position + draw(st.integers(1, 20))]
        elif change == "truncate":
            del content[position:]
        else:
            content = bytearray(codecs.decode(bytes(content), "utf-8", "replace").encode("utf-16"))
    return bytes(content), "plans.csv"


ODD_XLSX_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.datetimes(datetime.datetime(1900, 3, 1), datetime.datetime(2100, 1, 1)),
    st.dates(datetime.date(1900, 3, 1), datetime.date(2100, 1, 1)),
    st.times(),
    NASTY_TEXT.filter(lambda text: not ILLEGAL_CHARACTERS_RE.search(text) and len(text) < 32767),
)


def xlsx_cell(column):
    # A workbook cannot hold most control characters at all (openpyxl refuses to write them).
    text = st.text(max_size=20).map(lambda value: ILLEGAL_CHARACTERS_RE.sub("", value))
    return st.one_of(VALID_CELLS.get(column, text), ODD_XLSX_VALUES)


@st.composite
def xlsx_files(draw):
    """A workbook made with openpyxl: odd cell types (dates as text, numbers as IDs, times,
    booleans), empty rows, merged cells, sometimes a second sheet."""
    header = draw(headers())
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Plans"
    sheet.append([ILLEGAL_CHARACTERS_RE.sub("", name) for name in header])
    for _ in range(draw(st.integers(0, 10))):
        if draw(st.integers(0, 5)) == 0:
            sheet.append([])
            continue
        sheet.append([draw(xlsx_cell(register.normalise_header(str(name)))) for name in header])
    if draw(st.booleans()) and sheet.max_row >= 2 and sheet.max_column >= 2:
        sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=2)
    if draw(st.integers(0, 4)) == 0:
        workbook.create_sheet("Notes").append([draw(st.text(string.ascii_letters, max_size=10))])
    out = io.BytesIO()
    workbook.save(out)
    content = out.getvalue()
    if draw(st.integers(0, 2)) == 0:
        # Damaged on the way: cut short, or bytes changed inside the compressed sheets.
        # Positions are drawn before the length is known: a workbook's size varies with the
        # time it was saved at, and hypothesis replays draws exactly.
        content = bytearray(content)
        if draw(st.booleans()):
            del content[4 + draw(st.integers(0, 10**6)) % (len(content) - 4) :]
        else:
            for _ in range(draw(st.integers(1, 6))):
                at = 4 + draw(st.integers(0, 10**6)) % (len(content) - 4)
                content[at] = draw(st.integers(0, 255))
        content = bytes(content)
    return content, draw(st.sampled_from(["plans.xlsx", "plans.csv", "register.XLSX"]))


RANDOM_FILES = st.tuples(
    st.one_of(st.binary(max_size=2000), st.binary(max_size=40).map(lambda b: b"PK\x03\x04" + b)),
    st.sampled_from(["plans.csv", "plans.xlsx", "plans.txt", "plans.pdf", "plans", ".csv"]),
)


def any_register_file(sample_rows):
    return st.one_of(RANDOM_FILES, csv_files(), mangled_sample(sample_rows), xlsx_files())


# The service


def check_import(content, name):
    """Import inside a transaction rolled back afterwards, so every example starts from the
    same register; returns what the QA lead would be told."""
    with transaction.atomic():
        before = register_fingerprint()
        imports_before = PlanImport.objects.count()
        logged_before = ModelLogEntry.objects.filter(action=PLANS_IMPORTED_ACTION).count()

        outcome = plans_import(content, name)

        event(
            "written"
            if outcome.written
            else "refused whole"
            if outcome.file_errors
            else "refused by row"
        )
        assert_explained(outcome)
        after = register_fingerprint()
        if outcome.written:
            assert outcome.ok
            assert outcome.rows == outcome.new + outcome.updated + outcome.unchanged
            assert len(after) == len(before) + outcome.new
            # Nothing already in the register went missing.
            assert {row[0] for row in before} <= {row[0] for row in after}
            assert PlanImport.objects.count() == imports_before + 1
        else:
            assert not outcome.ok
            assert after == before
            assert PlanImport.objects.count() == imports_before
            assert (
                ModelLogEntry.objects.filter(action=PLANS_IMPORTED_ACTION).count() == logged_before
            )
        transaction.set_rollback(True)
    return outcome


@pytest.mark.usefixtures("existing_plans")
@FUZZ
@given(data=st.data())
def test_any_file_is_imported_whole_or_refused_in_words(data, sample_rows):
    content, name = data.draw(any_register_file(sample_rows))
    check_import(content, name)


@pytest.mark.usefixtures("existing_plans")
@FUZZ
@given(table=register_tables(max_rows=8, header_strategy=READABLE_HEADERS))
def test_a_readable_csv_imports_whole_or_names_the_row_and_column(table):
    header, rows = table
    out = io.StringIO(newline="")
    csv.writer(out).writerows([header, *rows])
    outcome = check_import(out.getvalue().encode("utf-8"), "plans.csv")
    # Every column is there: the file is refused whole only when it has no plans at all.
    assume(not outcome.file_errors)
    # Each plan row is imported or refused by row.
    refused_rows = {error["row"] for error in outcome.errors}
    assert outcome.rows == outcome.new + outcome.updated + outcome.unchanged + len(refused_rows)


@pytest.mark.usefixtures("existing_plans")
@FUZZ
@given(content=xlsx_files())
def test_any_workbook_imports_whole_or_is_refused_in_words(content):
    check_import(*content)


# Regressions found by the fuzzing above


def workbook_bytes():
    workbook = openpyxl.Workbook()
    workbook.active.append(CANONICAL_HEADER)
    for number in range(200):
        workbook.active.append(
            [f"EHC-{number}", "KS2", "ASD", "special", "South", "new_plan", "2024-03-15"]
        )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_a_workbook_with_a_damaged_compressed_sheet_is_refused_as_not_a_workbook():
    # zlib.error escaped the check as an error page instead of this sentence.
    content = bytearray(workbook_bytes())
    sheet_at = content.index(b"xl/worksheets/sheet1.xml") + 40
    content[sheet_at : sheet_at + 64] = bytes(range(64))

    outcome = plans_import(bytes(content), "plans.xlsx")

    assert outcome.file_errors == [plan_register.NOT_XLSX]
    assert not Plan.objects.exists()


def test_a_workbook_whose_sheet_is_cut_short_is_refused_as_not_a_workbook():
    # The workbook opens (its sheets are read only when their rows are asked for), then
    # the sheet's XML ends half way: a ParseError escaped as an error page.
    original = zipfile.ZipFile(io.BytesIO(workbook_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as damaged:
        for member in original.infolist():
            data = original.read(member.filename)
            if member.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            damaged.writestr(member, data)

    outcome = plans_import(out.getvalue(), "plans.xlsx")

    assert outcome.file_errors == [plan_register.NOT_XLSX]
    assert not Plan.objects.exists()


def test_a_nul_character_in_a_locality_is_refused_by_row_not_by_the_database():
    row = ["EHC-1", "KS3", "SLCN", "special", "South\x00 team", "new_plan", "2024-03-15"]

    outcome = plans_import(register_csv([row]), "plans.csv")

    assert outcome.errors == [
        {
            "row": 2,
            "column": "locality",
            "message": register.CELL_CONTROL_CHARACTER.format(
                row=2, column="locality", value="South␀ team"
            ),
        }
    ]
    assert not Plan.objects.exists()


def test_a_nul_character_in_a_refused_value_or_header_is_shown_and_the_check_is_kept(
    client, qa_lead
):
    # PostgreSQL cannot keep a NUL in JSON: the check's record of a refusal quoting one
    # failed to save, and the QA lead got an error page instead of the reason.
    client.force_login(qa_lead)
    rows = [["EHC\x00-1", "KS3", "SLCN", "special", "South", "new_plan", "2024-03-15", "x"]]
    content = register_csv(rows, header=[*CANONICAL_HEADER, "notes\x00"])

    response = upload(client, content)

    page = response.content.decode()
    assert response.status_code == 200
    assert (
        escape(register.SYSTEM_ID_CHARACTERS.format(row=2, column="system_id", value="EHC␀-1"))
        in page
    )
    assert escape(register.IGNORED_COLUMNS.format(columns="“notes␀”")) in page
    assert PlanImport.objects.get().status == PlanImport.Status.FAILED


# The admin upload screen


def upload(client, content, name="plans.csv"):
    return client.post(
        reverse("plan_import:upload"), {"file": SimpleUploadedFile(name, content)}, follow=True
    )


@pytest.mark.usefixtures("existing_plans")
@FUZZ
@given(data=st.data())
def test_the_upload_screen_never_fails_and_confirming_writes_all_or_nothing(
    data, client, qa_lead, sample_rows, settings
):
    # Checked now, in the request: the background path is tested in test_plan_import.py.
    settings.PORTAL_PLAN_IMPORT_ASYNC_BYTES = plan_register.max_bytes()
    content, name = data.draw(any_register_file(sample_rows))
    name = data.draw(st.sampled_from([name, "x" * 250 + name[-5:], "réseau nord " + name]))
    client.force_login(qa_lead)
    with transaction.atomic():
        before = register_fingerprint()

        response = upload(client, content, name)

        assert response.status_code == 200
        page = response.content.decode()
        assert register_fingerprint() == before  # checking writes nothing
        if "form" in response.context and response.context["form"].errors:
            # Refused by the upload form (not a CSV or workbook name, or too large).
            for message in response.context["form"].errors["file"]:
                assert_readable(message, UPLOAD_PATTERNS)
                assert escape(message) in page
            transaction.set_rollback(True)
            return
        state = response.context["state"]
        event(f"upload {state}")
        result = response.context["result"]
        assert state in (plan_register.STATE_CHECKED, plan_register.STATE_REFUSED)
        if state == plan_register.STATE_REFUSED:
            assert "Confirm import" not in page
            messages = result["file_errors"] + [error["message"] for error in result["errors"]]
            assert messages
            for message in result["file_errors"]:
                assert_readable(message, FILE_PATTERNS)
            for error in result["errors"]:
                assert_readable(error["message"], ROW_PATTERNS)
            for message in messages[: plan_register.STORED_ERRORS]:
                assert escape(message) in page
        else:
            assert "Confirm import" in page
            plan_import = response.context["plan_import"]
            done = client.post(reverse("plan_import:confirm", args=[plan_import.pk]), follow=True)
            assert done.status_code == 200
            assert done.context["state"] == plan_register.STATE_IMPORTED
            assert len(register_fingerprint()) == len(before) + done.context["result"]["new"]
        transaction.set_rollback(True)
