"""The grading rule (DESIGN.md): worked examples checked by hand, the score strings a QA lead
reads, every bad input refused in words, and hypothesis properties against an independent
reference computed with fractions.Fraction."""

import copy
import json
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from portal.audits.grading import (
    EVERY_SECTION_NOT_APPLICABLE,
    MET_NOT_A_LIST,
    NOT_APPLICABLE_NOT_A_FLAG,
    NOT_APPLICABLE_NOT_ALLOWED,
    NOT_APPLICABLE_WITH_TICKS,
    SECTION_TICKS_NOT_AN_OBJECT,
    TICKS_NOT_AN_OBJECT,
    UNKNOWN_CRITERION_TICKED,
    UNKNOWN_SECTION_TICKED,
    UNKNOWN_TICK_FIELD,
    UNKNOWN_TICKS_FIELD,
    RubricGrader,
    grade_audit,
    score_string,
)
from portal.framework.plan_sections import SECTION_KEYS
from portal.framework.rubric import (
    BAD_WEIGHT,
    SECTION_NO_CRITERIA,
    THRESHOLDS_OUT_OF_ORDER,
    RubricError,
)

# Best first, as DESIGN.md lists them; a higher rank is a better grade.
RANK = {"inadequate": 0, "requires_improvement": 1, "good": 2, "outstanding": 3}
DEFAULT_THRESHOLDS = {"outstanding": "0.85", "good": "0.65", "requires_improvement": "0.40"}
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


def criterion(key, weight, essential=False):
    return {"key": key, "text": f"Criterion {key}.", "weight": weight, "essential": essential}


def section(key, weight, criteria, limiting=False, may_be_not_applicable=False):
    return {
        "key": key,
        "title": f"Section {key}",
        "weight": weight,
        "limiting": limiting,
        "may_be_not_applicable": may_be_not_applicable,
        "criteria": criteria,
    }


# A: weight 1, limiting; criteria A1 (weight 1, essential) + A2 (weight 9) = total 10.
# B: weight 3; criteria B1 5 + B2 4 + B3 4 + B4 4 + B5 3 = total 20.
# J: weight 2, may be not applicable; criteria J1 1 + J2 2 = total 3 (thirds never terminate).
RUBRIC = {
    "thresholds": dict(DEFAULT_THRESHOLDS),
    "sections": [
        section("A", 1, [criterion("A1", 1, essential=True), criterion("A2", 9)], limiting=True),
        section(
            "B",
            3,
            [
                criterion("B1", 5),
                criterion("B2", 4),
                criterion("B3", 4),
                criterion("B4", 4),
                criterion("B5", 3),
            ],
        ),
        section("J", 2, [criterion("J1", 1), criterion("J2", 2)], may_be_not_applicable=True),
    ],
}


def ticks(**sections):
    return {"sections": sections}


def graded(ticks_data, rubric=RUBRIC):
    return grade_audit(copy.deepcopy(rubric), ticks_data)


def refused(ticks_data, rubric=RUBRIC):
    """The message grading gives for bad ticks."""
    with pytest.raises(ValueError) as caught:
        grade_audit(copy.deepcopy(rubric), ticks_data)
    return str(caught.value)


def rubric_refused(rubric):
    """The messages grading gives for a bad rubric: a RubricError, which is a ValueError."""
    with pytest.raises(ValueError) as caught:
        grade_audit(rubric, ticks())
    assert isinstance(caught.value, RubricError)
    return caught.value.messages


# --- worked examples, by hand ------------------------------------------------------------


def test_scores_exactly_on_the_thresholds_earn_those_grades():
    # A: A1 + A2 = 10/10 = 1 -> outstanding.
    # B: B1 + B2 + B3 = 5 + 4 + 4 = 13/20 = 0.65, exactly the Good threshold -> good.
    # J: not applicable, left out.
    # Overall = (1 * 1 + 3 * 13/20) / (1 + 3) = (20/20 + 39/20) / 4 = 59/80 = 0.7375 -> good.
    result = graded(
        ticks(A={"met": ["A1", "A2"]}, B={"met": ["B1", "B2", "B3"]}, J={"not_applicable": True})
    )
    assert result == {
        "overall": {"score": "0.7375", "grade": "good"},
        "sections": {
            "A": {"score": "1", "grade": "outstanding"},
            "B": {"score": "0.65", "grade": "good"},
            "J": {"not_applicable": True, "grade": None},
        },
    }


