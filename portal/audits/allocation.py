"""Sharing a cycle's plans among auditors: each plan to one auditor (two different ones when
it is double-audited), never to an auditor with a conflict on it, and the load (counting the
work auditors already have) as even as the conflicts allow. Plain data in and out: plans and
auditors are sortable identifiers such as primary keys, and the result is the same every time
for the same input."""

from collections import defaultdict
from typing import NamedTuple

NO_ELIGIBLE_AUDITOR = (
    "Not assigned: every chosen auditor has declared a conflict with this plan or already has "
    "it. Choose another auditor."
)
NO_SECOND_AUDITOR = (
    "Only one chosen auditor is free to audit this plan, so it went to them; it is to be "
    "double-audited and still needs a second auditor."
)


class Allocation(NamedTuple):
    """`pairs`: (plan, auditor) to assign, sorted. `uncovered`: (plan, message) for each plan
    that did not get all the auditors it needs, sorted by plan."""

    pairs: list
    uncovered: list


def _rebalance(assigned, eligible, load):
    """Move single plans from busier to quieter auditors while that evens the load: at the
    end no auditor has a plan that an eligible auditor with two fewer could take instead.
    Every move lowers the sum of squared loads, so this stops."""
    moved = True
    while moved:
        moved = False
        for plan in sorted(assigned):
            for index, auditor in enumerate(assigned[plan]):
                others = set(assigned[plan])
                candidates = [
                    other
                    for other in eligible[plan]
                    if other not in others and load[other] <= load[auditor] - 2
                ]
                if not candidates:
                    continue
                quietest = min(candidates, key=lambda other: (load[other], other))
                assigned[plan][index] = quietest
                load[auditor] -= 1
                load[quietest] += 1
                moved = True


def allocate(plans, auditors, *, double=frozenset(), conflicts=frozenset(), existing_load=None):
    """Give every plan in `plans` to one of `auditors` (plans in `double` to two different
    ones), never an (auditor, plan) pair in `conflicts`, evening out each auditor's total
    with `existing_load` ({auditor: open assignments}). The most constrained plans are
    placed first, then single plans move to quieter auditors while that evens the load."""
    plans = sorted(set(plans))
    auditors = sorted(set(auditors))
    double = set(double)
    conflicts = set(conflicts)
    existing_load = existing_load or {}
    load = {auditor: existing_load.get(auditor, 0) for auditor in auditors}
    eligible = {
        plan: [auditor for auditor in auditors if (auditor, plan) not in conflicts]
        for plan in plans
    }
    needed = {plan: 2 if plan in double else 1 for plan in plans}

    assigned = defaultdict(list)
    uncovered = []
    # Plans with the fewest free auditors (relative to what they need) go first, while
    # those auditors still have room.
    for plan in sorted(plans, key=lambda plan: (len(eligible[plan]) - needed[plan], plan)):
        if not eligible[plan]:
            uncovered.append((plan, NO_ELIGIBLE_AUDITOR))
            continue
        chosen = sorted(eligible[plan], key=lambda auditor: (load[auditor], auditor))
        chosen = chosen[: needed[plan]]
        for auditor in chosen:
            load[auditor] += 1
        assigned[plan] = chosen
        if len(chosen) < needed[plan]:
            uncovered.append((plan, NO_SECOND_AUDITOR))

    _rebalance(assigned, eligible, load)
    pairs = sorted((plan, auditor) for plan, chosen in assigned.items() for auditor in chosen)
    return Allocation(pairs, sorted(uncovered))
