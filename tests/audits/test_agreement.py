"""Agreement between judgements: ticks compared criterion by criterion (training calibration),
and pairs of overall grades summarised (moderation), checked against figures worked out by
hand, including the degenerate cases."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.audits.agreement import agreement_summary, ticks_comparison
from portal.framework.rubric import GRADES

from ..conftest import SMALL_RUBRIC


def ticks(a, j):
    """SMALL_RUBRIC ticks: the criteria met in A, and in J (None: not applicable)."""
    return {
        "sections": {
            "A": {"met": a},
            "J": {"not_applicable": True} if j is None else {"met": j},
        }
    }


def test_identical_ticks_agree_on_every_criterion_and_grade():
    comparison = ticks_comparison(SMALL_RUBRIC, ticks(["A1"], ["J1"]), ticks(["A1"], ["J1"]))
    assert comparison["criteria_agreed"] == comparison["criteria_compared"] == 3
    assert comparison["criterion_agreement"] == 1
    assert comparison["sections_matched"] == comparison["sections_total"] == 2
    assert comparison["overall"]["matched"]
    assert all(not section["differences"] for section in comparison["sections"])


def test_a_section_both_mark_not_applicable_is_left_out_of_the_criteria():
    # Reference: A1 and A2 met (outstanding), J not applicable; learner misses A2.
    comparison = ticks_comparison(SMALL_RUBRIC, ticks(["A1", "A2"], None), ticks(["A1"], None))
    assert comparison["criteria_compared"] == 2  # J1 is not compared
    assert comparison["criterion_agreement"] == Fraction(1, 2)
    a, j = comparison["sections"]
    assert (a["reference_grade"], a["grade"], a["matched"]) == ("outstanding", "good", False)
    assert (j["reference_grade"], j["grade"], j["matched"]) == (None, None, True)
    assert comparison["sections_matched"] == 1
    assert comparison["overall"] == {
        "reference_grade": "outstanding",
        "grade": "good",
        "matched": False,
    }
    [difference] = a["differences"]
    assert difference["key"] == "A2"
    assert (difference["reference"], difference["given"]) == ("met", "not_met")


def test_not_applicable_on_one_side_only_is_a_disagreement_on_each_criterion():
    # The reference judged J and found nothing met; the learner left J out.
    comparison = ticks_comparison(SMALL_RUBRIC, ticks(["A1"], []), ticks(["A1"], None))
    assert comparison["criteria_compared"] == 3
    assert comparison["criteria_agreed"] == 2
    j = comparison["sections"][1]
    assert (j["reference_grade"], j["grade"], j["matched"]) == ("inadequate", None, False)
    assert j["differences"][0]["reference"] == "not_met"
    assert j["differences"][0]["given"] == "not_applicable"
    assert j["differences"][0]["text"] == "The budget's use is set out."


def test_ticks_the_rubric_does_not_allow_are_refused():
    with pytest.raises(ValueError, match="A9"):
        ticks_comparison(SMALL_RUBRIC, ticks(["A1"], None), ticks(["A9"], None))


def test_no_pairs_gives_no_figures():
    assert agreement_summary([]) == {
        "pairs": 0,
        "exact": None,
        "within_one": None,
        "kappa_quadratic": None,
    }


def test_one_category_only_leaves_kappa_undefined():
    summary = agreement_summary([("good", "good")] * 3)
    assert summary == {"pairs": 3, "exact": 1.0, "within_one": 1.0, "kappa_quadratic": None}


def test_figures_match_a_worked_example():
    # Grades as numbers O=0, G=1, RI=2, I=3: pairs (0,0) (1,1) (1,2) (3,2).
    # Observed weighted disagreement (0+0+1+1)/4 = 1/2. Margins: first {0:1, 1:2, 3:1},
    # second {0:1, 1:1, 2:2}; expected Σ a_i b_j (i-j)² / 16 = 30/16. κ = 1 - (1/2)/(30/16)
    # = 1 - 4/15 = 11/15.
    summary = agreement_summary(
        [
            ("outstanding", "outstanding"),
            ("good", "good"),
            ("good", "requires_improvement"),
            ("inadequate", "requires_improvement"),
        ]
    )
    assert summary["pairs"] == 4
    assert summary["exact"] == 0.5
    assert summary["within_one"] == 1.0
    assert summary["kappa_quadratic"] == pytest.approx(11 / 15)


def test_opposite_extremes_give_kappa_minus_one():
    summary = agreement_summary([("outstanding", "inadequate"), ("inadequate", "outstanding")])
    assert summary["exact"] == 0.0
    assert summary["within_one"] == 0.0
    assert summary["kappa_quadratic"] == pytest.approx(-1.0)


def test_an_unknown_grade_is_refused():
    with pytest.raises(ValueError, match="excellent"):
        agreement_summary([("good", "excellent")])


grade_pairs = st.lists(st.tuples(st.sampled_from(GRADES), st.sampled_from(GRADES)), max_size=40)


@given(grade_pairs)
def test_kappa_is_symmetric_and_never_above_one(pairs):
    summary = agreement_summary(pairs)
    swapped = agreement_summary([(b, a) for a, b in pairs])
    for figure in ("pairs", "exact", "within_one"):
        assert summary[figure] == swapped[figure]
    if summary["kappa_quadratic"] is None:
        assert swapped["kappa_quadratic"] is None
    else:
        assert summary["kappa_quadratic"] == pytest.approx(swapped["kappa_quadratic"])
    if summary["kappa_quadratic"] is not None:
        assert summary["kappa_quadratic"] <= 1 + 1e-9
    if pairs:
        assert 0 <= summary["exact"] <= summary["within_one"] <= 1


@given(st.lists(st.sampled_from(GRADES), min_size=1, max_size=30))
def test_full_agreement_gives_kappa_one_unless_one_category(grades):
    summary = agreement_summary([(grade, grade) for grade in grades])
    assert summary["exact"] == 1.0
    if len(set(grades)) > 1:
        assert summary["kappa_quadratic"] == pytest.approx(1.0)
    else:
        assert summary["kappa_quadratic"] is None
