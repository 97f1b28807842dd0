"""Agreement between judgements, shared by moderation and training calibration: how closely
two sets of ticks of one plan agree, criterion by criterion and grade by grade, and how two
lists of overall grades agree (exact, within one grade, quadratic-weighted Cohen's kappa).
Plain data in and out, in the rubric and grading interchange format."""

from fractions import Fraction

from portal.framework.rubric import GRADES

from .grading import RubricGrader


def _criterion_states(section, ticked):
    """{criterion key: "met" | "not_met" | "not_applicable"} for one section's ticks."""
    if ticked.get("not_applicable"):
        return dict.fromkeys((c["key"] for c in section["criteria"]), "not_applicable")
    met = set(ticked.get("met", []))
    return {c["key"]: ("met" if c["key"] in met else "not_met") for c in section["criteria"]}


def ticks_comparison(rubric, reference_ticks, ticks):
    """Compare `ticks` with `reference_ticks` under one rubric (both are graded by it, so bad
    ticks raise ValueError as grading does). A criterion agrees when both tick it, or both
    leave it unticked. A section both mark not applicable has nothing to compare and is left
    out of the criterion count (it still counts as a section graded alike); where only one
    marks it not applicable, each of its criteria is a disagreement, as the other judged the
    section and the criteria were weighed. Returns criteria agreed and compared, the
    agreement as a Fraction (None when nothing was compared), sections matched, the overall
    grades, and per section the grades and the criteria judged differently."""
    grader = RubricGrader(rubric)
    reference = grader.grade(reference_ticks)
    result = grader.grade(ticks)
    reference_sections = reference_ticks.get("sections", {})
    sections_ticked = ticks.get("sections", {})
    agreed = compared = sections_matched = 0
    sections = []
    for section in rubric["sections"]:
        key = section["key"]
        expected = _criterion_states(section, reference_sections.get(key, {}))
        given = _criterion_states(section, sections_ticked.get(key, {}))
        both_not_applicable = reference["sections"][key].get("not_applicable") and result[
            "sections"
        ][key].get("not_applicable")
        differences = []
        if not both_not_applicable:
            for criterion in section["criteria"]:
                compared += 1
                if expected[criterion["key"]] == given[criterion["key"]]:
                    agreed += 1
                else:
                    differences.append(
                        {
                            "key": criterion["key"],
                            "text": criterion["text"],
                            "guidance": criterion.get("guidance", ""),
                            "essential": criterion["essential"],
                            "reference": expected[criterion["key"]],
                            "given": given[criterion["key"]],
                        }
                    )
        reference_grade = reference["sections"][key]["grade"]
        grade = result["sections"][key]["grade"]
        matched = reference_grade == grade and bool(
            reference["sections"][key].get("not_applicable")
        ) == bool(result["sections"][key].get("not_applicable"))
        sections_matched += matched
        sections.append(
            {
                "key": key,
                "title": section["title"],
                "reference_grade": reference_grade,
                "grade": grade,
                "matched": matched,
                "differences": differences,
            }
        )
    return {
        "criteria_agreed": agreed,
        "criteria_compared": compared,
        "criterion_agreement": Fraction(agreed, compared) if compared else None,
        "sections_matched": sections_matched,
        "sections_total": len(sections),
        "overall": {
            "reference_grade": reference["overall"]["grade"],
            "grade": result["overall"]["grade"],
            "matched": reference["overall"]["grade"] == result["overall"]["grade"],
        },
        "sections": sections,
    }


def agreement_summary(pairs):
    """How pairs of overall grades (grade slugs, e.g. two auditors of one plan) agree:
    `pairs`, the share `exact`ly equal and the share `within_one` grade, and
    `kappa_quadratic`, Cohen's kappa with quadratic weights over the four grades. Shares
    are None without pairs; kappa is None where it is undefined (no pairs, or every grade
    given in one category so no disagreement could be expected by chance)."""
    pairs = list(pairs)
    for a, b in pairs:
        for grade in (a, b):
            if grade not in GRADES:
                raise ValueError(f"“{grade}” is not a grade.")
    count = len(pairs)
    if not count:
        return {"pairs": 0, "exact": None, "within_one": None, "kappa_quadratic": None}
    index = {grade: number for number, grade in enumerate(GRADES)}
    gaps = [abs(index[a] - index[b]) for a, b in pairs]
    exact = Fraction(sum(gap == 0 for gap in gaps), count)
    within_one = Fraction(sum(gap <= 1 for gap in gaps), count)

    categories = len(GRADES)
    first = [0] * categories
    second = [0] * categories
    for a, b in pairs:
        first[index[a]] += 1
        second[index[b]] += 1
    # Weighted disagreement observed, and expected if the two grades were independent with
    # the same margins; weights (i - j)² (the (k - 1)² scale cancels in the ratio).
    observed = Fraction(sum(gap * gap for gap in gaps), count)
    expected = Fraction(
        sum(
            first[i] * second[j] * (i - j) ** 2
            for i in range(categories)
            for j in range(categories)
        ),
        count * count,
    )
    kappa = None if expected == 0 else 1 - observed / expected
    return {
        "pairs": count,
        "exact": float(exact),
        "within_one": float(within_one),
        "kappa_quadratic": None if kappa is None else float(kappa),
    }
