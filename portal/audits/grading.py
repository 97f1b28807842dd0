"""The grading rule (DESIGN.md): section and overall grades derived from ticked criteria, in
exact fractions. Plain data in and out, in the rubric and grading interchange format."""

from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from math import gcd, lcm

from portal.framework.rubric import GRADES, THRESHOLD_GRADES, validate_rubric

TICKS_NOT_AN_OBJECT = "The ticks must be a JSON object with “sections”."
SECTION_TICKS_NOT_AN_OBJECT = (
    "The ticks for section {key} must be an object with “met” (a list of criterion keys) "
    "and, where allowed, “not_applicable”."
)
UNKNOWN_TICKS_FIELD = "The ticks have an unknown field “{field}”; only “sections” is allowed."
UNKNOWN_TICK_FIELD = "The ticks for section {key} have an unknown field “{field}”."
UNKNOWN_SECTION_TICKED = "The ticks name section “{key}”, which this rubric does not have."
MET_NOT_A_LIST = "The criteria met in section {key} must be a list of criterion keys."
UNKNOWN_CRITERION_TICKED = (
    "Criterion “{criterion}” is ticked in section {key}, but it is not one of that section's "
    "criteria in this rubric."
)
NOT_APPLICABLE_NOT_A_FLAG = "Section {key}: “not_applicable” must be true or false."
NOT_APPLICABLE_NOT_ALLOWED = "Section {key} cannot be marked not applicable under this rubric."
NOT_APPLICABLE_WITH_TICKS = (
    "Section {key} is marked not applicable but has criteria ticked; it must be one or the other."
)
EVERY_SECTION_NOT_APPLICABLE = (
    "Every section is marked not applicable; at least one section must be graded."
)
TICK_FIELDS = {"met", "not_applicable"}
REQUIRES_IMPROVEMENT = GRADES.index("requires_improvement")


def _at_best_requires_improvement(grade):
    return GRADES[max(GRADES.index(grade), REQUIRES_IMPROVEMENT)]


