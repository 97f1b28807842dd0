"""Marking a knowledge check, and the calibration pass rule QA leads set."""

from fractions import Fraction

import pytest

from portal.training.marking import (
    CHECK_NOT_ANSWERED,
    calibration_passed,
    check_answers,
    check_passed,
)

QUESTIONS = [
    {"id": "q1", "options": [{"correct": False}, {"correct": True}]},
    {"id": "q2", "options": [{"correct": True}, {"correct": True}, {"correct": False}]},
]


def test_a_question_is_right_only_with_exactly_its_correct_options():
    marked = check_answers(QUESTIONS, {"q1": [1], "q2": [0]})
    assert [outcome["right"] for outcome in marked["outcomes"]] == [True, False]
    marked = check_answers(QUESTIONS, {"q1": [1], "q2": [1, 0]})
    assert (marked["correct"], marked["total"]) == (2, 2)
    marked = check_answers(QUESTIONS, {"q1": [0, 1], "q2": [0, 1, 2]})
    assert marked["correct"] == 0


@pytest.mark.parametrize("answers", [{"q1": [1]}, {"q1": [1], "q2": []}, {"q1": [5], "q2": [0]}])
def test_an_unanswered_or_impossible_answer_is_refused_by_number(answers):
    with pytest.raises(ValueError) as refused:
        check_answers(QUESTIONS, answers)
    number = 2 if answers["q1"] == [1] else 1
    assert str(refused.value) == CHECK_NOT_ANSWERED.format(number=number)


def test_the_pass_mark_is_reached_exactly_not_by_rounding():
    assert check_passed(4, 5, 80)
    assert not check_passed(3, 5, 80)
    assert not check_passed(2, 3, 67)  # 66.67% is not 67%
    assert check_passed(2, 3, 66)
    assert not check_passed(0, 0, 80)


def comparison(agreed, compared, matched):
    return {
        "criterion_agreement": Fraction(agreed, compared) if compared else None,
        "overall": {"matched": matched},
    }


def test_default_rule_needs_the_overall_grade_and_eighty_percent():
    rule = {"min_agreement": 80, "overall_must_match": True}
    assert calibration_passed(comparison(8, 10, True), **rule)
    assert not calibration_passed(comparison(79, 100, True), **rule)
    assert not calibration_passed(comparison(10, 10, False), **rule)
    assert not calibration_passed(comparison(0, 0, True), **rule)


def test_qa_leads_may_drop_the_overall_grade_condition():
    rule = {"min_agreement": 90, "overall_must_match": False}
    assert calibration_passed(comparison(9, 10, False), **rule)
    assert not calibration_passed(comparison(8, 10, True), **rule)
