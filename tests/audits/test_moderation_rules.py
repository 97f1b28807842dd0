"""The moderation queue rules and what a decision says, as plain functions."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.audits.moderation_rules import (
    grade_change,
    in_moderation_sample,
    moderation_outcome,
    moderation_reasons,
)
from portal.framework.rubric import GRADES


@pytest.mark.parametrize(
    ("grades", "double", "sample", "expected"),
    [
        ([], False, True, []),
        (["good"], False, False, []),
        (["requires_improvement"], False, False, ["weak_grade"]),
        (["inadequate"], False, True, ["weak_grade"]),
        # A double-audited plan waits for its second audit, unless the first is weak.
        (["good"], True, True, []),
        (["inadequate"], True, False, ["weak_grade"]),
        (["good", "good"], True, False, ["double_audited"]),
        (["good", "inadequate"], True, False, ["weak_grade", "double_audited"]),
        # The random cross-section is of the rest.
        (["outstanding"], False, True, ["random_sample"]),
        (["good", "outstanding"], True, True, ["double_audited"]),
    ],
)
def test_queue_reasons(grades, double, sample, expected):
    assert moderation_reasons(grades=grades, double_audit=double, in_sample=sample) == expected


def test_the_random_sample_is_reproducible_and_near_its_share():
    ids = [f"EHC-{n:06d}" for n in range(4000)]
    first = [in_moderation_sample(2026, system_id, "0.1") for system_id in ids]
    assert first == [in_moderation_sample(2026, system_id, "0.1") for system_id in ids]
    assert 300 < sum(first) < 500
    # Another cycle's seed draws other plans; nothing is drawn at share 0, everything at 1.
    other = [in_moderation_sample(7, system_id, "0.1") for system_id in ids]
    assert other != first
    assert not any(in_moderation_sample(2026, system_id, 0) for system_id in ids[:100])
    assert all(in_moderation_sample(2026, system_id, 1) for system_id in ids[:100])


@given(st.integers(min_value=0, max_value=2**31), st.text(min_size=1, max_size=20))
def test_a_larger_share_never_drops_a_plan_drawn_at_a_smaller_one(seed, system_id):
    if in_moderation_sample(seed, system_id, "0.2"):
        assert in_moderation_sample(seed, system_id, "0.5")


def test_outcome_is_confirmed_only_when_it_is_every_auditors_grade():
    assert moderation_outcome("good", ["good"]) == "confirmed"
    assert moderation_outcome("good", ["good", "good"]) == "confirmed"
    assert moderation_outcome("good", ["good", "requires_improvement"]) == "changed"
    assert moderation_outcome("outstanding", ["good"]) == "changed"


def test_grade_change_direction():
    assert grade_change("good", "good", GRADES) == "same"
    assert grade_change("requires_improvement", "good", GRADES) == "raised"
    assert grade_change("outstanding", "inadequate", GRADES) == "lowered"