def test_outstanding_threshold_is_inclusive_and_a_limiting_inadequate_section_caps_overall():
    # A: A1 only = 1/10 = 0.1 -> inadequate (A is limiting).
    # B: B1 + B2 + B3 + B4 = 17/20 = 0.85, exactly the Outstanding threshold -> outstanding.
    # J: J1 + J2 = 3/3 = 1 -> outstanding.
    # Overall = (1 * 1/10 + 3 * 17/20 + 2 * 1) / (1 + 3 + 2)
    #         = (2/20 + 51/20 + 40/20) / 6 = 93/120 = 31/40 = 0.775 -> good by score,
    # but limiting A is inadequate, so overall is at best requires_improvement.
    result = graded(
        ticks(A={"met": ["A1"]}, B={"met": ["B1", "B2", "B3", "B4"]}, J={"met": ["J1", "J2"]})
    )
    assert result == {
        "overall": {"score": "0.775", "grade": "requires_improvement"},
        "sections": {
            "A": {"score": "0.1", "grade": "inadequate"},
            "B": {"score": "0.85", "grade": "outstanding"},
            "J": {"score": "1", "grade": "outstanding"},
        },
    }


def test_an_unmet_essential_criterion_caps_a_section_scoring_0_9():
    # A: A2 only = 9/10 = 0.9 -> outstanding by score, but essential A1 is unmet
    #    -> requires_improvement (A is not inadequate, so the limiting rule does not apply).
    # B: B1 + B5 = 5 + 3 = 8/20 = 0.4, exactly the Requires Improvement threshold.
    # J: J1 = 1/3 = 0.3333... -> inadequate, cut (not rounded) to "0.3333".
    # Overall = (1 * 9/10 + 3 * 8/20 + 2 * 1/3) / 6 = (27/30 + 36/30 + 20/30) / 6
    #         = 83/180 = 0.46111... -> "0.4611", requires_improvement.
    result = graded(ticks(A={"met": ["A2"]}, B={"met": ["B1", "B5"]}, J={"met": ["J1"]}))
    assert result == {
        "overall": {"score": "0.4611", "grade": "requires_improvement"},
        "sections": {
            "A": {"score": "0.9", "grade": "requires_improvement"},
            "B": {"score": "0.4", "grade": "requires_improvement"},
            "J": {"score": "0.3333", "grade": "inadequate"},
        },
    }


def test_an_inadequate_section_that_is_not_limiting_does_not_cap_overall():
    # A: 10/10 = 1 -> outstanding.
    # B: B2 + B5 = 4 + 3 = 7/20 = 0.35 -> inadequate (B is not limiting).
    # J: J2 = 2/3 = 0.6666... -> good (2/3 >= 0.65), shown cut as "0.6666".
    # Overall = (1 * 1 + 3 * 7/20 + 2 * 2/3) / 6 = (60/60 + 63/60 + 80/60) / 6
    #         = 203/360 = 0.563888... -> "0.5638", requires_improvement.
    result = graded(ticks(A={"met": ["A1", "A2"]}, B={"met": ["B2", "B5"]}, J={"met": ["J2"]}))
    assert result["sections"]["B"] == {"score": "0.35", "grade": "inadequate"}
    assert result["sections"]["J"] == {"score": "0.6666", "grade": "good"}
    assert result["overall"] == {"score": "0.5638", "grade": "requires_improvement"}

    # With J fully met instead: overall = (1 + 3 * 7/20 + 2 * 1) / 6 = (20 + 21 + 40)/20 / 6
    #         = 81/120 = 27/40 = 0.675 -> good, despite B being inadequate.
    result = graded(
        ticks(A={"met": ["A1", "A2"]}, B={"met": ["B2", "B5"]}, J={"met": ["J1", "J2"]})
    )
    assert result["overall"] == {"score": "0.675", "grade": "good"}


