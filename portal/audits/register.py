"""Rules for the plan register file (shared/data/README.md): the columns it must have, the columns
it must never have (direct identifiers of a child), and how each cell is read. Plain values in,
plain values out; messages are sentences a QA lead can act on."""

import datetime
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

COLUMNS = (
    "system_id",
    "key_stage",
    "primary_need",
    "setting_type",
    "locality",
    "plan_stage",
    "date_issued",
)
# The model's choices, by code and label; tests keep them in step with portal.audits.models.
KEY_STAGES = {
    "EY": "Early years",
    "KS1": "Key stage 1",
    "KS2": "Key stage 2",
    "KS3": "Key stage 3",
    "KS4": "Key stage 4",
    "KS5": "Key stage 5",
    "POST19": "Post-19",
}
PRIMARY_NEEDS = {
    "SPLD": "Specific learning difficulty",
    "MLD": "Moderate learning difficulty",
    "SLD": "Severe learning difficulty",
    "PMLD": "Profound and multiple learning difficulty",
    "SEMH": "Social, emotional and mental health",
    "SLCN": "Speech, language and communication needs",
    "HI": "Hearing impairment",
    "VI": "Vision impairment",
    "MSI": "Multi-sensory impairment",
    "PD": "Physical disability",
    "ASD": "Autistic spectrum disorder",
    "OTH": "Other difficulty or disability",
}
SETTING_TYPES = {
    "mainstream": "Mainstream school",
    "special": "Special school",
    "resourced": "Resourced provision or SEN unit",
    "early_years": "Early years setting",
    "fe_college": "Further education college",
    "independent_special": "Independent special school",
    "alternative_provision": "Alternative provision",
    "eotas": "Education otherwise than at school",
    "neet": "Not in education, employment or training",
}
PLAN_STAGES = {"new_plan": "New plan", "annual_review": "Annual review"}

SYSTEM_ID_MAX_LENGTH = 40
LOCALITY_MAX_LENGTH = 100
# EHC plans replaced statements of SEN under the Children and Families Act 2014.
EARLIEST_DATE_ISSUED = datetime.date(2014, 9, 1)

# Whole-file refusals.
NO_HEADER_ROW = (
    "The file is empty: its first row must name the columns "
    + ", ".join(COLUMNS)
    + ", and each row after it describes one plan."
)
IDENTIFIER_COLUMNS = (
    "The whole file was refused because it has columns that look like direct identifiers of a "
    "child (a name, date of birth, address, NHS number or UPN): {columns}. The register keeps "
    "only the pseudonymous system ID; delete those columns and import the file again."
)
MISSING_COLUMNS = (
    "The file is missing the column{s} {columns}. Its first row must name the columns "
    + ", ".join(COLUMNS)
    + "."
)
REPEATED_COLUMNS = "The column{s} {columns} appear{verb} more than once in the first row; keep one."
UNNAMED_COLUMN_WITH_VALUES = (
    "Column {letter} has values but no name in the first row; name it or delete it, so the "
    "file can be checked for personal details."
)
NOT_COMMA_SEPARATED = (
    "The columns in the first row are separated by “{separator}”, not commas; save the file "
    "as “CSV UTF-8 (Comma delimited)” or as an Excel workbook and import it again."
)
NO_PLANS = "The file has a header row but no plans under it."
# A notice, not a refusal: extra columns are never stored.
IGNORED_COLUMNS = "These columns are not part of the register and were not read: {columns}."