def _score_string(numerator, denominator):
    common = gcd(numerator, denominator)
    return _reduced_score_string(numerator // common, denominator // common)


@lru_cache(maxsize=4096)
def _reduced_score_string(numerator, denominator):
    # Integer division, not a Decimal context: a context's precision would round a long
    # fraction (weights are unbounded), showing a score just under a threshold as reaching it.
    rest, places = denominator, {2: 0, 5: 0}
    for factor in places:
        while rest % factor == 0:
            rest //= factor
            places[factor] += 1
    terminates = rest == 1
    digits = max(places.values()) if terminates else 4
    whole, fraction = divmod(numerator * 10**digits // denominator, 10**digits)
    fraction = f"{fraction:0{digits}d}" if digits else ""
    if terminates:
        fraction = fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else str(whole)


def score_string(score):
    """The fraction as an exact decimal string where it terminates, otherwise cut (not
    rounded) to four places: thresholds have at most four places, so a cut score is never
    shown reaching a threshold the exact score misses."""
    return _score_string(score.numerator, score.denominator)


class _Section:
    __slots__ = (
        "criteria",
        "essential",
        "key",
        "limiting",
        "may_be_not_applicable",
        "total",
        "weight",
    )

    def __init__(self, section):
        self.key = section["key"]
        self.weight = section["weight"]
        self.limiting = section["limiting"]
        self.may_be_not_applicable = section["may_be_not_applicable"]
        self.criteria = {c["key"]: c["weight"] for c in section["criteria"]}
        self.essential = frozenset(c["key"] for c in section["criteria"] if c["essential"])
        self.total = sum(self.criteria.values())


class RubricGrader:
    """A rubric validated once, for grading many audits made under it."""

    def __init__(self, rubric):
        rubric = validate_rubric(rubric)
        self.thresholds = [
            (grade, Fraction(Decimal(rubric["thresholds"][grade]))) for grade in THRESHOLD_GRADES
        ]
        self.sections = {s["key"]: _Section(s) for s in rubric["sections"]}

    def _grade(self, numerator, denominator):
        # score >= threshold, compared as integers: numerator / denominator >= tn / td.
        for grade, threshold in self.thresholds:
            if numerator * threshold.denominator >= threshold.numerator * denominator:
                return grade
        return "inadequate"

    def _ticked(self, ticks):
        """Check the ticks against the rubric: {section key: (met keys, not applicable)}."""
        if not isinstance(ticks, dict) or not isinstance(ticks.get("sections", {}), dict):
            raise ValueError(TICKS_NOT_AN_OBJECT)
        for field in ticks.keys() - {"sections"}:
            raise ValueError(UNKNOWN_TICKS_FIELD.format(field=field))
        ticked = {}
        for key, section_ticks in ticks.get("sections", {}).items():
            section = self.sections.get(key)
            if section is None:
                raise ValueError(UNKNOWN_SECTION_TICKED.format(key=key))
            if not isinstance(section_ticks, dict):
                raise ValueError(SECTION_TICKS_NOT_AN_OBJECT.format(key=key))
            for field in section_ticks.keys() - TICK_FIELDS:
                raise ValueError(UNKNOWN_TICK_FIELD.format(key=key, field=field))
            met = section_ticks.get("met", [])
            if not isinstance(met, list):
                raise ValueError(MET_NOT_A_LIST.format(key=key))
            for criterion in met:
                if not isinstance(criterion, str) or criterion not in section.criteria:
                    raise ValueError(UNKNOWN_CRITERION_TICKED.format(criterion=criterion, key=key))
            not_applicable = section_ticks.get("not_applicable", False)
            if not isinstance(not_applicable, bool):
                raise ValueError(NOT_APPLICABLE_NOT_A_FLAG.format(key=key))
            if not_applicable and not section.may_be_not_applicable:
                raise ValueError(NOT_APPLICABLE_NOT_ALLOWED.format(key=key))
            if not_applicable and met:
                raise ValueError(NOT_APPLICABLE_WITH_TICKS.format(key=key))
            ticked[key] = (frozenset(met), not_applicable)
        return ticked

    def grade(self, ticks):
        """Grade one audit's ticks; see grade_audit."""
        ticked = self._ticked(ticks)
        results = {}
        # The overall score is the weighted mean of the section scores met/total; kept as
        # integer numerators over one common denominator so it stays exact without a
        # Fraction per section.
        applicable = []
        limiting_inadequate = False
        for key, section in self.sections.items():
            met, not_applicable = ticked.get(key, (frozenset(), False))
            if not_applicable:
                results[key] = {"not_applicable": True, "grade": None}
                continue
            met_weight = sum(section.criteria[c] for c in met)
            grade = self._grade(met_weight, section.total)
            if not section.essential <= met:
                grade = _at_best_requires_improvement(grade)
            limiting_inadequate |= section.limiting and grade == "inadequate"
            results[key] = {"score": _score_string(met_weight, section.total), "grade": grade}
            applicable.append((section.weight, met_weight, section.total))
        if not applicable:
            raise ValueError(EVERY_SECTION_NOT_APPLICABLE)
        common = lcm(*(total for _, _, total in applicable))
        numerator = sum(weight * met * (common // total) for weight, met, total in applicable)
        denominator = common * sum(weight for weight, _, _ in applicable)
        overall_grade = self._grade(numerator, denominator)
        if limiting_inadequate:
            overall_grade = _at_best_requires_improvement(overall_grade)
        return {
            "overall": {"score": _score_string(numerator, denominator), "grade": overall_grade},
            "sections": results,
        }


def grade_audit(rubric, ticks):
    """Grade one audit: the rubric and the ticks in the interchange format; returns
    {"overall": {"score", "grade"}, "sections": {key: {"score", "grade"} or
    {"not_applicable": true, "grade": null}}}. Raises ValueError on bad input."""
    return RubricGrader(rubric).grade(ticks)
