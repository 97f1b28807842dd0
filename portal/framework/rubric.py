"""Rules for a rubric in the interchange format (DESIGN.md): reading a rubric file, validation
with messages a QA lead understands, and the next stable key for a new criterion. Plain data
in, plain data out."""

import json
import re
from decimal import Decimal, InvalidOperation

from .plan_sections import SECTION_KEYS

GRADES = ("outstanding", "good", "requires_improvement", "inadequate")
GRADE_LABELS = {
    "outstanding": "Outstanding",
    "good": "Good",
    "requires_improvement": "Requires Improvement",
    "inadequate": "Inadequate",
}
THRESHOLD_GRADES = ("outstanding", "good", "requires_improvement")
DEFAULT_THRESHOLDS = {
    "outstanding": Decimal("0.85"),
    "good": Decimal("0.65"),
    "requires_improvement": Decimal("0.40"),
}
CRITERION_KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,19}$")

NOT_AN_OBJECT = "The rubric must be a JSON object with “thresholds” and “sections”."
NO_SECTIONS = "The rubric has no sections: add at least one plan section with its criteria."
THRESHOLD_MISSING = "The {grade} threshold is missing."
THRESHOLD_NOT_A_NUMBER = "The {grade} threshold “{value}” is not a number between 0 and 1."
THRESHOLD_TOO_PRECISE = (
    "The {grade} threshold “{value}” has more than four decimal places; round it to four."
)
THRESHOLDS_OUT_OF_ORDER = (
    "Grade thresholds must rise from Requires Improvement to Good to Outstanding, each above 0 "
    "and at most 1 (got Requires Improvement {requires_improvement}, Good {good}, "
    "Outstanding {outstanding})."
)
UNKNOWN_SECTION = (
    "“{key}” is not a section of an EHC plan; use one of " + ", ".join(SECTION_KEYS) + "."
)
DUPLICATE_SECTION = "Section {key} appears more than once; each plan section is listed once."
SECTION_TITLE_MISSING = "Section {key} needs a title."
SECTION_NO_CRITERIA = "Section {key} has no criteria; every section needs at least one."
BAD_WEIGHT = "{what} must have a whole-number weight of at least 1 (it has “{value}”)."
BAD_FLAG = "{what}: “{field}” must be true or false."
EXEMPLARS_NOT_A_LIST = "Section {key}: “exemplars” must be a list of exemplar page slugs."
CRITERION_KEY_MISSING = "A criterion in section {section} has no key."
CRITERION_KEY_FORMAT = (
    "Criterion key “{key}” in section {section} may use only letters, digits, “.”, “-” and “_” "
    "(at most 20 characters)."
)
DUPLICATE_CRITERION = (
    "Criterion key {key} is used more than once; each criterion needs its own key."
)
CRITERION_TEXT_MISSING = "Criterion {key} in section {section} needs its text."

MAX_RUBRIC_BYTES = 1024 * 1024
FILE_TOO_LARGE = "The file is larger than 1 MB; a rubric file is a few kilobytes."
NOT_UTF8 = "The file is not UTF-8 text; export the rubric again as JSON."
NOT_JSON = "The file is not valid JSON (line {line}, column {column}: {problem})."
NUMBER_TOO_LONG = (
    "The file has a number thousands of digits long, too long to read; a rubric's weights are "
    "small whole numbers and its thresholds are between 0 and 1."
)
NESTED_TOO_DEEPLY = (
    "The file's lists or objects are nested inside each other too deeply to read; a rubric "
    "file is a few levels deep."
)
UNSTORABLE_TEXT = (
    "“{text}” contains a character that cannot be saved (a NUL character, shown as ␀, or half "
    "of a surrogate pair, shown as �); remove it and import the file again."
)
# A NUL or an unpaired surrogate: valid in JSON text, but PostgreSQL stores neither.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class RubricError(ValueError):
    """An inconsistent rubric; `messages` lists every problem found, in rubric order."""

    def __init__(self, messages):
        self.messages = list(messages)
        super().__init__(" ".join(self.messages))