# Refusals of one cell; the row counts as a person counts, the header being row 1.
CELL_EMPTY = "Row {row}: {column} is empty."
CELL_NOT_TEXT = "Row {row}: {column} “{value}” is not text."
SYSTEM_ID_CHARACTERS = (
    "Row {row}: {column} “{value}” may use only letters, digits, hyphens, underscores, full "
    "stops and slashes, starting with a letter or digit (for example EHC-224906)."
)
SYSTEM_ID_TOO_LONG = (
    "Row {row}: {column} “{value}” is longer than " + str(SYSTEM_ID_MAX_LENGTH) + " characters."
)
SYSTEM_ID_LOOKS_LIKE_NHS_NUMBER = (
    "Row {row}: {column} “{value}” looks like an NHS number; use the plan's pseudonymous ID "
    "from the case-management system instead."
)
SYSTEM_ID_LOOKS_LIKE_UPN = (
    "Row {row}: {column} “{value}” looks like a unique pupil number (UPN); use the plan's "
    "pseudonymous ID from the case-management system instead."
)
SYSTEM_ID_REPEATED = (
    "Row {row}: {column} “{value}” is also on row {first_row}; each plan appears only once."
)
UNKNOWN_CODE = "Row {row}: {column} “{value}” is not one of {allowed}."
LOCALITY_TOO_LONG = (
    "Row {row}: {column} “{value}” is longer than " + str(LOCALITY_MAX_LENGTH) + " characters."
)
CELL_CONTROL_CHARACTER = (
    "Row {row}: {column} “{value}” contains an invisible control character (shown here as ␀ "
    "or a similar symbol); retype the cell."
)
LOOKS_LIKE_FORMULA = (
    "Row {row}: {column} “{value}” starts with “{first}”, which a spreadsheet would run as a "
    "formula."
)
DATE_UNREADABLE = (
    "Row {row}: {column} “{value}” is not a date written as 2024-03-15 or 15/03/2024 (day first)."
)
DATE_TWO_DIGIT_YEAR = (
    "Row {row}: {column} “{value}” has a two-digit year; write the year in full, as in 15/03/2024."
)
DATE_NOT_REAL = (
    "Row {row}: {column} “{value}” is not a real date; dates are read day first, so 03/15/2024 "
    "would be the 3rd day of a 15th month."
)
DATE_IN_FUTURE = "Row {row}: {column} “{value}” is after today."
DATE_TOO_EARLY = "Row {row}: {column} “{value}” is before 1 September 2014, when EHC plans began."

_SEPARATORS = re.compile(r"[^0-9a-z]+")
_WHITESPACE = re.compile(r"\s+")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
# Control characters quoted in a message as their visible Unicode pictures (NUL as ␀): a raw
# NUL could not even be stored with the check's result in PostgreSQL.
_CONTROL_PICTURES = {code: 0x2400 + code for code in range(32)} | {0x7F: 0x2421}
_SYSTEM_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
_UPN = re.compile(r"[A-Za-z]\d{11}[A-Za-z0-9]")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_DAY_FIRST_DATE = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d+)")
_DAY_MONTH_NAME_DATE = re.compile(r"(\d{1,2}) ([A-Za-z]+)\.? (\d+)")
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_FORMULA_STARTS = ("=", "+", "@", "\t", "\r")

# Headers that name a direct identifier, after normalise_header().
IDENTIFIER_HEADERS = frozenset(
    {
        "dob",
        "d_o_b",
        "initials",
        "known_as",
        "nhs",
        "upn",
        "uln",
        "unique_pupil_number",
        "unique_learner_number",
        "street",
        "house_number",
        "postcode",
        "post_code",
        "email",
        "e_mail",
        "phone",
        "telephone",
        "tel",
        "mobile",
    }
)
_NAME_WORDS = frozenset(
    {"name", "names", "forename", "forenames", "surname", "firstname", "lastname", "fullname"}
)
_IDENTIFIER_WORDS = frozenset(
    {"dob", "birth", "birthday", "birthdate", "nhs", "upn", "uln", "address", "postcode"}
)
_CONTACT_WORDS = frozenset({"email", "phone", "telephone", "mobile"})
# "Team name" or "school name" names an organisation, not a child.
_ORGANISATION_WORDS = frozenset(
    {"team", "locality", "area", "setting", "school", "college", "provider", "service", "la"}
)


