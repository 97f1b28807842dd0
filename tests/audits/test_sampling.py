"""Sampling a cycle's plans: reproducible from the seed whatever order the register comes in,
the exact sample size, strata kept within one plan of their proportional share, and the
double-audit share rounded to the nearest plan."""

from collections import Counter, namedtuple
from decimal import Decimal
from fractions import Fraction
from math import floor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.audits.sampling import (
    DOUBLE_SHARE_OUT_OF_RANGE,
    DUPLICATE_SYSTEM_ID,
    PLAN_WITHOUT_ATTRIBUTE,
    SEED_MISSING,
    SHARE_OUT_OF_RANGE,
    SIZE_LARGER_THAN_POPULATION,
    SIZE_NOT_A_WHOLE_NUMBER,
    SIZE_OR_SHARE,
    STRATIFY_ATTRIBUTES,
    UNKNOWN_STRATIFICATION,
    draw_sample,
)

KEY_STAGES = ["EY", "KS1", "KS2", "KS3", "KS4", "KS5", "POST19"]
NEEDS = ["ASD", "SLCN", "SEMH", "MLD", "SPLD"]
LOCALITIES = ["North", "South", "East", "West", "Central"]
Plan = namedtuple("Plan", "system_id key_stage primary_need locality")


def plan(number, key_stage="KS2", primary_need="ASD", locality="North"):
    return {
        "system_id": f"EHC-{number:06d}",
        "key_stage": key_stage,
        "primary_need": primary_need,
        "locality": locality,
    }


@st.composite
def registers(draw, min_size=0, max_size=60):
    numbers = draw(st.sets(st.integers(0, 999_999), min_size=min_size, max_size=max_size))
    return [
        plan(
            number,
            draw(st.sampled_from(KEY_STAGES[:4])),
            draw(st.sampled_from(NEEDS)),
            draw(st.sampled_from(LOCALITIES[:3])),
        )
        for number in sorted(numbers)
    ]


stratifications = st.lists(st.sampled_from(STRATIFY_ATTRIBUTES), unique=True, max_size=3)
seeds = st.integers(0, 2**31 - 1)
shares = st.fractions(min_value=0, max_value=1, max_denominator=1000)


def round_half_up(value):
    return floor(Fraction(value) + Fraction(1, 2))


@st.composite
def sample_cases(draw):
    register = draw(registers())
    size = draw(st.integers(0, len(register)))
    return register, size, draw(stratifications), draw(shares), draw(seeds)


@given(sample_cases())
def test_the_same_seed_draws_the_same_sample(case):
    register, size, stratify_by, double_share, seed = case
    rules = {"size": size, "stratify_by": stratify_by, "double_share": double_share}
    assert draw_sample(register, **rules, seed=seed) == draw_sample(
        [dict(row) for row in register], **rules, seed=seed
    )


@given(sample_cases(), st.randoms(use_true_random=False))
def test_the_order_of_the_register_makes_no_difference(case, shuffler):
    register, size, stratify_by, double_share, seed = case
    shuffled = list(register)
    shuffler.shuffle(shuffled)
    rules = {"size": size, "stratify_by": stratify_by, "double_share": double_share}
    assert draw_sample(shuffled, **rules, seed=seed) == draw_sample(register, **rules, seed=seed)


@given(sample_cases())
def test_the_sample_has_exactly_the_size_asked_for_drawn_from_the_register(case):
    register, size, stratify_by, _, seed = case
    sample = draw_sample(register, size=size, stratify_by=stratify_by, seed=seed)
    assert len(sample.system_ids) == size
    assert len(set(sample.system_ids)) == size
    assert set(sample.system_ids) <= {row["system_id"] for row in register}
    assert list(sample.system_ids) == sorted(sample.system_ids)


@given(registers(), shares, seeds)
def test_a_share_of_the_register_is_rounded_to_the_nearest_plan(register, share, seed):
    sample = draw_sample(register, share=share, seed=seed)
    assert len(sample.system_ids) == round_half_up(share * len(register))


@given(sample_cases())
def test_every_stratum_is_within_one_plan_of_its_proportional_share(case):
    register, size, stratify_by, _, seed = case
    sample = draw_sample(register, size=size, stratify_by=stratify_by, seed=seed)

    def stratum(row):
        return tuple(row[attribute] for attribute in stratify_by)

    population = Counter(stratum(row) for row in register)
    chosen = set(sample.system_ids)
    drawn = Counter(stratum(row) for row in register if row["system_id"] in chosen)
    for key, count in population.items():
        exact = Fraction(size * count, len(register))
        assert abs(drawn[key] - exact) < 1, (key, drawn[key], exact)


@given(sample_cases())
def test_the_double_audit_share_of_the_sample_is_rounded_to_the_nearest_plan(case):
    register, size, stratify_by, double_share, seed = case
    sample = draw_sample(
        register, size=size, stratify_by=stratify_by, double_share=double_share, seed=seed
    )
    assert len(sample.double_audited) == round_half_up(double_share * size)
    assert set(sample.double_audited) <= set(sample.system_ids)
    assert list(sample.double_audited) == sorted(sample.double_audited)