def test_a_not_applicable_section_is_left_out_but_an_omitted_one_counts_as_nothing_met():
    # Not applicable J: overall = 59/80 = 0.7375 -> good (first worked example).
    # J left out of the ticks: J = 0/3 = 0 -> inadequate, and it counts:
    # overall = (1 * 1 + 3 * 13/20 + 2 * 0) / 6 = (59/20) / 6 = 59/120 = 0.491666...
    #         -> "0.4916", requires_improvement.
    left_out = graded(ticks(A={"met": ["A1", "A2"]}, B={"met": ["B1", "B2", "B3"]}))
    assert left_out["sections"]["J"] == {"score": "0", "grade": "inadequate"}
    assert left_out["overall"] == {"score": "0.4916", "grade": "requires_improvement"}

    not_applicable = graded(
        ticks(A={"met": ["A1", "A2"]}, B={"met": ["B1", "B2", "B3"]}, J={"not_applicable": True})
    )
    assert not_applicable["overall"] == {"score": "0.7375", "grade": "good"}


def test_nothing_ticked_at_all_is_inadequate_everywhere():
    # Every section 0 -> inadequate; overall 0 -> inadequate (already no better than the cap).
    result = graded({})
    assert result["overall"] == {"score": "0", "grade": "inadequate"}
    assert {key: value["grade"] for key, value in result["sections"].items()} == {
        "A": "inadequate",
        "B": "inadequate",
        "J": "inadequate",
    }


def test_the_design_example_shapes():
    # DESIGN.md's example rubric section A (weight 2, limiting, A1 weight 3 essential) with a
    # may-be-not-applicable J: A = 3/3 = 1; J not applicable; overall = 1.
    rubric = {
        "thresholds": dict(DEFAULT_THRESHOLDS),
        "sections": [
            section("A", 2, [criterion("A1", 3, essential=True)], limiting=True),
            section("J", 1, [criterion("J1", 1)], may_be_not_applicable=True),
        ],
    }
    ticks_data = {"sections": {"A": {"met": ["A1"]}, "J": {"not_applicable": True}}}
    result = grade_audit(rubric, ticks_data)
    assert set(result) == {"overall", "sections"}
    assert set(result["overall"]) == {"score", "grade"}
    assert set(result["sections"]["A"]) == {"score", "grade"}
    assert result == {
        "overall": {"score": "1", "grade": "outstanding"},
        "sections": {
            "A": {"score": "1", "grade": "outstanding"},
            "J": {"not_applicable": True, "grade": None},
        },
    }
    # Plain JSON out: it survives a round trip, with null for the not-applicable grade.
    assert json.loads(json.dumps(result)) == result
    assert '"grade": null' in json.dumps(result["sections"]["J"])


def test_custom_thresholds_and_threshold_one():
    # Outstanding only at 1: B 19/20 = 0.95 is good, 20/20 = 1 is outstanding.
    rubric = copy.deepcopy(RUBRIC)
    rubric["thresholds"] = {"outstanding": "1", "good": "0.9", "requires_improvement": "0.5"}
    result = grade_audit(rubric, ticks(B={"met": ["B1", "B2", "B3", "B4"]}))
    # B: 17/20 = 0.85 < 0.9 -> requires_improvement.
    assert result["sections"]["B"] == {"score": "0.85", "grade": "requires_improvement"}
    everything = ["B1", "B2", "B3", "B4", "B5"]
    result = grade_audit(rubric, ticks(B={"met": everything}))
    assert result["sections"]["B"] == {"score": "1", "grade": "outstanding"}


# --- score strings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "shown"),
    [
        (Fraction(0), "0"),
        (Fraction(1), "1"),
        (Fraction(20, 20), "1"),
        (Fraction(1, 2), "0.5"),
        (Fraction(13, 20), "0.65"),
        (Fraction(1, 16), "0.0625"),
        (Fraction(17, 20), "0.85"),
        (Fraction(2, 5), "0.4"),
        (Fraction(1, 32), "0.03125"),  # terminating: exact, even past four places
        (Fraction(59, 80), "0.7375"),
    ],
)
def test_terminating_scores_are_exact(score, shown):
    assert score_string(score) == shown


