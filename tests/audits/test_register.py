"""The register file rules: identifier columns refuse the file, each cell is read without
guessing or refused with a reason naming its row and column."""

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.audits import models, register
from portal.audits.register import (
    CELL_EMPTY,
    DATE_IN_FUTURE,
    DATE_NOT_REAL,
    DATE_TOO_EARLY,
    DATE_TWO_DIGIT_YEAR,
    DATE_UNREADABLE,
    IDENTIFIER_COLUMNS,
    MISSING_COLUMNS,
    NO_PLANS,
    SYSTEM_ID_CHARACTERS,
    SYSTEM_ID_LOOKS_LIKE_NHS_NUMBER,
    SYSTEM_ID_LOOKS_LIKE_UPN,
    SYSTEM_ID_REPEATED,
    UNKNOWN_CODE,
    CellRefused,
    FileRefused,
)

from .conftest import CANONICAL_HEADER

TODAY = datetime.date(2026, 1, 15)
GOOD_ROW = ["EHC-224906", "KS3", "SLCN", "special", "South", "new_plan", "2024-03-15"]


def read(rows, header=CANONICAL_HEADER):
    return register.register_read(header, rows, today=TODAY)


def refusal(cleaner, value):
    with pytest.raises(CellRefused) as caught:
        cleaner(value)
    return caught.value


@pytest.mark.parametrize(
    ("codes", "choices"),
    [
        (register.KEY_STAGES, models.KeyStage),
        (register.PRIMARY_NEEDS, models.PrimaryNeed),
        (register.SETTING_TYPES, models.SettingType),
        (register.PLAN_STAGES, models.PlanStage),
    ],
)
def test_the_rules_know_the_same_codes_and_labels_as_the_model(codes, choices):
    assert codes == dict(choices.choices)


# Columns


@pytest.mark.parametrize(
    ("header", "normalised"),
    [
        ("system_id", "system_id"),
        ("\ufeffSystem ID", "system_id"),
        ("  Key  Stage ", "key_stage"),
        ("primary-need", "primary_need"),
        ("Date__issued", "date_issued"),
        ("NHS No.", "nhs_no"),
        ("Child's name", "child_s_name"),
    ],
)
def test_column_names_are_compared_without_case_spacing_or_punctuation(header, normalised):
    assert register.normalise_header(header) == normalised


@pytest.mark.parametrize(
    "header",
    [
        "name",
        "Name",
        "First name",
        "forename",
        "Surname",
        "Child name",
        "Child's Name",
        "Full_Name",
        "DOB",
        "D.O.B.",
        "Date of birth",
        "Birth date",
        "Address",
        "Address line 1",
        "Postcode",
        "Post code",
        "NHS number",
        "NHS No",
        "nhs_no",
        "UPN",
        "Unique pupil number",
        "ULN",
        "Email address",
        "Telephone",
        "Initials",
    ],
)
def test_columns_that_look_like_a_direct_identifier_are_recognised(header):
    assert register.is_identifier_header(header)


@pytest.mark.parametrize(
    "header",
    [*CANONICAL_HEADER, "Team name", "Locality name", "School name", "Setting", "Notes"],
)
def test_register_and_organisation_columns_are_not_identifiers(header):
    assert not register.is_identifier_header(header)


def test_an_identifier_column_refuses_the_whole_file_naming_the_columns():
    header = ["Child name", *CANONICAL_HEADER, "DOB"]
    with pytest.raises(FileRefused) as caught:
        read([["Sam", *GOOD_ROW, "2015-01-01"]], header=header)
    assert caught.value.messages == [IDENTIFIER_COLUMNS.format(columns="“Child name”, “DOB”")]


def test_missing_columns_refuse_the_file_naming_them():
    header = [c for c in CANONICAL_HEADER if c not in ("locality", "date_issued")]
    with pytest.raises(FileRefused) as caught:
        read([GOOD_ROW[:4] + GOOD_ROW[5:6]], header=header)
    assert caught.value.messages == [MISSING_COLUMNS.format(s="s", columns="locality, date_issued")]


def test_a_column_given_twice_refuses_the_file():
    with pytest.raises(FileRefused) as caught:
        read([[*GOOD_ROW, "KS4"]], header=[*CANONICAL_HEADER, "Key stage"])
    assert "key_stage" in caught.value.messages[0]


def test_values_under_a_column_without_a_name_refuse_the_file():
    with pytest.raises(FileRefused) as caught:
        read([[*GOOD_ROW, "Sam Smith"]], header=[*CANONICAL_HEADER, ""])
    assert caught.value.messages == [register.UNNAMED_COLUMN_WITH_VALUES.format(letter="H")]


