"""Marking training: a knowledge check's answers, and whether a calibration comparison (from
portal.audits.agreement.ticks_comparison) meets the pass rule QA leads set. Plain data in
and out."""

from fractions import Fraction

CHECK_NOT_ANSWERED = "Answer question {number}: choose at least one option."


def check_answers(questions, answers):
    """Mark a knowledge check. `questions`: [{"id", "options": [{"correct": bool}, ...]}];
    `answers`: {question id: [chosen option numbers, from 0]}. A question is right when the
    options chosen are exactly its correct ones. Raises ValueError (CHECK_NOT_ANSWERED) for
    a question with nothing chosen, or an option number it does not have."""
    outcomes = []
    for number, question in enumerate(questions, start=1):
        chosen = answers.get(question["id"]) or []
        options = range(len(question["options"]))
        if not chosen or any(option not in options for option in chosen):
            raise ValueError(CHECK_NOT_ANSWERED.format(number=number))
        correct = {i for i, option in enumerate(question["options"]) if option["correct"]}
        outcomes.append(
            {"id": question["id"], "chosen": sorted(set(chosen)), "right": set(chosen) == correct}
        )
    right = sum(outcome["right"] for outcome in outcomes)
    return {"correct": right, "total": len(outcomes), "outcomes": outcomes}


def check_passed(correct, total, pass_mark):
    """Whether `correct` out of `total` reaches `pass_mark` per cent (exactly, no rounding)."""
    return total > 0 and Fraction(correct, total) >= Fraction(pass_mark, 100)


def percent_down(share):
    """A Fraction as a whole percentage, cut (never rounded up to a pass)."""
    return int(share * 100)


def calibration_passed(comparison, *, min_agreement, overall_must_match):
    """The pass rule: criterion agreement of at least `min_agreement` per cent and, where
    `overall_must_match`, the reference's overall grade."""
    agreement = comparison["criterion_agreement"]
    if agreement is None or agreement < Fraction(min_agreement, 100):
        return False
    return comparison["overall"]["matched"] or not overall_must_match
