"""The rubric rules: every problem a QA lead can make in a rubric is named in their words, and a
good rubric comes back normalised."""

import codecs
import copy
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.framework import rubric as rules
from portal.framework.plan_sections import SECTION_KEYS
from portal.framework.rubric import (
    BAD_FLAG,
    BAD_WEIGHT,
    CRITERION_KEY_FORMAT,
    CRITERION_KEY_MISSING,
    CRITERION_TEXT_MISSING,
    DUPLICATE_CRITERION,
    DUPLICATE_SECTION,
    FILE_TOO_LARGE,
    MAX_RUBRIC_BYTES,
    NO_SECTIONS,
    NOT_AN_OBJECT,
    NOT_JSON,
    NOT_UTF8,
    SECTION_NO_CRITERIA,
    SECTION_TITLE_MISSING,
    THRESHOLD_MISSING,
    THRESHOLD_NOT_A_NUMBER,
    THRESHOLD_TOO_PRECISE,
    THRESHOLDS_OUT_OF_ORDER,
    UNKNOWN_SECTION,
    RubricError,
    next_criterion_key,
    rubric_from_bytes,
    validate_rubric,
    validate_thresholds,
)


def problems(data):
    with pytest.raises(RubricError) as caught:
        validate_rubric(data)
    return caught.value.messages


def with_section(rubric_data, **changes):
    rubric_data["sections"][0].update(changes)
    return rubric_data


def with_criterion(rubric_data, **changes):
    rubric_data["sections"][0]["criteria"][0].update(changes)
    return rubric_data


# --- the whole rubric ------------------------------------------------------------------


@pytest.mark.parametrize("data", [[], "rubric", None, 42])
def test_input_that_is_not_an_object_is_refused(data):
    assert problems(data) == [NOT_AN_OBJECT]


def test_a_rubric_error_is_a_value_error_carrying_every_message():
    error = RubricError(["One.", "Two."])
    assert isinstance(error, ValueError)
    assert error.messages == ["One.", "Two."]
    assert str(error) == "One. Two."


@pytest.mark.parametrize("sections", [None, [], {}, "A"])
def test_a_rubric_without_sections_is_refused(rubric_data, sections):
    rubric_data["sections"] = sections
    assert problems(rubric_data) == [NO_SECTIONS]


def test_missing_sections_key_is_refused(rubric_data):
    del rubric_data["sections"]
    assert problems(rubric_data) == [NO_SECTIONS]


def test_a_section_or_criterion_that_is_not_an_object_is_refused(rubric_data):
    rubric_data["sections"].append("K")
    rubric_data["sections"][1]["criteria"].append(["J2"])
    assert problems(rubric_data) == [NOT_AN_OBJECT, NOT_AN_OBJECT]