def test_extra_columns_are_ignored_with_a_notice_and_headers_may_be_written_loosely():
    header = ["System ID", "KEY STAGE", "Primary need", "setting-type", "Locality", "Plan stage"]
    table = read([[*GOOD_ROW, "a note"]], header=[*header, "Date issued", "Notes"])
    assert table.rows[0].values["system_id"] == "EHC-224906"
    assert table.notices == [register.IGNORED_COLUMNS.format(columns="“Notes”")]


def test_a_file_separated_by_semicolons_is_refused_with_how_to_save_it():
    with pytest.raises(FileRefused) as caught:
        read([["EHC-1;KS3;SLCN"]], header=[";".join(CANONICAL_HEADER)])
    assert caught.value.messages == [register.NOT_COMMA_SEPARATED.format(separator=";")]


def test_a_file_with_only_a_header_is_refused():
    with pytest.raises(FileRefused) as caught:
        read([["", "", "", "", "", "", ""]])
    assert caught.value.messages == [NO_PLANS]


# Rows


def test_rows_are_numbered_as_a_person_counts_them_and_blank_rows_are_left_out():
    rows = [GOOD_ROW, ["", " ", None, "", "", "", ""], ["EHC-2", *GOOD_ROW[1:]], [], [""] * 7]
    table = read(rows)
    assert [row.row for row in table.rows] == [2, 4]
    assert table.errors == []


def test_a_refused_cell_names_its_row_column_and_value():
    table = read([GOOD_ROW, ["EHC-2", "KS9", *GOOD_ROW[2:]]])
    assert table.errors == [
        register.RowError(
            3,
            "key_stage",
            UNKNOWN_CODE.format(
                row=3,
                column="key_stage",
                value="KS9",
                allowed="EY, KS1, KS2, KS3, KS4, KS5, POST19",
            ),
        )
    ]
    assert table.errors[0].message.startswith("Row 3: key_stage “KS9” is not one of EY, KS1")


def test_every_refused_cell_of_a_row_is_reported():
    table = read([["EHC-1", "", "ASC", "school", "North", "review", "03/15/2024"]])
    assert [error.column for error in table.errors] == [
        "key_stage",
        "primary_need",
        "setting_type",
        "plan_stage",
        "date_issued",
    ]
    assert table.errors[0].message == CELL_EMPTY.format(row=2, column="key_stage")


def test_a_system_id_repeated_in_the_file_is_refused_on_its_later_rows():
    table = read([GOOD_ROW, ["EHC-9", *GOOD_ROW[1:]], GOOD_ROW])
    assert table.errors == [
        register.RowError(
            4,
            "system_id",
            SYSTEM_ID_REPEATED.format(row=4, column="system_id", value="EHC-224906", first_row=2),
        )
    ]


# Cells


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("KS3", "KS3"),
        ("ks3", "KS3"),
        (" KS 3 ", "KS3"),
        ("ks-3", "KS3"),
        ("ey", "EY"),
        ("Early years", "EY"),
        ("POST19", "POST19"),
        ("Post-19", "POST19"),
        ("post 19", "POST19"),
    ],
)
def test_key_stages_are_read_in_any_case_and_spacing(value, code):
    assert register.key_stage_clean(value) == code


@pytest.mark.parametrize("value", ["KS6", "Year 9", "19+", "3", "KS"])
def test_key_stages_that_need_guessing_are_refused(value):
    assert refusal(register.key_stage_clean, value).template == UNKNOWN_CODE


@pytest.mark.parametrize(
    ("value", "code"),
    [("asd", "ASD"), ("SpLD", "SPLD"), ("Autistic spectrum disorder", "ASD"), (" oth ", "OTH")],
)
def test_primary_needs_are_sen2_codes_in_any_case_or_their_names(value, code):
    assert register.primary_need_clean(value) == code


@pytest.mark.parametrize("value", ["ASC", "Autism", "ADHD", "S.L.C.N.X"])
def test_other_needs_are_refused(value):
    assert refusal(register.primary_need_clean, value).template == UNKNOWN_CODE


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("Mainstream", "mainstream"),
        ("Early Years", "early_years"),
        ("FE-college", "fe_college"),
        ("Special school", "special"),
        ("INDEPENDENT_SPECIAL", "independent_special"),
        ("EOTAS", "eotas"),
    ],
)
def test_setting_types_are_read_as_codes_or_names(value, code):
    assert register.setting_type_clean(value) == code


@pytest.mark.parametrize(
    ("value", "code"),
    [("new_plan", "new_plan"), ("New plan", "new_plan"), ("ANNUAL REVIEW", "annual_review")],
)
def test_plan_stages_are_read_as_codes_or_names(value, code):
    assert register.plan_stage_clean(value) == code


@pytest.mark.parametrize("value", ["school", "home"])
def test_unknown_setting_types_are_refused(value):
    assert refusal(register.setting_type_clean, value).template == UNKNOWN_CODE