def normalise_header(header):
    """A column name as compared: lower case, every run of spaces, underscores, hyphens and
    punctuation made one underscore, a byte-order mark dropped."""
    text = "" if header is None else str(header)
    return _SEPARATORS.sub("_", text.replace("\ufeff", "").strip().lower()).strip("_")


def is_identifier_header(header):
    """Whether a column name looks like a direct identifier of a child."""
    name = normalise_header(header)
    if name in IDENTIFIER_HEADERS:
        return True
    words = name.split("_")
    if _IDENTIFIER_WORDS.intersection(words) or _CONTACT_WORDS.intersection(words):
        return True
    if " ".join(words[-2:]) in {"pupil number", "learner number"}:
        return True
    return bool(_NAME_WORDS.intersection(words)) and words[0] not in _ORGANISATION_WORDS


def _plural(items):
    return "" if len(items) == 1 else "s"


def _quoted(items):
    return ", ".join(f"“{str(item).translate(_CONTROL_PICTURES)}”" for item in items)


def _column_letter(index):
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


class FileRefused(ValueError):
    """The whole file is refused; nothing in it is read."""

    def __init__(self, messages):
        self.messages = list(messages)
        super().__init__(" ".join(self.messages))


class CellRefused(ValueError):
    """One cell cannot be read; message() places it in its row and column."""

    def __init__(self, template, value, **extra):
        self.template = template
        self.value = value
        self.extra = extra
        super().__init__(template)

    def message(self, row, column):
        return self.template.format(row=row, column=column, value=_shown(self.value), **self.extra)


def _shown(value):
    text = str(value).translate(_CONTROL_PICTURES)
    return text if len(text) <= 60 else text[:57] + "…"


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str


@dataclass
class RegisterRow:
    """One plan as read: cleaned values, or the raw ones where a cell was refused."""

    row: int
    values: dict
    errors: list = field(default_factory=list)


@dataclass
class RegisterTable:
    rows: list
    ignored_columns: list

    @property
    def errors(self):
        return [error for row in self.rows for error in row.errors]

    @property
    def notices(self):
        if not self.ignored_columns:
            return []
        return [IGNORED_COLUMNS.format(columns=_quoted(self.ignored_columns))]


def header_read(headers):
    """{column: index} for the register's columns, and the names of the columns ignored.
    Raises FileRefused for identifier columns, missing or repeated columns."""
    headers = [
        "" if header is None else str(header).replace("\ufeff", "").strip() for header in headers
    ]
    if not any(headers):
        raise FileRefused([NO_HEADER_ROW])
    named = [header for header in headers if header]
    for separator in (";", "\t", "|"):
        if len(named) == 1 and separator in named[0]:
            shown = "tab" if separator == "\t" else separator
            raise FileRefused([NOT_COMMA_SEPARATED.format(separator=shown)])
    problems = []
    identifiers = [header for header in headers if header and is_identifier_header(header)]
    if identifiers:
        problems.append(IDENTIFIER_COLUMNS.format(columns=_quoted(identifiers)))
    columns, ignored, repeated = {}, [], []
    for index, header in enumerate(headers):
        name = normalise_header(header)
        if name in COLUMNS:
            if name in columns:
                repeated.append(name)
            columns.setdefault(name, index)
        elif header and not is_identifier_header(header):
            ignored.append(header)
    missing = [column for column in COLUMNS if column not in columns]
    if missing:
        problems.append(MISSING_COLUMNS.format(s=_plural(missing), columns=", ".join(missing)))
    if repeated:
        problems.append(
            REPEATED_COLUMNS.format(
                s=_plural(repeated),
                verb="s" if len(repeated) == 1 else "",
                columns=", ".join(dict.fromkeys(repeated)),
            )
        )
    if problems:
        raise FileRefused(problems)
    return columns, ignored


def _text(value):
    """A cell as stripped text, or "" when empty. Whole numbers from a spreadsheet lose ".0"."""
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        raise CellRefused(CELL_NOT_TEXT, value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime.date):
        raise CellRefused(CELL_NOT_TEXT, value)
    return str(value).strip()