@pytest.mark.parametrize(
    ("score", "shown"),
    [
        (Fraction(2, 3), "0.6666"),  # cut, not rounded to 0.6667
        (Fraction(1, 3), "0.3333"),
        (Fraction(1, 7), "0.1428"),
        (Fraction(83, 180), "0.4611"),
        (Fraction(1, 30000), "0.0000"),
    ],
)
def test_non_terminating_scores_are_cut_to_four_places(score, shown):
    assert score_string(score) == shown


@pytest.mark.parametrize(
    ("score", "threshold"),
    [
        # 1949/3000 = 0.649666... (3 in the denominator: never terminates).
        (Fraction(1949, 3000), Fraction("0.65")),
        # 0.65 - 1/30000000 = 0.64999996666...
        (Fraction(65 * 3 * 10**6 - 1, 3 * 10**8), Fraction("0.65")),
        # 0.85 - 1/(3 * 10^72): far more digits than any working precision a decimal context
        # would use by default.
        (Fraction(85 * 3 * 10**70 - 1, 3 * 10**72), Fraction("0.85")),
        (Fraction(40 * 7 * 10**90 - 1, 7 * 10**92), Fraction("0.4")),
        # Terminating but with 100 decimal places: exact, so still below 1.
        (Fraction(2**100 - 1, 2**100), Fraction(1)),
        (Fraction(13 * 2**100 - 1, 20 * 2**100), Fraction("0.65")),
    ],
)
def test_a_score_just_below_a_threshold_is_never_shown_reaching_it(score, threshold):
    assert score < threshold
    shown = score_string(score)
    assert Fraction(shown) < threshold
    assert Fraction(shown) <= score


def test_a_huge_terminating_score_is_shown_exactly():
    score = Fraction(2**100 - 1, 2**100)
    assert Fraction(score_string(score)) == score


@PROPERTY_SETTINGS
@given(
    st.integers(min_value=1, max_value=10**80).flatmap(
        lambda denominator: st.tuples(
            st.integers(min_value=0, max_value=denominator), st.just(denominator)
        )
    )
)
def test_score_string_is_exact_or_cut_never_rounded_up(pair):
    score = Fraction(*pair)
    shown = score_string(score)
    rest = score.denominator
    for factor in (2, 5):
        while rest % factor == 0:
            rest //= factor
    _, _, places = shown.partition(".")
    if rest == 1:
        assert Fraction(shown) == score
        assert not places.endswith("0")
    else:
        assert len(places) == 4
        assert Fraction(shown) < score < Fraction(shown) + Fraction(1, 10**4)


# --- bad input refused in words -------------------------------------------------------


@pytest.mark.parametrize("key", ["Z", "C", "a", ""])
def test_an_unknown_section_in_the_ticks(key):
    assert refused(ticks(**{key: {"met": []}})) == UNKNOWN_SECTION_TICKED.format(key=key)


@pytest.mark.parametrize("criterion_key", ["A3", "B1", "J1", "a1", ""])
def test_an_unknown_criterion_or_one_of_another_section(criterion_key):
    assert refused(ticks(A={"met": ["A1", criterion_key]})) == UNKNOWN_CRITERION_TICKED.format(
        criterion=criterion_key, key="A"
    )


@pytest.mark.parametrize("criterion_key", [5, ["A1"], None, {"key": "A1"}, True, 1.0])
def test_a_criterion_key_that_is_not_a_string(criterion_key):
    assert refused(ticks(A={"met": [criterion_key]})) == UNKNOWN_CRITERION_TICKED.format(
        criterion=criterion_key, key="A"
    )


@pytest.mark.parametrize("key", ["A", "B"])
def test_not_applicable_where_the_rubric_does_not_allow_it(key):
    assert refused(ticks(**{key: {"not_applicable": True}})) == (
        NOT_APPLICABLE_NOT_ALLOWED.format(key=key)
    )


def test_every_section_not_applicable():
    rubric = {
        "thresholds": dict(DEFAULT_THRESHOLDS),
        "sections": [
            section("J", 1, [criterion("J1", 1)], may_be_not_applicable=True),
            section("K", 2, [criterion("K1", 1)], may_be_not_applicable=True),
        ],
    }
    assert (
        refused(ticks(J={"not_applicable": True}, K={"not_applicable": True}), rubric)
        == EVERY_SECTION_NOT_APPLICABLE
    )
    # One of them graded is enough.
    result = grade_audit(rubric, ticks(J={"not_applicable": True}))
    assert result["overall"] == {"score": "0", "grade": "inadequate"}


