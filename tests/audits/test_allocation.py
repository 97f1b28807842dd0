"""Sharing plans among auditors: never to an auditor with a conflict, two different auditors
for a double-audited plan, every plan covered or reported, and the load as even as the
conflicts allow."""

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from portal.audits.allocation import NO_ELIGIBLE_AUDITOR, NO_SECOND_AUDITOR, allocate


@st.composite
def cases(draw, with_conflicts=True, even_start=False):
    plans = draw(st.lists(st.integers(1, 500), unique=True, max_size=40))
    auditors = draw(st.lists(st.integers(1000, 1050), unique=True, max_size=8))
    double = draw(st.sets(st.sampled_from(plans))) if plans else set()
    conflicts = set()
    if with_conflicts and plans and auditors:
        conflicts = draw(
            st.sets(st.tuples(st.sampled_from(auditors), st.sampled_from(plans)), max_size=80)
        )
    if even_start:
        base = draw(st.integers(0, 5))
        existing = {auditor: base + draw(st.integers(0, 1)) for auditor in auditors}
    else:
        existing = {auditor: draw(st.integers(0, 6)) for auditor in auditors}
    return plans, auditors, double, conflicts, existing


def run(case):
    plans, auditors, double, conflicts, existing = case
    return allocate(plans, auditors, double=double, conflicts=conflicts, existing_load=existing)


def totals(case, result):
    _, auditors, _, _, existing = case
    load = Counter({auditor: existing.get(auditor, 0) for auditor in auditors})
    load.update(auditor for _, auditor in result.pairs)
    return load


@given(cases())
def test_no_plan_goes_to_an_auditor_with_a_conflict(case):
    _, _, _, conflicts, _ = case
    assert not {(auditor, plan) for plan, auditor in run(case).pairs} & conflicts


@given(cases())
def test_every_plan_gets_the_auditors_it_needs_or_is_reported(case):
    plans, auditors, double, conflicts, _ = case
    result = run(case)
    given_to = Counter(plan for plan, _ in result.pairs)
    uncovered = dict(result.uncovered)
    assert len(uncovered) == len(result.uncovered)
    for plan in plans:
        eligible = [auditor for auditor in auditors if (auditor, plan) not in conflicts]
        needed = 2 if plan in double else 1
        if not eligible:
            assert given_to[plan] == 0
            assert uncovered[plan] == NO_ELIGIBLE_AUDITOR
        elif len(eligible) < needed:
            assert given_to[plan] == 1
            assert uncovered[plan] == NO_SECOND_AUDITOR
        else:
            assert given_to[plan] == needed
            assert plan not in uncovered


@given(cases())
def test_a_double_audited_plan_goes_to_two_different_auditors(case):
    _, _, double, _, _ = case
    result = run(case)
    assert len(set(result.pairs)) == len(result.pairs)
    for plan in double:
        auditors = [auditor for p, auditor in result.pairs if p == plan]
        assert len(auditors) == len(set(auditors))


@given(cases(with_conflicts=False, even_start=True))
def test_without_conflicts_every_auditor_ends_within_one_plan_of_every_other(case):
    load = totals(case, run(case))
    if load:
        assert max(load.values()) - min(load.values()) <= 1


@given(cases(with_conflicts=False))
def test_without_conflicts_new_plans_go_to_the_least_loaded_auditors(case):
    result = run(case)
    load = totals(case, result)
    single = {plan for plan, _ in result.pairs} - case[2]
    for plan, auditor in result.pairs:
        if plan in single and load:
            assert load[auditor] <= min(load.values()) + 1


@given(cases())
def test_no_auditor_keeps_a_plan_an_eligible_auditor_with_two_fewer_could_take(case):
    _, auditors, _, conflicts, _ = case
    result = run(case)
    load = totals(case, result)
    holders = {}
    for plan, auditor in result.pairs:
        holders.setdefault(plan, set()).add(auditor)
    for plan, auditor in result.pairs:
        for other in auditors:
            if other not in holders[plan] and (other, plan) not in conflicts:
                assert load[other] >= load[auditor] - 1


@given(cases(), st.randoms(use_true_random=False))
def test_the_allocation_is_the_same_whatever_order_things_come_in(case, shuffler):
    plans, auditors, double, conflicts, existing = case
    plans, auditors = list(plans), list(auditors)
    shuffler.shuffle(plans)
    shuffler.shuffle(auditors)
    assert run((plans, auditors, double, conflicts, existing)) == run(case)


def test_existing_work_is_counted():
    result = allocate(range(1, 7), ["ali", "bea", "cat"], existing_load={"ali": 3})
    assert Counter(auditor for _, auditor in result.pairs) == {"bea": 3, "cat": 3}


def test_the_only_free_auditor_of_a_plan_gets_it_and_others_balance_around_it():
    # Plan 1 can only go to "cat"; placing it first keeps cat's load level with the rest.
    conflicts = {("ali", 1), ("bea", 1)}
    result = allocate([1, 2, 3, 4, 5, 6], ["ali", "bea", "cat"], conflicts=conflicts)
    assert (1, "cat") in result.pairs
    assert Counter(auditor for _, auditor in result.pairs) == {"ali": 2, "bea": 2, "cat": 2}
    assert result.uncovered == []


def test_a_plan_nobody_can_take_is_reported_not_skipped():
    result = allocate(
        [1, 2],
        ["ali", "bea"],
        double={2},
        conflicts={("ali", 1), ("bea", 1), ("ali", 2)},
    )
    assert result.pairs == [(2, "bea")]
    assert result.uncovered == [(1, NO_ELIGIBLE_AUDITOR), (2, NO_SECOND_AUDITOR)]


def test_with_no_auditors_every_plan_is_reported():
    result = allocate([1, 2], [])
    assert result.pairs == []
    assert result.uncovered == [(1, NO_ELIGIBLE_AUDITOR), (2, NO_ELIGIBLE_AUDITOR)]