@pytest.mark.parametrize(
    ("value", "issued"),
    [
        ("2024-03-15", datetime.date(2024, 3, 15)),
        ("2024-03-15 00:00:00", datetime.date(2024, 3, 15)),
        ("15/03/2024", datetime.date(2024, 3, 15)),
        ("5/3/2024", datetime.date(2024, 3, 5)),
        ("15.03.2024", datetime.date(2024, 3, 15)),
        ("15-03-2024", datetime.date(2024, 3, 15)),
        ("15 March 2024", datetime.date(2024, 3, 15)),
        ("15 Mar 2024", datetime.date(2024, 3, 15)),
        (datetime.datetime(2024, 3, 15), datetime.date(2024, 3, 15)),
        (datetime.date(2024, 3, 15), datetime.date(2024, 3, 15)),
    ],
)
def test_dates_are_read_as_iso_or_day_first(value, issued):
    assert register.date_issued_clean(value, TODAY) == issued


@pytest.mark.parametrize(
    ("value", "template"),
    [
        ("03/15/2024", DATE_NOT_REAL),
        ("31/02/2024", DATE_NOT_REAL),
        ("15/03/24", DATE_TWO_DIGIT_YEAR),
        ("March 15, 2024", DATE_UNREADABLE),
        ("15th March", DATE_UNREADABLE),
        ("2024/03/15", DATE_UNREADABLE),
        (45366, DATE_UNREADABLE),
        ("", CELL_EMPTY),
        ("2026-01-16", DATE_IN_FUTURE),
        ("31/08/2014", DATE_TOO_EARLY),
    ],
)
def test_dates_that_need_guessing_or_cannot_be_right_are_refused(value, template):
    assert refusal(lambda v: register.date_issued_clean(v, TODAY), value).template == template


def test_a_month_first_date_is_refused_with_a_reason_a_person_can_act_on():
    error = refusal(lambda v: register.date_issued_clean(v, TODAY), "03/15/2024")
    assert error.message(7, "date_issued") == (
        "Row 7: date_issued “03/15/2024” is not a real date; dates are read day first, so "
        "03/15/2024 would be the 3rd day of a 15th month."
    )


@pytest.mark.parametrize(
    ("value", "system_id"),
    [("EHC-224906", "EHC-224906"), (" EHC-1 ", "EHC-1"), (224906, "224906"), (224906.0, "224906")],
)
def test_system_ids_are_kept_as_written(value, system_id):
    assert register.system_id_clean(value) == system_id


@pytest.mark.parametrize(
    ("value", "template"),
    [
        ("EHC 224906", SYSTEM_ID_CHARACTERS),
        ("=HYPERLINK(1)", SYSTEM_ID_CHARACTERS),
        ("E" * 41, register.SYSTEM_ID_TOO_LONG),
        ("9434765919", SYSTEM_ID_LOOKS_LIKE_NHS_NUMBER),
        ("A123456789012", SYSTEM_ID_LOOKS_LIKE_UPN),
        ("", CELL_EMPTY),
    ],
)
def test_system_ids_that_are_not_pseudonymous_ids_are_refused(value, template):
    assert refusal(register.system_id_clean, value).template == template


def test_a_ten_digit_id_that_is_not_a_valid_nhs_number_is_accepted():
    assert register.system_id_clean("9434765918") == "9434765918"


def test_localities_are_tidied_and_formulae_refused():
    assert register.locality_clean("  North   East ") == "North East"
    assert refusal(register.locality_clean, "=cmd()").template == register.LOOKS_LIKE_FORMULA


@given(
    code=st.sampled_from(sorted(register.KEY_STAGES)),
    upper=st.lists(st.booleans(), min_size=6, max_size=6),
    separator=st.sampled_from(["", " ", "-", "_"]),
    padding=st.sampled_from(["", " ", "  "]),
)
def test_any_casing_spacing_or_padding_of_a_key_stage_code_reads_back_as_the_code(
    code, upper, separator, padding
):
    written = "".join(c.upper() if u else c.lower() for c, u in zip(code, upper, strict=False))
    written = written[:2] + separator + written[2:]
    assert register.key_stage_clean(padding + written + padding) == code


@given(st.text(max_size=30))
def test_normalising_a_column_name_twice_changes_nothing(header):
    once = register.normalise_header(header)
    assert register.normalise_header(once) == once


@given(st.dates(min_value=datetime.date(2014, 9, 1), max_value=TODAY))
def test_every_possible_issue_date_reads_back_from_iso_and_uk_forms(issued):
    assert register.date_issued_clean(issued.isoformat(), TODAY) == issued
    assert register.date_issued_clean(issued.strftime("%d/%m/%Y"), TODAY) == issued