def _required(value):
    text = _text(value)
    if not text:
        raise CellRefused(CELL_EMPTY, text)
    return text


def _nhs_number_is_valid(digits):
    total = sum(
        int(digit) * weight for digit, weight in zip(digits[:9], range(10, 1, -1), strict=True)
    )
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def system_id_clean(value):
    """The plan's pseudonymous ID, as written (IDs may be case-sensitive)."""
    text = _required(value)
    if not _SYSTEM_ID.fullmatch(text):
        raise CellRefused(SYSTEM_ID_CHARACTERS, text)
    if len(text) > SYSTEM_ID_MAX_LENGTH:
        raise CellRefused(SYSTEM_ID_TOO_LONG, text)
    if len(text) == 10 and text.isdigit() and _nhs_number_is_valid(text):
        raise CellRefused(SYSTEM_ID_LOOKS_LIKE_NHS_NUMBER, text)
    if _UPN.fullmatch(text):
        raise CellRefused(SYSTEM_ID_LOOKS_LIKE_UPN, text)
    return text


def _code_compact(text):
    return _SEPARATORS.sub("", text.lower())


def _name_compact(text):
    return _SEPARATORS.sub("_", text.lower()).strip("_")


def _readings(choices, compact):
    """Every way of writing a code that is read as it: the code (any case, separators as
    compact() tidies them) or its label (any case)."""
    readings = {compact(code): code for code in choices}
    readings.update((label.casefold(), code) for code, label in choices.items())
    return readings


_KEY_STAGE_READINGS = _readings(KEY_STAGES, _code_compact)
_PRIMARY_NEED_READINGS = _readings(PRIMARY_NEEDS, _code_compact)
_SETTING_TYPE_READINGS = _readings(SETTING_TYPES, _name_compact)
_PLAN_STAGE_READINGS = _readings(PLAN_STAGES, _name_compact)


def _choice_clean(value, choices, readings, compact):
    text = _WHITESPACE.sub(" ", _required(value))
    code = readings.get(compact(text)) or readings.get(text.casefold())
    if code is None:
        raise CellRefused(UNKNOWN_CODE, text, allowed=", ".join(choices))
    return code


def key_stage_clean(value):
    """EY, KS1–KS5 or POST19; lower case, "KS 3" and "Post-19" are read too."""
    return _choice_clean(value, KEY_STAGES, _KEY_STAGE_READINGS, _code_compact)


def primary_need_clean(value):
    """A SEN2 primary need code, in any case, or its full name."""
    return _choice_clean(value, PRIMARY_NEEDS, _PRIMARY_NEED_READINGS, _code_compact)


def setting_type_clean(value):
    """A setting type code; "Early years" and "early-years" are read as early_years."""
    return _choice_clean(value, SETTING_TYPES, _SETTING_TYPE_READINGS, _name_compact)


def plan_stage_clean(value):
    """new_plan or annual_review; "New plan" and "annual review" are read too."""
    return _choice_clean(value, PLAN_STAGES, _PLAN_STAGE_READINGS, _name_compact)


def locality_clean(value):
    """The locality or team, with its spacing tidied."""
    text = _WHITESPACE.sub(" ", _required(value))
    if _CONTROL_CHARACTERS.search(text):
        raise CellRefused(CELL_CONTROL_CHARACTER, text)
    if text.startswith(_FORMULA_STARTS) or text.startswith("-"):
        raise CellRefused(LOOKS_LIKE_FORMULA, text, first=text[0])
    if len(text) > LOCALITY_MAX_LENGTH:
        raise CellRefused(LOCALITY_TOO_LONG, text)
    return text


_CELL_CLEANERS = {
    "system_id": system_id_clean,
    "key_stage": key_stage_clean,
    "primary_need": primary_need_clean,
    "setting_type": setting_type_clean,
    "locality": locality_clean,
    "plan_stage": plan_stage_clean,
}