# --- thresholds ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("thresholds", "expected"),
    [
        ({"outstanding": "0.9", "good": "0.9", "requires_improvement": "0.4"}, "equal"),
        ({"outstanding": "0.6", "good": "0.65", "requires_improvement": "0.4"}, "reversed"),
        ({"outstanding": "1.2", "good": "0.65", "requires_improvement": "0.4"}, "above 1"),
        ({"outstanding": "0.85", "good": "0.65", "requires_improvement": "0"}, "zero"),
        ({"outstanding": "0.85", "good": "0.65", "requires_improvement": "-0.1"}, "negative"),
        ({"outstanding": "0.85", "good": "0.4", "requires_improvement": "0.4"}, "equal low"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_thresholds_out_of_order_are_refused(rubric_data, thresholds, expected):
    rubric_data["thresholds"] = thresholds
    assert problems(rubric_data) == [
        THRESHOLDS_OUT_OF_ORDER.format(**{g: Decimal(v) for g, v in thresholds.items()})
    ]


def test_out_of_order_message_shows_the_numbers_as_written(rubric_data):
    rubric_data["thresholds"] = {"outstanding": 0.6, "good": 0.65, "requires_improvement": 0.4}
    [message] = problems(rubric_data)
    assert "Requires Improvement 0.4, Good 0.65, Outstanding 0.6" in message


def test_the_top_threshold_may_be_exactly_one(rubric_data):
    rubric_data["thresholds"] = {"outstanding": 1, "good": "0.5", "requires_improvement": "0.25"}
    assert validate_rubric(rubric_data)["thresholds"]["outstanding"] == "1"


@pytest.mark.parametrize("value", ["much", "", None, True, "NaN", "Infinity", [0.8], "0,85"])
def test_a_threshold_that_is_not_a_number_is_refused(rubric_data, value):
    rubric_data["thresholds"]["good"] = value
    expected = (
        THRESHOLD_MISSING.format(grade="Good")
        if value in (None, "")
        else THRESHOLD_NOT_A_NUMBER.format(grade="Good", value=value)
    )
    assert problems(rubric_data) == [expected]


def test_missing_thresholds_are_each_named(rubric_data):
    del rubric_data["thresholds"]["outstanding"]
    del rubric_data["thresholds"]["requires_improvement"]
    assert problems(rubric_data) == [
        THRESHOLD_MISSING.format(grade="Outstanding"),
        THRESHOLD_MISSING.format(grade="Requires Improvement"),
    ]


@pytest.mark.parametrize("thresholds", [None, "0.85", ["0.85", "0.65", "0.4"]])
def test_thresholds_that_are_not_an_object_count_as_missing(rubric_data, thresholds):
    rubric_data["thresholds"] = thresholds
    assert problems(rubric_data) == [
        THRESHOLD_MISSING.format(grade="Outstanding"),
        THRESHOLD_MISSING.format(grade="Good"),
        THRESHOLD_MISSING.format(grade="Requires Improvement"),
    ]


@pytest.mark.parametrize("value", ["0.12345", 0.00001, "0.85000"])
def test_a_threshold_with_more_than_four_decimal_places_is_refused(rubric_data, value):
    # The rubric page keeps thresholds to four places; more would fail only on saving.
    rubric_data["thresholds"]["good"] = value
    assert problems(rubric_data) == [THRESHOLD_TOO_PRECISE.format(grade="Good", value=value)]


def test_validate_thresholds_returns_decimals_when_good():
    parsed, errors = validate_thresholds(
        {"outstanding": 0.85, "good": "0.65", "requires_improvement": 0.4}
    )
    assert errors == []
    assert parsed == {
        "outstanding": Decimal("0.85"),
        "good": Decimal("0.65"),
        "requires_improvement": Decimal("0.4"),
    }


# --- sections --------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["Z", "a", "H", "H3", ""])
def test_a_section_that_is_not_an_ehc_plan_section_is_refused(rubric_data, key):
    assert problems(with_section(rubric_data, key=key)) == [UNKNOWN_SECTION.format(key=key)]


def test_the_unknown_section_message_lists_the_real_sections():
    assert "A, B, C, D, E, F, G, H1, H2, I, J, K" in UNKNOWN_SECTION


def test_a_section_listed_twice_is_refused(rubric_data):
    second_a = copy.deepcopy(rubric_data["sections"][0])
    for number, criterion in enumerate(second_a["criteria"], start=10):
        criterion["key"] = f"A{number}"
    rubric_data["sections"].append(second_a)
    assert problems(rubric_data) == [DUPLICATE_SECTION.format(key="A")]


@pytest.mark.parametrize("title", ["", "   ", None])
def test_a_section_without_a_title_is_refused(rubric_data, title):
    assert problems(with_section(rubric_data, title=title)) == [
        SECTION_TITLE_MISSING.format(key="A")
    ]


@pytest.mark.parametrize("criteria", [[], None, "A1"])
def test_a_section_with_no_criteria_is_refused(rubric_data, criteria):
    assert problems(with_section(rubric_data, criteria=criteria)) == [
        SECTION_NO_CRITERIA.format(key="A")
    ]


@pytest.mark.parametrize("weight", [0, -2, 1.5, 2.0, "2", True, False, None])
def test_a_section_weight_must_be_a_whole_number_of_at_least_one(rubric_data, weight):
    assert problems(with_section(rubric_data, weight=weight)) == [
        BAD_WEIGHT.format(what="Section A", value=weight)
    ]


@pytest.mark.parametrize("field", ["limiting", "may_be_not_applicable"])
@pytest.mark.parametrize("value", ["yes", 1, 0, None, "true"])
def test_section_flags_must_be_true_or_false(rubric_data, field, value):
    assert problems(with_section(rubric_data, **{field: value})) == [
        BAD_FLAG.format(what="Section A", field=field)
    ]


@pytest.mark.parametrize("exemplars", ["exemplar-section-a", {"slug": "x"}, 3])
def test_linked_exemplars_must_be_a_list(rubric_data, exemplars):
    assert problems(with_section(rubric_data, exemplars=exemplars)) == [
        rules.EXEMPLARS_NOT_A_LIST.format(key="A")
    ]


# --- criteria --------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["", "   ", None])
def test_a_criterion_without_a_key_is_refused(rubric_data, key):
    assert problems(with_criterion(rubric_data, key=key)) == [
        CRITERION_KEY_MISSING.format(section="A")
    ]


@pytest.mark.parametrize("key", ["A 1", "A/1", "-A1", ".A1", "A1é", "A" * 21])
def test_a_criterion_key_with_other_characters_is_refused(rubric_data, key):
    assert problems(with_criterion(rubric_data, key=key)) == [
        CRITERION_KEY_FORMAT.format(key=key, section="A")
    ]


@pytest.mark.parametrize("key", ["A1", "a-1", "H1.2", "A_20", "Z" * 20])
def test_criterion_keys_may_use_letters_digits_dots_dashes_underscores(rubric_data, key):
    data = validate_rubric(with_criterion(rubric_data, key=key))
    assert data["sections"][0]["criteria"][0]["key"] == key


def test_a_criterion_key_used_in_two_sections_is_refused(rubric_data):
    rubric_data["sections"][1]["criteria"][0]["key"] = "A2"
    assert problems(rubric_data) == [DUPLICATE_CRITERION.format(key="A2")]


def test_a_criterion_key_used_twice_in_one_section_is_refused(rubric_data):
    rubric_data["sections"][0]["criteria"][1]["key"] = "A1"
    assert problems(rubric_data) == [DUPLICATE_CRITERION.format(key="A1")]


@pytest.mark.parametrize("text", ["", "  ", None])
def test_a_criterion_without_text_is_refused(rubric_data, text):
    assert problems(with_criterion(rubric_data, text=text)) == [
        CRITERION_TEXT_MISSING.format(key="A1", section="A")
    ]


@pytest.mark.parametrize("weight", [0, -1, 0.5, 3.0, "3", True, None])
def test_a_criterion_weight_must_be_a_whole_number_of_at_least_one(rubric_data, weight):
    assert problems(with_criterion(rubric_data, weight=weight)) == [
        BAD_WEIGHT.format(what="Criterion A1", value=weight)
    ]


def test_a_missing_criterion_weight_is_refused(rubric_data):
    del rubric_data["sections"][0]["criteria"][0]["weight"]
    assert problems(rubric_data) == [BAD_WEIGHT.format(what="Criterion A1", value=None)]


@pytest.mark.parametrize("value", ["yes", 1, None, "false"])
def test_the_essential_flag_must_be_true_or_false(rubric_data, value):
    assert problems(with_criterion(rubric_data, essential=value)) == [
        BAD_FLAG.format(what="Criterion A1", field="essential")
    ]


# --- many problems at once -------------------------------------------------------------


def test_every_problem_is_reported_together_in_rubric_order(rubric_data):
    rubric_data["thresholds"]["good"] = "0.9"
    section_a = rubric_data["sections"][0]
    section_a["weight"] = 0
    section_a["criteria"][0]["text"] = ""
    section_a["criteria"][1]["key"] = "J1"
    rubric_data["sections"][1]["key"] = "X"
    rubric_data["sections"][1]["criteria"][0]["essential"] = "no"
    thresholds = {g: Decimal(v) for g, v in rubric_data["thresholds"].items()}

    assert problems(rubric_data) == [
        THRESHOLDS_OUT_OF_ORDER.format(**thresholds),
        BAD_WEIGHT.format(what="Section A", value=0),
        CRITERION_TEXT_MISSING.format(key="A1", section="A"),
        UNKNOWN_SECTION.format(key="X"),
        DUPLICATE_CRITERION.format(key="J1"),
        BAD_FLAG.format(what="Criterion J1", field="essential"),
    ]


# --- a good rubric ---------------------------------------------------------------------


def test_a_valid_rubric_comes_back_normalised(rubric_data):
    rubric_data["thresholds"] = {"outstanding": 0.85, "good": "0.65", "requires_improvement": 0.4}
    section = rubric_data["sections"][1]
    section["key"] = " J "
    section["title"] = "  Personal budget  "
    del section["limiting"], section["guidance"], section["exemplars"]
    criterion = section["criteria"][0]
    criterion["key"] = " J1 "
    del criterion["essential"], criterion["guidance"]

    data = validate_rubric(rubric_data)

    assert data["thresholds"] == {
        "outstanding": "0.85",
        "good": "0.65",
        "requires_improvement": "0.4",
    }
    assert data["sections"][1] == {
        "key": "J",
        "title": "Personal budget",
        "weight": 1,
        "limiting": False,
        "may_be_not_applicable": True,
        "guidance": "",
        "exemplars": [],
        "criteria": [
            {
                "key": "J1",
                "text": "The budget's use is set out.",
                "weight": 1,
                "essential": False,
                "guidance": "",
            }
        ],
    }
    assert data["sections"][0]["criteria"][0]["essential"] is True


def test_a_float_threshold_means_exactly_the_decimal_written(rubric_data):
    rubric_data["thresholds"]["outstanding"] = 0.85
    outstanding = validate_rubric(rubric_data)["thresholds"]["outstanding"]
    assert Decimal(outstanding) == Decimal("0.85")
    # Not the binary float's exact value, which is what Decimal(0.85) would give.
    assert Decimal(outstanding) != Decimal.from_float(0.85)


def test_extra_fields_such_as_format_and_title_are_ignored(rubric_data):
    rubric_data.update(format="ehcp-qa-rubric", version=1, title="Another area's rubric")
    assert set(validate_rubric(rubric_data)) == {"thresholds", "sections"}


def test_validation_does_not_change_its_input(rubric_data):
    before = copy.deepcopy(rubric_data)
    validate_rubric(rubric_data)
    assert rubric_data == before


# --- reading a rubric file -------------------------------------------------------------


def test_a_file_is_read_with_or_without_a_byte_order_mark(rubric_data):
    text = json.dumps(rubric_data, ensure_ascii=False).encode("utf-8")
    assert rubric_from_bytes(codecs.BOM_UTF8 + text) == rubric_from_bytes(text)
    assert rubric_from_bytes(text) == validate_rubric(rubric_data)


def test_a_file_that_is_not_utf8_is_refused(rubric_data):
    text = json.dumps(rubric_data, ensure_ascii=False).replace("Views", "Vïews")
    with pytest.raises(RubricError) as caught:
        rubric_from_bytes(text.encode("latin-1"))
    assert caught.value.messages == [NOT_UTF8]


def test_a_file_that_is_not_json_says_where():
    with pytest.raises(RubricError) as caught:
        rubric_from_bytes(b'{"thresholds": {},\n "sections": [,]}')
    assert caught.value.messages == [NOT_JSON.format(line=2, column=15, problem="Expecting value")]


def test_an_oversized_file_is_refused_unread():
    with pytest.raises(RubricError) as caught:
        rubric_from_bytes(b" " * (MAX_RUBRIC_BYTES + 1))
    assert caught.value.messages == [FILE_TOO_LARGE]


def test_a_file_holding_an_invalid_rubric_lists_every_problem(rubric_data):
    rubric_data["sections"][0]["key"] = "Q"
    rubric_data["sections"][1]["criteria"] = []
    with pytest.raises(RubricError) as caught:
        rubric_from_bytes(json.dumps(rubric_data).encode())
    assert caught.value.messages == [
        UNKNOWN_SECTION.format(key="Q"),
        SECTION_NO_CRITERIA.format(key="J"),
    ]


# --- next criterion key ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "existing", "expected"),
    [
        ("A", [], "A1"),
        ("A", ["A1", "A2", "A3", "A4"], "A5"),
        ("A", ["A1", "A3", "A4"], "A5"),  # A2 was deleted: its key is not handed out again
        ("A", ["A4", "A1"], "A5"),
        ("A", ["A9", "A10"], "A11"),
        ("A", ["B7", "AB3", "A-2", "A1.5"], "A1"),  # other sections and shapes do not count
        ("H1", [], "H1.1"),
        ("H1", ["H1.1", "H1.2"], "H1.3"),
        ("H1", ["H11", "H1.2"], "H1.3"),
        ("H2", ["H1.4"], "H2.1"),
    ],
)
def test_next_criterion_key(section, existing, expected):
    assert next_criterion_key(section, existing) == expected


def test_next_criterion_key_ignores_keys_that_only_look_numeric():
    # "²" counts as a digit to str.isdigit() but is no number; it must not crash the editor.
    assert next_criterion_key("A", ["A²", "A3"]) == "A4"


# --- properties ------------------------------------------------------------------------

criterion_keys = st.from_regex(rules.CRITERION_KEY_PATTERN, fullmatch=True)
# Text a database can store: no unpaired surrogates and no NUL (refused as UNSTORABLE_TEXT).
storable = st.characters(codec="utf-8", exclude_categories=["Cs"], exclude_characters="\x00")
words = st.text(storable, min_size=1).filter(str.strip)
weights = st.integers(min_value=1, max_value=1000)
flags = st.booleans()
threshold_values = st.decimals(min_value=Decimal("0.0001"), max_value=1, places=4)


@st.composite
def thresholds(draw):
    ri, good, outstanding = sorted(draw(st.sets(threshold_values, min_size=3, max_size=3)))
    as_written = st.sampled_from([str, float, lambda number: number])
    return {
        "outstanding": draw(as_written)(outstanding),
        "good": draw(as_written)(good),
        "requires_improvement": draw(as_written)(ri),
    }


@st.composite
def rubrics(draw):
    section_keys = draw(st.lists(st.sampled_from(SECTION_KEYS), min_size=1, unique=True))
    sizes = [draw(st.integers(min_value=1, max_value=4)) for _ in section_keys]
    keys = iter(
        draw(st.lists(criterion_keys, min_size=sum(sizes), max_size=sum(sizes), unique=True))
    )
    sections = [
        {
            "key": section_key,
            "title": draw(words),
            "weight": draw(weights),
            "limiting": draw(flags),
            "may_be_not_applicable": draw(flags),
            "guidance": draw(st.text(storable)),
            "exemplars": draw(st.lists(st.from_regex(r"[a-z0-9-]{1,20}", fullmatch=True))),
            "criteria": [
                {
                    "key": next(keys),
                    "text": draw(words),
                    "weight": draw(weights),
                    "essential": draw(flags),
                    "guidance": draw(st.text(storable)),
                }
                for _ in range(size)
            ],
        }
        for section_key, size in zip(section_keys, sizes, strict=True)
    ]
    return {"thresholds": draw(thresholds()), "sections": sections}


@given(rubrics())
def test_any_well_formed_rubric_validates_and_validation_is_idempotent(data):
    once = validate_rubric(data)
    assert validate_rubric(once) == once
    assert [s["key"] for s in once["sections"]] == [s["key"] for s in data["sections"]]
    assert [c["key"] for s in once["sections"] for c in s["criteria"]] == [
        c["key"] for s in data["sections"] for c in s["criteria"]
    ]
    for grade, value in data["thresholds"].items():
        assert Decimal(once["thresholds"][grade]) == Decimal(str(value))
    assert json.loads(json.dumps(once)) == once  # plain JSON, ready to export


def _shuffled(value, rng):
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: _shuffled(item, rng) for key, item in items}
    if isinstance(value, list):
        return [_shuffled(item, rng) for item in value]
    return value