@pytest.mark.parametrize("value", [0, -1, 1.5, "2", None, True])
def test_a_criterion_weight_below_one_or_not_whole(value):
    rubric = copy.deepcopy(RUBRIC)
    rubric["sections"][1]["criteria"][0]["weight"] = value
    assert BAD_WEIGHT.format(what="Criterion B1", value=value) in rubric_refused(rubric)


@pytest.mark.parametrize("value", [0, -3])
def test_a_section_weight_below_one(value):
    rubric = copy.deepcopy(RUBRIC)
    rubric["sections"][0]["weight"] = value
    assert BAD_WEIGHT.format(what="Section A", value=value) in rubric_refused(rubric)


@pytest.mark.parametrize(
    ("requires_improvement", "good", "outstanding"),
    [
        ("0.70", "0.65", "0.85"),  # RI above Good
        ("0.40", "0.85", "0.85"),  # Good equal to Outstanding
        ("0.40", "0.90", "0.85"),  # Good above Outstanding
        ("0", "0.65", "0.85"),  # RI not above 0
        ("0.40", "0.65", "1.01"),  # Outstanding above 1
    ],
)
def test_thresholds_out_of_order(requires_improvement, good, outstanding):
    rubric = copy.deepcopy(RUBRIC)
    rubric["thresholds"] = {
        "outstanding": outstanding,
        "good": good,
        "requires_improvement": requires_improvement,
    }
    assert THRESHOLDS_OUT_OF_ORDER.format(
        requires_improvement=requires_improvement, good=good, outstanding=outstanding
    ) in rubric_refused(rubric)


@pytest.mark.parametrize("criteria", [[], None])
def test_a_section_with_no_criteria(criteria):
    rubric = copy.deepcopy(RUBRIC)
    rubric["sections"][1]["criteria"] = criteria
    assert SECTION_NO_CRITERIA.format(key="B") in rubric_refused(rubric)


@pytest.mark.parametrize(
    "ticks_data", [None, [], "A1", 5, {"sections": []}, {"sections": None}, {"sections": "A"}]
)
def test_ticks_that_are_not_an_object_with_sections(ticks_data):
    assert refused(ticks_data) == TICKS_NOT_AN_OBJECT


@pytest.mark.parametrize("section_ticks", [["A1"], "A1", None, True, 3])
def test_section_ticks_that_are_not_an_object(section_ticks):
    assert refused(ticks(A=section_ticks)) == SECTION_TICKS_NOT_AN_OBJECT.format(key="A")


@pytest.mark.parametrize("met", ["A1", {"A1": True}, None, 1, ("A1",)])
def test_met_that_is_not_a_list(met):
    assert refused(ticks(A={"met": met})) == MET_NOT_A_LIST.format(key="A")


@pytest.mark.parametrize("field", ["notes", "Met", "na", "score", "grade"])
def test_an_unknown_field_in_section_ticks(field):
    assert refused(ticks(A={"met": ["A1"], field: True})) == UNKNOWN_TICK_FIELD.format(
        key="A", field=field
    )


@pytest.mark.parametrize("field", ["sectons", "overall", "met"])
def test_an_unknown_top_level_field_in_the_ticks(field):
    # A misspelt "sections" would otherwise grade the audit as if nothing were met.
    assert refused({"sections": {}, field: {"A": {"met": ["A1"]}}}) == (
        UNKNOWN_TICKS_FIELD.format(field=field)
    )


@pytest.mark.parametrize("value", ["true", 1, 0, None, [], "yes"])
def test_not_applicable_that_is_not_a_boolean(value):
    assert refused(ticks(J={"not_applicable": value})) == NOT_APPLICABLE_NOT_A_FLAG.format(key="J")