def _date_parse(text):
    match = _ISO_DATE.fullmatch(text)
    if match:
        year, month, day = match.groups()
    elif match := _DAY_FIRST_DATE.fullmatch(text):
        day, _, month, year = match.groups()
    elif match := _DAY_MONTH_NAME_DATE.fullmatch(text):
        day, month_name, year = match.groups()
        month = _MONTHS.get(month_name.lower())
        if month is None:
            raise CellRefused(DATE_UNREADABLE, text)
    else:
        raise CellRefused(DATE_UNREADABLE, text)
    if len(year) != 4:
        raise CellRefused(DATE_TWO_DIGIT_YEAR if len(year) <= 2 else DATE_UNREADABLE, text)
    try:
        return datetime.date(int(year), int(month), int(day))
    except ValueError:
        raise CellRefused(DATE_NOT_REAL, text) from None


def date_issued_clean(value, today):
    """The date the plan was issued: ISO (2024-03-15), day first (15/03/2024, 15.03.2024,
    15 March 2024) or a spreadsheet date cell. Month-first and two-digit years are refused."""
    if isinstance(value, datetime.datetime):
        issued, text = value.date(), value.date().isoformat()
    elif isinstance(value, datetime.date):
        issued, text = value, value.isoformat()
    else:
        if isinstance(value, int | float) and not isinstance(value, bool):
            # A spreadsheet number (a date cell stripped of its format) is not read as a date.
            raise CellRefused(DATE_UNREADABLE, _text(value))
        text = _required(value)
        issued = _date_parse(text)
    if issued > today:
        raise CellRefused(DATE_IN_FUTURE, text)
    if issued < EARLIEST_DATE_ISSUED:
        raise CellRefused(DATE_TOO_EARLY, text)
    return issued


def row_clean(values, row, today):
    """One row of {column: raw value} as a RegisterRow: each cell cleaned, or kept raw with
    the reason it was refused."""
    cleaned, errors = {}, []
    for column in COLUMNS:
        value = values.get(column)
        try:
            if column == "date_issued":
                cleaned[column] = date_issued_clean(value, today)
            else:
                cleaned[column] = _CELL_CLEANERS[column](value)
        except CellRefused as refusal:
            cleaned[column] = value
            errors.append(RowError(row, column, refusal.message(row, column)))
    return RegisterRow(row, cleaned, errors)


def _is_blank(cells):
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def register_read(headers: Sequence, rows: Iterable[Sequence], today):
    """The whole file as a RegisterTable: blank rows left out, every other row cleaned or
    refused with its reasons, a system ID repeated within the file refused on its later rows.
    Raises FileRefused when the file as a whole cannot be imported."""
    columns, ignored = header_read(headers)
    named = {
        index for index, header in enumerate(headers) if header is not None and str(header).strip()
    }
    has_unnamed = len(named) < len(headers)
    table, first_rows, unnamed = [], {}, set()
    for number, cells in enumerate(rows, start=2):
        if _is_blank(cells):
            continue
        if has_unnamed or len(cells) > len(headers):
            unnamed.update(
                index
                for index, cell in enumerate(cells)
                if index not in named and not _is_blank([cell])
            )
        register_row = row_clean(
            {
                column: cells[index] if index < len(cells) else None
                for column, index in columns.items()
            },
            number,
            today,
        )
        system_id = register_row.values["system_id"]
        if not any(error.column == "system_id" for error in register_row.errors):
            if system_id in first_rows:
                register_row.errors.insert(
                    0,
                    RowError(
                        number,
                        "system_id",
                        SYSTEM_ID_REPEATED.format(
                            row=number,
                            column="system_id",
                            value=system_id,
                            first_row=first_rows[system_id],
                        ),
                    ),
                )
            else:
                first_rows[system_id] = number
        table.append(register_row)
    if unnamed:
        raise FileRefused(
            [
                UNNAMED_COLUMN_WITH_VALUES.format(letter=_column_letter(index))
                for index in sorted(unnamed)
            ]
        )
    if not table:
        raise FileRefused([NO_PLANS])
    return RegisterTable(table, ignored)
