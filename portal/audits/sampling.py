"""Drawing a cycle's sample of plans: a fixed size or share of the eligible plans, optionally
kept in proportion by key stage, primary need or locality, with a share of the sample picked
for double audit. Plain data in and out; the same plans and seed always give the same sample.

Rounding: a share of plans (of the population for the sample, of the sample for double
audit) is rounded to the nearest whole plan, a half rounding up. Strata get their exact
proportional share of the sample rounded down, and the plans left over go to the strata with
the largest remainders (ties broken by the seed), so each stratum is less than one plan away
from its exact share and the strata add up to the sample size."""

import random
from collections.abc import Mapping
from fractions import Fraction
from math import floor
from typing import NamedTuple

STRATIFY_ATTRIBUTES = ("key_stage", "primary_need", "locality")

SIZE_OR_SHARE = "Give either a sample size or a sample share, not both and not neither."
SIZE_NOT_A_WHOLE_NUMBER = "The sample size must be a whole number of plans, zero or more."
SIZE_LARGER_THAN_POPULATION = (
    "The sample size ({size}) is larger than the number of eligible plans ({population})."
)
SHARE_OUT_OF_RANGE = "The sample share must be between 0 and 1 (for example 0.1 for 10%)."
UNKNOWN_STRATIFICATION = (
    "Plans cannot be kept in proportion by “{attribute}”: choose from key stage "
    "(key_stage), primary need (primary_need) and locality (locality)."
)
DOUBLE_SHARE_OUT_OF_RANGE = (
    "The share double-audited must be between 0 and 1 (for example 0.2 for 20%)."
)
SEED_MISSING = "A sample needs a seed, so that drawing it again gives the same plans."
PLAN_WITHOUT_SYSTEM_ID = "Every plan needs a system ID to be sampled."
DUPLICATE_SYSTEM_ID = "Plan {system_id} appears more than once in the plans to sample from."
PLAN_WITHOUT_ATTRIBUTE = "Plan {system_id} has no {attribute}, so it cannot be stratified by it."


class Sample(NamedTuple):
    """The system IDs drawn, and those of them to be double-audited, each sorted."""

    system_ids: tuple
    double_audited: tuple


def _value(plan, name):
    if isinstance(plan, Mapping):
        return plan.get(name)
    return getattr(plan, name, None)


def _fraction(value):
    # A float's decimal spelling (0.1), not its binary approximation.
    return Fraction(repr(value)) if isinstance(value, float) else Fraction(value)


def _round_half_up(value):
    return floor(value + Fraction(1, 2))


def _share(value, message):
    if isinstance(value, bool):
        raise ValueError(message)
    try:
        share = _fraction(value)
    except (TypeError, ValueError, ZeroDivisionError):
        raise ValueError(message) from None
    if not 0 <= share <= 1:
        raise ValueError(message)
    return share


def _stratify_attributes(stratify_by):
    if isinstance(stratify_by, str):
        stratify_by = (stratify_by,)
    attributes = []
    for attribute in stratify_by or ():
        if attribute not in STRATIFY_ATTRIBUTES:
            raise ValueError(UNKNOWN_STRATIFICATION.format(attribute=attribute))
        if attribute not in attributes:
            attributes.append(attribute)
    return attributes


def _sorted_plans(plans):
    by_id = {}
    for plan in plans:
        system_id = _value(plan, "system_id")
        if system_id is None or system_id == "":
            raise ValueError(PLAN_WITHOUT_SYSTEM_ID)
        if system_id in by_id:
            raise ValueError(DUPLICATE_SYSTEM_ID.format(system_id=system_id))
        by_id[system_id] = plan
    return [(system_id, by_id[system_id]) for system_id in sorted(by_id)]


def _sample_size(population, size, share):
    if (size is None) == (share is None):
        raise ValueError(SIZE_OR_SHARE)
    if share is not None:
        return _round_half_up(_share(share, SHARE_OUT_OF_RANGE) * population)
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ValueError(SIZE_NOT_A_WHOLE_NUMBER)
    if size > population:
        raise ValueError(SIZE_LARGER_THAN_POPULATION.format(size=size, population=population))
    return size


def stratum_quotas(stratum_sizes, size, rng):
    """How many plans to draw from each stratum (a list of stratum sizes, in a fixed order):
    the largest-remainder allocation of `size` in proportion to the stratum sizes."""
    population = sum(stratum_sizes)
    if population == 0:
        return [0] * len(stratum_sizes)
    exact = [Fraction(size * count, population) for count in stratum_sizes]
    quotas = [floor(share) for share in exact]
    left_over = size - sum(quotas)
    order = list(range(len(stratum_sizes)))
    rng.shuffle(order)  # ties between equal remainders go the seed's way, not the first name's
    order.sort(key=lambda index: exact[index] - quotas[index], reverse=True)
    for index in order[:left_over]:
        quotas[index] += 1
    return quotas


def draw_sample(plans, *, size=None, share=None, stratify_by=(), double_share=0, seed):
    """Draw `size` plans (or `share` of them) from `plans` (dicts or objects with a
    system_id and the attributes named in `stratify_by`), keeping each stratum in
    proportion, then pick `double_share` of the sample for double audit. Only the seed
    decides the draw: the order the plans come in makes no difference. Raises ValueError
    with one of this module's messages on bad rules."""
    if seed is None:
        raise ValueError(SEED_MISSING)
    attributes = _stratify_attributes(stratify_by)
    double = _share(double_share, DOUBLE_SHARE_OUT_OF_RANGE)
    ordered = _sorted_plans(plans)
    sample_size = _sample_size(len(ordered), size, share)

    strata = {}
    for system_id, plan in ordered:
        key = []
        for attribute in attributes:
            value = _value(plan, attribute)
            if value is None or value == "":
                raise ValueError(
                    PLAN_WITHOUT_ATTRIBUTE.format(system_id=system_id, attribute=attribute)
                )
            key.append(str(value))
        strata.setdefault(tuple(key), []).append(system_id)
    keys = sorted(strata)

    rng = random.Random(seed)  # noqa: S311 - reproducible sampling, not security
    quotas = stratum_quotas([len(strata[key]) for key in keys], sample_size, rng)
    chosen = []
    for key, quota in zip(keys, quotas, strict=True):
        chosen.extend(rng.sample(strata[key], quota))
    chosen.sort()
    # Drawn after the sample, so changing the double-audit share never changes the sample.
    doubles = rng.sample(chosen, _round_half_up(double * len(chosen)))
    return Sample(tuple(chosen), tuple(sorted(doubles)))