@given(sample_cases())
def test_changing_the_double_audit_share_never_changes_the_sample(case):
    register, size, stratify_by, double_share, seed = case
    rules = {"size": size, "stratify_by": stratify_by}
    assert (
        draw_sample(register, **rules, double_share=double_share, seed=seed).system_ids
        == draw_sample(register, **rules, seed=seed).system_ids
    )


def test_strata_in_whole_proportion_get_exactly_their_share():
    register = [plan(n, key_stage="KS1") for n in range(60)]
    register += [plan(n, key_stage="KS4") for n in range(60, 100)]
    sample = draw_sample(register, size=10, stratify_by=["key_stage"], seed=7)
    ks1 = [system_id for system_id in sample.system_ids if int(system_id[4:]) < 60]
    assert len(ks1) == 6
    assert len(sample.system_ids) == 10


def test_leftover_plans_go_to_the_strata_with_the_largest_remainders():
    # Exact shares 2.5, 1.75 and 0.75 of a sample of 5: floors 2, 1, 0 leave 2 plans over,
    # for the remainders 0.75 (KS2 and KS3) ahead of 0.5 (KS1).
    register = [plan(n, key_stage="KS1") for n in range(10)]
    register += [plan(n, key_stage="KS2") for n in range(10, 17)]
    register += [plan(n, key_stage="KS3") for n in range(17, 20)]
    by_id = {row["system_id"]: row["key_stage"] for row in register}
    for seed in range(20):
        sample = draw_sample(register, size=5, stratify_by=["key_stage"], seed=seed)
        counts = Counter(by_id[system_id] for system_id in sample.system_ids)
        assert counts == {"KS1": 2, "KS2": 2, "KS3": 1}


def test_different_seeds_draw_different_samples():
    register = [plan(n) for n in range(200)]
    samples = {draw_sample(register, size=20, seed=seed).system_ids for seed in range(5)}
    assert len(samples) == 5


def test_plans_may_be_objects_and_a_share_may_be_a_stored_decimal():
    rows = [plan(n, key_stage=KEY_STAGES[n % 3]) for n in range(30)]
    objects = [Plan(**row) for row in rows]
    rules = {"share": Decimal("0.2000"), "stratify_by": ["key_stage"], "double_share": 0.5}
    from_objects = draw_sample(objects, **rules, seed=11)
    assert from_objects == draw_sample(rows, **rules, seed=11)
    assert len(from_objects.system_ids) == 6
    assert len(from_objects.double_audited) == 3


def test_a_half_plan_rounds_up():
    register = [plan(n) for n in range(5)]
    assert len(draw_sample(register, share=Fraction(1, 2), seed=1).system_ids) == 3
    sample = draw_sample(register, size=3, double_share=Fraction(1, 2), seed=1)
    assert len(sample.double_audited) == 2
    assert len(draw_sample(register, size=3, double_share=0.1, seed=1).double_audited) == 0


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({}, SIZE_OR_SHARE),
        ({"size": 2, "share": 0.5}, SIZE_OR_SHARE),
        ({"size": -1}, SIZE_NOT_A_WHOLE_NUMBER),
        ({"size": 2.5}, SIZE_NOT_A_WHOLE_NUMBER),
        ({"size": 4}, SIZE_LARGER_THAN_POPULATION.format(size=4, population=3)),
        ({"share": 1.5}, SHARE_OUT_OF_RANGE),
        ({"share": -0.1}, SHARE_OUT_OF_RANGE),
        ({"share": "a lot"}, SHARE_OUT_OF_RANGE),
        ({"size": 1, "stratify_by": ["date_issued"]}, "“date_issued”"),
        ({"size": 1, "stratify_by": "setting_type"}, "“setting_type”"),
        ({"size": 1, "double_share": 2}, DOUBLE_SHARE_OUT_OF_RANGE),
        ({"size": 1, "double_share": -1}, DOUBLE_SHARE_OUT_OF_RANGE),
    ],
)
def test_bad_sample_rules_are_refused_with_a_message(rules, message):
    with pytest.raises(ValueError) as error:
        draw_sample([plan(1), plan(2), plan(3)], **rules, seed=1)
    assert message in str(error.value)


def test_a_sample_without_a_seed_is_refused():
    with pytest.raises(ValueError, match=SEED_MISSING):
        draw_sample([plan(1)], size=1, seed=None)


def test_an_unknown_stratification_names_the_attribute_and_the_choices():
    with pytest.raises(ValueError) as error:
        draw_sample([plan(1)], size=1, stratify_by=["setting_type"], seed=1)
    assert str(error.value) == UNKNOWN_STRATIFICATION.format(attribute="setting_type")


def test_a_register_with_a_repeated_or_incomplete_plan_is_refused():
    with pytest.raises(ValueError, match=DUPLICATE_SYSTEM_ID.format(system_id="EHC-000001")):
        draw_sample([plan(1), plan(1)], size=1, seed=1)
    incomplete = [plan(1), {"system_id": "EHC-000002", "key_stage": "KS1"}]
    with pytest.raises(ValueError) as error:
        draw_sample(incomplete, size=1, stratify_by=["locality"], seed=1)
    assert str(error.value) == PLAN_WITHOUT_ATTRIBUTE.format(
        system_id="EHC-000002", attribute="locality"
    )
