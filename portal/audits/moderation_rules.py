"""Which audits are moderated, and what a moderation decision says: the queue rules (weak
grades, double-audited plans once both audits are in, a reproducible random cross-section of
the rest) and the outcome of a moderated grade. Plain data in and out."""

import hashlib
from fractions import Fraction

WEAK_GRADES = ("requires_improvement", "inadequate")
WEAK_GRADE = "weak_grade"
DOUBLE_AUDITED = "double_audited"
RANDOM_SAMPLE = "random_sample"


def in_moderation_sample(seed, system_id, share):
    """Whether a plan falls in its cycle's random moderation sample: a draw from a hash of
    the cycle's seed and the plan's ID, so the same every time and for every process, below
    the share (0 to 1)."""
    share = Fraction(str(share or 0))
    if share <= 0:
        return False
    digest = hashlib.sha256(f"{seed}:moderation:{system_id}".encode()).digest()
    return Fraction(int.from_bytes(digest[:8], "big"), 2**64) < share


def moderation_reasons(*, grades, double_audit, in_sample):
    """Why a plan's audits are moderated, given the overall grades of its submitted audits
    in the cycle, whether the plan is double-audited, and whether it is in the random
    sample: a weak grade; both audits of a double-audited plan in; otherwise the random
    cross-section. An empty list: not (yet) moderated."""
    if not grades:
        return []
    reasons = []
    if any(grade in WEAK_GRADES for grade in grades):
        reasons.append(WEAK_GRADE)
    if double_audit and len(grades) >= 2:
        reasons.append(DOUBLE_AUDITED)
    if not reasons and in_sample and not (double_audit and len(grades) < 2):
        reasons.append(RANDOM_SAMPLE)
    return reasons


def moderation_outcome(moderated_grade, grades):
    """ "confirmed" when the moderated grade is every auditor's overall grade, otherwise
    "changed"."""
    return "confirmed" if all(grade == moderated_grade for grade in grades) else "changed"


def grade_change(auditor_grade, moderated_grade, order):
    """How moderation moved an auditor's grade: "same", "raised" (to a better grade) or
    "lowered"; `order` lists the grades best first."""
    difference = order.index(moderated_grade) - order.index(auditor_grade)
    if difference == 0:
        return "same"
    return "raised" if difference < 0 else "lowered"
