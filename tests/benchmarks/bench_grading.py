"""grade_audit on the demo rubric: audits graded per second, beside a baseline measured in
the same run (reading the same rubric and ticks from JSON, the least any grader must do)."""

import json
import random
import time
from pathlib import Path

from portal.audits.grading import RubricGrader, grade_audit

DEMO_RUBRIC = Path(__file__).resolve().parents[2] / "portal" / "framework" / "demo" / "rubric.json"


def _random_ticks(rubric, rng):
    sections = {}
    for section in rubric["sections"]:
        if section["may_be_not_applicable"] and rng.random() < 0.2:
            sections[section["key"]] = {"not_applicable": True}
        else:
            keys = [c["key"] for c in section["criteria"]]
            sections[section["key"]] = {"met": rng.sample(keys, rng.randint(0, len(keys)))}
    return {"sections": sections}


def _rate(function, inputs, seconds=2.0):
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for item in inputs:
            function(item)
        count += len(inputs)
    return count / (time.perf_counter() - started)


def run():
    rubric = json.loads(DEMO_RUBRIC.read_text())
    rng = random.Random(2026)
    audits = [_random_ticks(rubric, rng) for _ in range(500)]
    as_json = [json.dumps({"rubric": rubric, "ticks": ticks}) for ticks in audits]
    grader = RubricGrader(rubric)

    baseline = _rate(json.loads, as_json)
    plain = _rate(lambda ticks: grade_audit(rubric, ticks), audits)
    compiled = _rate(grader.grade, audits)
    return [
        ("baseline: json.loads of rubric + ticks", baseline, 1.0),
        ("grade_audit(rubric, ticks), validating the rubric each time", plain, plain / baseline),
        ("RubricGrader(rubric).grade(ticks), rubric validated once", compiled, compiled / baseline),
    ]