def test_not_applicable_with_criteria_ticked():
    assert refused(ticks(J={"not_applicable": True, "met": ["J1"]})) == (
        NOT_APPLICABLE_WITH_TICKS.format(key="J")
    )
    # Saying "applicable" explicitly alongside ticks is fine: J1 = 1/3.
    result = graded(ticks(J={"not_applicable": False, "met": ["J1"]}))
    assert result["sections"]["J"] == {"score": "0.3333", "grade": "inadequate"}


def test_bad_input_is_not_mutated_and_good_input_is_left_as_given():
    rubric = copy.deepcopy(RUBRIC)
    ticks_data = ticks(A={"met": ["A2", "A1"]}, J={"not_applicable": True})
    before = copy.deepcopy((rubric, ticks_data))
    grade_audit(rubric, ticks_data)
    assert (rubric, ticks_data) == before


# --- properties ----------------------------------------------------------------------


def threshold_string(units, draw):
    """units / 10000 as a decimal string, sometimes with trailing zeros ("0.6500")."""
    whole, fraction = divmod(units, 10000)
    places = f"{fraction:04d}"
    if draw(st.booleans()):
        places = places.rstrip("0")
    return f"{whole}.{places}" if places else str(whole)


@st.composite
def thresholds(draw):
    units = sorted(
        draw(
            st.lists(st.integers(min_value=1, max_value=10000), min_size=3, max_size=3, unique=True)
        )
    )
    return {
        "requires_improvement": threshold_string(units[0], draw),
        "good": threshold_string(units[1], draw),
        "outstanding": threshold_string(units[2], draw),
    }


@st.composite
def rubrics(draw, min_sections=1):
    keys = draw(
        st.lists(st.sampled_from(SECTION_KEYS), min_size=min_sections, max_size=12, unique=True)
    )
    sections = []
    for key in keys:
        separator = "." if key[-1].isdigit() else ""
        count = draw(st.integers(min_value=1, max_value=6))
        criteria = [
            criterion(
                f"{key}{separator}{number}",
                draw(st.integers(min_value=1, max_value=5)),
                essential=draw(st.booleans()),
            )
            for number in range(1, count + 1)
        ]
        sections.append(
            section(
                key,
                draw(st.integers(min_value=1, max_value=5)),
                criteria,
                limiting=draw(st.booleans()),
                may_be_not_applicable=draw(st.booleans()),
            )
        )
    return {"thresholds": draw(thresholds()), "sections": sections}


@st.composite
def ticks_for(draw, rubric):
    """Valid ticks: each section left out, ticked (a subset met) or, where allowed, not
    applicable; at least one section graded."""
    chosen = {}
    for rubric_section in rubric["sections"]:
        choices = ["left out", "ticked"]
        if rubric_section["may_be_not_applicable"]:
            choices.append("not applicable")
        choice = draw(st.sampled_from(choices))
        if choice == "not applicable":
            chosen[rubric_section["key"]] = {"not_applicable": True}
        elif choice == "ticked":
            keys = [c["key"] for c in rubric_section["criteria"]]
            entry = {"met": draw(st.lists(st.sampled_from(keys), unique=True))}
            if draw(st.booleans()):
                entry["not_applicable"] = False
            chosen[rubric_section["key"]] = entry
    if all(chosen.get(s["key"], {}).get("not_applicable") for s in rubric["sections"]):
        chosen[rubric["sections"][0]["key"]] = {"met": []}
    return {"sections": chosen}


def reference_grade(score, thresholds_data):
    for grade in ("outstanding", "good", "requires_improvement"):
        if score >= Fraction(thresholds_data[grade]):
            return grade
    return "inadequate"


def section_fraction(rubric_section, met):
    total = sum(c["weight"] for c in rubric_section["criteria"])
    got = sum(c["weight"] for c in rubric_section["criteria"] if c["key"] in met)
    return Fraction(got, total)