def _outcome(data):
    try:
        return validate_rubric(data)
    except RubricError as error:
        return error.messages


@given(rubrics(), st.randoms(use_true_random=False))
def test_the_order_of_keys_in_the_file_does_not_change_the_result(data, rng):
    assert validate_rubric(_shuffled(data, rng)) == validate_rubric(data)


SECTION_MISTAKES = {"weight": 0, "title": "", "limiting": "yes", "criteria": []}
CRITERION_MISTAKES = {"text": "", "weight": -1, "key": "A 1", "essential": "no"}


@given(rubrics(), st.randoms(use_true_random=False), st.data())
def test_the_order_of_keys_does_not_change_the_problems_found(data, rng, choices):
    # Break the rubric in a few ways, then shuffle: the same messages, in the same order.
    section = choices.draw(st.sampled_from(data["sections"]))
    criterion = choices.draw(st.sampled_from(section["criteria"]))
    for field in choices.draw(st.sets(st.sampled_from(sorted(CRITERION_MISTAKES)))):
        criterion[field] = CRITERION_MISTAKES[field]
    for field in choices.draw(st.sets(st.sampled_from(sorted(SECTION_MISTAKES)))):
        section[field] = SECTION_MISTAKES[field]
    if choices.draw(st.booleans()):
        data["thresholds"]["good"] = "x"
    assert _outcome(_shuffled(data, rng)) == _outcome(data)


@given(st.sampled_from(SECTION_KEYS), st.lists(st.text(max_size=6)))
def test_next_criterion_key_is_always_new_and_valid(section_key, existing):
    key = next_criterion_key(section_key, existing)
    assert key not in existing
    assert rules.CRITERION_KEY_PATTERN.match(key)
    assert key.startswith(section_key)