def _weight(value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return None
    return value


def _threshold(value):
    # Floats are read through their shortest repr ("0.85"), so 0.85 means exactly 0.85.
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def validate_thresholds(thresholds):
    """Return the thresholds as Decimals keyed by grade, or the list of problems found."""
    errors = []
    parsed = {}
    if not isinstance(thresholds, dict):
        thresholds = {}
    for grade in THRESHOLD_GRADES:
        label = GRADE_LABELS[grade]
        if grade not in thresholds or thresholds[grade] in (None, ""):
            errors.append(THRESHOLD_MISSING.format(grade=label))
            continue
        number = _threshold(thresholds[grade])
        if number is None:
            errors.append(THRESHOLD_NOT_A_NUMBER.format(grade=label, value=thresholds[grade]))
        elif number.as_tuple().exponent < -4:
            # The rubric page stores thresholds to four places; refuse more here, in words,
            # rather than fail when the page is saved.
            errors.append(THRESHOLD_TOO_PRECISE.format(grade=label, value=thresholds[grade]))
        else:
            parsed[grade] = number
    if not errors and not (
        0 < parsed["requires_improvement"] < parsed["good"] < parsed["outstanding"] <= 1
    ):
        errors.append(THRESHOLDS_OUT_OF_ORDER.format(**parsed))
    return parsed, errors


def _unstorable_text(data):
    """The first text (a value or a field name) in the data that cannot be saved, or None.
    Walked without recursion: parsed JSON may be nested nearly as deep as Python recurses."""
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if _UNSTORABLE.search(value):
                return value
        elif isinstance(value, dict):
            pending.extend(reversed([item for pair in value.items() for item in pair]))
        elif isinstance(value, list):
            pending.extend(reversed(value))
    return None


def _shown(text):
    text = _UNSTORABLE.sub(lambda match: "␀" if match.group() == "\x00" else "�", text)
    return text if len(text) <= 60 else text[:57] + "…"


def validate_rubric(data):
    """Check a rubric in the interchange format and return it normalised (thresholds as
    decimal strings, flags as booleans); raise RubricError listing every problem."""
    if not isinstance(data, dict):
        raise RubricError([NOT_AN_OBJECT])
    unstorable = _unstorable_text(data)
    if unstorable is not None:
        # Alone: every other message about that part would quote the same broken text.
        raise RubricError([UNSTORABLE_TEXT.format(text=_shown(unstorable))])
    thresholds, errors = validate_thresholds(data.get("thresholds"))
    sections = data.get("sections")
    if not isinstance(sections, list) or not sections:
        errors.append(NO_SECTIONS)
        sections = []

    seen_sections = set()
    seen_criteria = set()
    normalised_sections = []
    for section in sections:
        if not isinstance(section, dict):
            errors.append(NOT_AN_OBJECT)
            continue
        key = str(section.get("key", "")).strip()
        if key not in SECTION_KEYS:
            errors.append(UNKNOWN_SECTION.format(key=key))
        elif key in seen_sections:
            errors.append(DUPLICATE_SECTION.format(key=key))
        seen_sections.add(key)
        title = str(section.get("title") or "").strip()
        if not title:
            errors.append(SECTION_TITLE_MISSING.format(key=key))
        weight = _weight(section.get("weight"))
        if weight is None:
            errors.append(BAD_WEIGHT.format(what=f"Section {key}", value=section.get("weight")))
        flags = {}
        for field in ("limiting", "may_be_not_applicable"):
            value = section.get(field, False)
            if not isinstance(value, bool):
                errors.append(BAD_FLAG.format(what=f"Section {key}", field=field))
            flags[field] = bool(value)

        exemplars = section.get("exemplars") or []
        if not isinstance(exemplars, list):
            errors.append(EXEMPLARS_NOT_A_LIST.format(key=key))
            exemplars = []
        criteria = section.get("criteria")
        if not isinstance(criteria, list) or not criteria:
            errors.append(SECTION_NO_CRITERIA.format(key=key))
            criteria = []
        normalised_criteria = []
        for criterion in criteria:
            if not isinstance(criterion, dict):
                errors.append(NOT_AN_OBJECT)
                continue
            ckey = str(criterion.get("key") or "").strip()
            if not ckey:
                errors.append(CRITERION_KEY_MISSING.format(section=key))
            elif not CRITERION_KEY_PATTERN.match(ckey):
                errors.append(CRITERION_KEY_FORMAT.format(key=ckey, section=key))
            elif ckey in seen_criteria:
                errors.append(DUPLICATE_CRITERION.format(key=ckey))
            seen_criteria.add(ckey)
            text = str(criterion.get("text") or "").strip()
            if not text:
                errors.append(CRITERION_TEXT_MISSING.format(key=ckey, section=key))
            cweight = _weight(criterion.get("weight"))
            if cweight is None:
                errors.append(
                    BAD_WEIGHT.format(what=f"Criterion {ckey}", value=criterion.get("weight"))
                )
            essential = criterion.get("essential", False)
            if not isinstance(essential, bool):
                errors.append(BAD_FLAG.format(what=f"Criterion {ckey}", field="essential"))
            normalised_criteria.append(
                {
                    "key": ckey,
                    "text": text,
                    "weight": cweight,
                    "essential": bool(essential),
                    "guidance": str(criterion.get("guidance") or ""),
                }
            )
        normalised_sections.append(
            {
                "key": key,
                "title": title,
                "weight": weight,
                **flags,
                "guidance": str(section.get("guidance") or ""),
                "exemplars": [str(slug) for slug in exemplars],
                "criteria": normalised_criteria,
            }
        )
    if errors:
        raise RubricError(errors)
    return {
        "thresholds": {grade: str(thresholds[grade]) for grade in THRESHOLD_GRADES},
        "sections": normalised_sections,
    }


def rubric_from_bytes(data):
    """Read a rubric file (UTF-8 JSON, with or without a byte-order mark) and return it
    validated and normalised; raise RubricError listing every problem."""
    if len(data) > MAX_RUBRIC_BYTES:
        raise RubricError([FILE_TOO_LARGE])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RubricError([NOT_UTF8]) from error
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as error:
        raise RubricError(
            [NOT_JSON.format(line=error.lineno, column=error.colno, problem=error.msg)]
        ) from error
    except ValueError as error:
        # Python refuses to read an integer of more than 4,300 digits (a guard against
        # denial of service); json raises that as a plain ValueError.
        raise RubricError([NUMBER_TOO_LONG]) from error
    except RecursionError as error:
        raise RubricError([NESTED_TOO_DEEPLY]) from error
    try:
        return validate_rubric(parsed)
    except RecursionError as error:
        # Parsed just inside Python's limit, then quoted as text a few calls deeper.
        raise RubricError([NESTED_TOO_DEEPLY]) from error


RETIRED_KEY_REUSED = (
    "Criterion key {key} belonged to a criterion removed in an earlier revision (“{old}”); "
    "audits made then still use it. Give this criterion a new key, or leave the key blank."
)


def criterion_texts(sections):
    """{criterion key: text} for sections in the interchange format."""
    return {
        criterion["key"]: criterion["text"]
        for section in sections
        for criterion in section["criteria"]
        if criterion["key"]
    }


def retired_keys(history):
    """{key: last wording} of every criterion key that earlier revisions used (oldest first,
    each a {key: text} dict), and the keys of the latest revision."""
    last_wording = {}
    for texts in history:
        last_wording.update(texts)
    return last_wording, set(history[-1]) if history else set()


def retired_key_conflicts(history, sections):
    """Messages for criteria that take the key of a criterion removed in an earlier revision
    but say something else, so one key never means two different questions. Bringing a
    removed criterion back unchanged (a rollback) is fine."""
    last_wording, current = retired_keys(history)
    return [
        RETIRED_KEY_REUSED.format(key=key, old=last_wording[key])
        for key, text in criterion_texts(sections).items()
        if key in last_wording and key not in current and text != last_wording[key]
    ]


def next_criterion_key(section_key, existing_keys):
    """The next free key for a new criterion of a section, after the highest one in use or
    ever used (pass both), so a key once given is never handed to a different criterion."""
    separator = "." if section_key[-1].isdigit() else ""
    prefix = f"{section_key}{separator}"
    numbers = [
        int(key[len(prefix) :])
        for key in existing_keys
        if key.startswith(prefix) and key[len(prefix) :].isdecimal()
    ]
    return f"{prefix}{max(numbers, default=0) + 1}"