def reference_result(rubric, ticks_data):
    """The grading rule of DESIGN.md, written out again with Fraction."""
    sections = {}
    weighted = []
    capped = False
    for rubric_section in rubric["sections"]:
        key = rubric_section["key"]
        entry = ticks_data["sections"].get(key, {})
        if entry.get("not_applicable"):
            sections[key] = {"not_applicable": True, "grade": None}
            continue
        met = set(entry.get("met", []))
        score = section_fraction(rubric_section, met)
        grade = reference_grade(score, rubric["thresholds"])
        if any(c["essential"] and c["key"] not in met for c in rubric_section["criteria"]):
            grade = min(grade, "requires_improvement", key=RANK.__getitem__)
        capped |= rubric_section["limiting"] and grade == "inadequate"
        sections[key] = {"score": score_string(score), "grade": grade}
        weighted.append((rubric_section["weight"], score))
    overall = sum(weight * score for weight, score in weighted) / sum(w for w, _ in weighted)
    grade = reference_grade(overall, rubric["thresholds"])
    if capped:
        grade = min(grade, "requires_improvement", key=RANK.__getitem__)
    return {"overall": {"score": score_string(overall), "grade": grade}, "sections": sections}


@PROPERTY_SETTINGS
@given(st.data())
def test_grading_agrees_with_the_rule_written_out_with_fractions(data):
    rubric = data.draw(rubrics())
    ticks_data = data.draw(ticks_for(rubric))
    assert grade_audit(rubric, ticks_data) == reference_result(rubric, ticks_data)


@PROPERTY_SETTINGS
@given(st.data())
def test_ticking_one_more_criterion_never_lowers_a_grade(data):
    rubric = data.draw(rubrics())
    ticks_data = data.draw(ticks_for(rubric))
    unmet = [
        (s["key"], c["key"])
        for s in rubric["sections"]
        if not ticks_data["sections"].get(s["key"], {}).get("not_applicable")
        for c in s["criteria"]
        if c["key"] not in ticks_data["sections"].get(s["key"], {}).get("met", [])
    ]
    assume(unmet)
    section_key, criterion_key = data.draw(st.sampled_from(unmet))
    more = copy.deepcopy(ticks_data)
    more["sections"].setdefault(section_key, {}).setdefault("met", []).append(criterion_key)

    before = grade_audit(rubric, ticks_data)
    after = grade_audit(rubric, more)
    assert RANK[after["overall"]["grade"]] >= RANK[before["overall"]["grade"]]
    assert Fraction(after["overall"]["score"]) >= Fraction(before["overall"]["score"])
    for key, result in before["sections"].items():
        if result["grade"] is not None:
            assert RANK[after["sections"][key]["grade"]] >= RANK[result["grade"]]
    assert Fraction(after["sections"][section_key]["score"]) > Fraction(
        before["sections"][section_key]["score"]
    )


@PROPERTY_SETTINGS
@given(st.data())
def test_everything_met_is_outstanding(data):
    rubric = data.draw(rubrics())
    chosen = {}
    for rubric_section in rubric["sections"]:
        if rubric_section["may_be_not_applicable"] and data.draw(st.booleans()):
            chosen[rubric_section["key"]] = {"not_applicable": True}
        else:
            chosen[rubric_section["key"]] = {"met": [c["key"] for c in rubric_section["criteria"]]}
    assume(not all(entry.get("not_applicable") for entry in chosen.values()))
    result = grade_audit(rubric, {"sections": chosen})
    assert result["overall"] == {"score": "1", "grade": "outstanding"}
    for key, entry in chosen.items():
        if entry.get("not_applicable"):
            assert result["sections"][key] == {"not_applicable": True, "grade": None}
        else:
            assert result["sections"][key] == {"score": "1", "grade": "outstanding"}


@PROPERTY_SETTINGS
@given(thresholds(), st.sampled_from(["outstanding", "good", "requires_improvement"]))
def test_thresholds_are_inclusive_and_a_hair_below_earns_the_grade_below(thresholds_data, grade):
    threshold = Fraction(thresholds_data[grade])
    below = {"outstanding": "good", "good": "requires_improvement"}.get(grade, "inadequate")
    # A section whose met weight / total weight is the threshold exactly: p met of q.
    p, q = threshold.numerator, threshold.denominator
    criteria = [criterion("E1", p)] + ([criterion("E2", q - p)] if q > p else [])
    rubric = {"thresholds": thresholds_data, "sections": [section("E", 1, criteria)]}
    result = grade_audit(rubric, ticks(E={"met": ["E1"]}))
    assert Fraction(result["sections"]["E"]["score"]) == threshold
    assert result["sections"]["E"]["grade"] == grade
    assert result["overall"]["grade"] == grade

    # (kp - 1) met of kq with k = 30000: 1/(30000q) below the threshold, less than the
    # 0.0001 between two thresholds, and with 3 in the denominator, never terminating.
    k = 30000
    criteria = [criterion("E1", k * p - 1), criterion("E2", k * (q - p) + 1)]
    rubric = {"thresholds": thresholds_data, "sections": [section("E", 1, criteria)]}
    result = grade_audit(rubric, ticks(E={"met": ["E1"]}))
    assert result["sections"]["E"]["grade"] == below
    assert result["overall"]["grade"] == below
    assert Fraction(result["sections"]["E"]["score"]) < threshold


def reordered(data, mapping):
    return {key: mapping[key] for key in data.draw(st.permutations(list(mapping)))}


@PROPERTY_SETTINGS
@given(st.data())
def test_grading_is_deterministic_and_ignores_key_order(data):
    rubric = data.draw(rubrics())
    ticks_data = data.draw(ticks_for(rubric))
    rubric_copy, ticks_copy = copy.deepcopy(rubric), copy.deepcopy(ticks_data)
    result = grade_audit(rubric, ticks_data)

    shuffled_rubric = reordered(
        data,
        {
            "thresholds": reordered(data, rubric["thresholds"]),
            "sections": [
                reordered(
                    data,
                    {
                        **rubric_section,
                        "criteria": [
                            reordered(data, c)
                            for c in data.draw(st.permutations(rubric_section["criteria"]))
                        ],
                    },
                )
                for rubric_section in data.draw(st.permutations(rubric["sections"]))
            ],
        },
    )
    shuffled_ticks = {
        "sections": reordered(
            data,
            {
                key: reordered(
                    data,
                    {
                        **entry,
                        **(
                            {"met": data.draw(st.permutations(entry["met"]))}
                            if "met" in entry
                            else {}
                        ),
                    },
                )
                for key, entry in ticks_data["sections"].items()
            },
        )
    }
    assert grade_audit(shuffled_rubric, shuffled_ticks) == result
    assert grade_audit(rubric, ticks_data) == result
    assert RubricGrader(rubric).grade(ticks_data) == result
    assert (rubric, ticks_data) == (rubric_copy, ticks_copy)
    assert json.loads(json.dumps(result)) == result


@PROPERTY_SETTINGS
@given(st.data())
def test_marking_a_section_not_applicable_grades_the_rest_alone(data):
    rubric = data.draw(rubrics(min_sections=2))
    target = data.draw(st.sampled_from(rubric["sections"]))
    target["may_be_not_applicable"] = True
    ticks_data = data.draw(ticks_for(rubric))
    keys = [c["key"] for c in target["criteria"]]
    ticks_data["sections"][target["key"]] = {
        "met": data.draw(st.lists(st.sampled_from(keys), unique=True))
    }
    others = [s for s in rubric["sections"] if s is not target]
    if all(ticks_data["sections"].get(s["key"], {}).get("not_applicable") for s in others):
        ticks_data["sections"][others[0]["key"]] = {"met": []}

    before = grade_audit(rubric, ticks_data)
    not_applicable = copy.deepcopy(ticks_data)
    not_applicable["sections"][target["key"]] = {"not_applicable": True}
    after = grade_audit(rubric, not_applicable)

    assert after["sections"][target["key"]] == {"not_applicable": True, "grade": None}
    for other in others:
        assert after["sections"][other["key"]] == before["sections"][other["key"]]

    # The weighted mean of the other applicable sections' exact scores, and each section's
    # score string from its own met weight / total weight.
    weighted = []
    for other in others:
        entry = not_applicable["sections"].get(other["key"], {})
        if entry.get("not_applicable"):
            continue
        score = section_fraction(other, set(entry.get("met", [])))
        assert after["sections"][other["key"]]["score"] == score_string(score)
        weighted.append((other["weight"], score))
    mean = sum(weight * score for weight, score in weighted) / sum(w for w, _ in weighted)
    assert after["overall"]["score"] == score_string(mean)
    assert after["overall"]["grade"] == reference_result(rubric, not_applicable)["overall"]["grade"]
