"""Fuzzing the auditor's audit form with hypothesis: whatever is posted to a section, the
findings, the review (submit) or the live grade (unknown field names and criterion keys,
criteria of another section, not applicable where the rubric forbids it, stale or garbage
versions, huge notes, NUL characters, lists where one value belongs), the screen never
fails, saves only what the rubric allows, and otherwise leaves the audit exactly as it was
and says why."""

import datetime
import re

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils.html import escape
from guardian.shortcuts import assign_perm
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from portal.audits import forms, grading, recording
from portal.audits.models import Assignment, Audit
from portal.audits.recording import audit_save_findings, audit_save_section, audit_start

from ..conftest import SMALL_RUBRIC
from .factories import AuditCycleFactory, PlanFactory

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SECTIONS = {section["key"]: section for section in SMALL_RUBRIC["sections"]}
CRITERIA = {
    key: {criterion["key"] for criterion in section["criteria"]}
    for key, section in SECTIONS.items()
}


def template_pattern(template):
    parts = re.split(r"\{[^{}]*\}|%\([a-z_]+\)[sd]", str(template))
    return re.compile(".*?".join(re.escape(part) for part in parts), re.DOTALL)


# Every sentence an auditor may be refused with: the form's, the recording service's, the
# grading rules', and Django's own for a note that is too long or holds a NUL character.
MESSAGES = [
    forms.VERSION_MISSING,
    recording.CHANGED_SINCE_OPENED,
    recording.UNKNOWN_SECTION,
    recording.SECTIONS_NOT_DONE,
    grading.UNKNOWN_CRITERION_TICKED,
    grading.NOT_APPLICABLE_NOT_ALLOWED,
    grading.NOT_APPLICABLE_WITH_TICKS,
    grading.EVERY_SECTION_NOT_APPLICABLE,
    "Ensure this value has at most %(limit_value)d characters (it has %(show_value)d).",
    "Null characters are not allowed.",
]
PATTERNS = [template_pattern(message) for message in MESSAGES]


def assert_refusal_shown(response):
    """A refused post shows the auditor every reason, each one of the sentences above."""
    form = response.context["form"]
    reasons = [message for errors in form.errors.values() for message in errors]
    assert reasons
    body = response.content.decode()
    for reason in reasons:
        assert any(pattern.fullmatch(reason) for pattern in PATTERNS), reason
        assert escape(reason) in body


def stored(audit):
    """What the audit holds, as compared before and after a post."""
    audit.refresh_from_db()
    return (
        audit.version,
        audit.status,
        audit.ticks,
        audit.section_notes,
        audit.strengths,
        audit.recommendations,
        audit.summary,
        audit.result,
        audit.overall_grade,
        audit.submitted_at,
    )


@pytest.fixture
def audit(rubric_page, auditor):
    cycle = AuditCycleFactory(rubric=rubric_page)
    assignment = Assignment.objects.create(
        cycle=cycle, plan=PlanFactory(), auditor=auditor, due_on=datetime.date(2026, 12, 1)
    )
    assign_perm("audits.view_assignment", auditor, assignment)
    audit = audit_start(assignment, auditor)
    # One section already recorded, so a refused post has something to leave alone.
    return audit_save_section(audit, auditor, audit.version, "A", met=["A1"], note="Own words.")


@pytest.fixture
def auditor_client(client, auditor):
    client.force_login(auditor)
    return client


# Strategies

TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "note\x00",
            "x" * (forms.NOTE_MAX_LENGTH + 1),
            "y" * forms.NOTE_MAX_LENGTH,
            "z" * (forms.FINDINGS_MAX_LENGTH + 1),
            "<script>alert(1)</script>",
            "  spaced  ",
            "Sam Smith, 12 High St",
        ]
    ),
)
CRITERION_KEYS = st.one_of(
    st.sampled_from(["A1", "A2", "J1", "Z9", "", "a1", " A1", "A1\x00", "A" * 500, "J"]),
    st.text(max_size=8),
)


def versions(current):
    return st.one_of(
        st.sampled_from(
            [
                str(current),
                str(current),
                str(current - 1),
                str(current + 1),
                "0",
                "-1",
                "",
                "abc",
                "9" * 30,
                "1e3",
                f" {current} ",
                f"{current}\x00",
                "١",  # an Arabic-Indic digit one: Django reads it as 1
            ]
        ),
        st.text(max_size=6),
    )


def one_or_many(values):
    """A value where one belongs, or several (QueryDict keeps the last of a scalar)."""
    return st.one_of(values, st.lists(values, min_size=0, max_size=3))


@st.composite
def section_posts(draw, current, key):
    """Often what the form itself would post (so saving is tried too), often not."""
    own = sorted(CRITERIA.get(key, ()))
    fields = {
        "version": st.one_of(st.just(str(current)), one_or_many(versions(current))),
        "met": st.one_of(
            st.lists(st.sampled_from(own), max_size=3) if own else st.just([]),
            st.lists(CRITERION_KEYS, max_size=5),
        ),
        "not_applicable": one_or_many(st.sampled_from(["on", "", "off", "false", "0", "\x00"])),
        "note": one_or_many(TEXT),
        "then": st.sampled_from(["later", "continue", "", "\x00"]),
        "section": st.sampled_from(["A", "J", "Z", ""]),
    }
    if draw(st.booleans()):
        # As the form itself posts it, give or take not applicable and the note's length.
        data = {"version": str(current), "met": draw(fields["met"]), "then": "continue"}
        if draw(st.booleans()):
            data["note"] = draw(st.text(max_size=50))
        if draw(st.integers(0, 3)) == 0:
            data["not_applicable"] = "on"
        return data
    data = {}
    for name, values in fields.items():
        # The version and ticks are nearly always sent, as the form sends them.
        if draw(st.integers(0, 9 if name in ("version", "met") else 2)):
            data[name] = draw(values)
    for _ in range(draw(st.integers(0, 2))):
        data[draw(st.text(min_size=1, max_size=10))] = draw(one_or_many(TEXT))
    return data


def last(value):
    """The value a form field reads: the last of several, None when none was sent."""
    if isinstance(value, list):
        return value[-1] if value else None
    return value


def posted_flag(data, name):
    """A checkbox as Django reads it: sent and not "false" (so "0" and "off" are ticked)."""
    value = last(data.get(name))
    return value is not None and value != "" and value.lower() != "false"


def posted_version(data):
    """The version as the form reads it, or None when it could not read one."""
    value = last(data.get("version"))
    if value is None:
        return None
    try:
        return forms.VersionField().clean(value)
    except Exception:  # any refusal of the field; what counts is that nothing was saved
        return None


# The section form


@FUZZ
@given(data=st.data(), key=st.sampled_from(["A", "J", "A", "J", "A", "J", "Z", "h1", "A "]))
def test_a_section_post_saves_what_the_rubric_allows_or_changes_nothing(
    auditor_client, audit, data, key
):
    with transaction.atomic():
        before = stored(audit)
        post = data.draw(section_posts(audit.version, key))

        response = auditor_client.post(
            reverse("audit_section", args=[audit.assignment_id, key]), post
        )

        after = stored(audit)
        event(f"answered {response.status_code}")
        if key not in SECTIONS:
            assert response.status_code == 404
            assert after == before
        elif response.status_code == 302:
            # Saved: only with the version the form was opened at, and only what is allowed.
            assert posted_version(post) == before[0]
            assert after[0] == before[0] + 1
            not_applicable = posted_flag(post, "not_applicable")
            met = post.get("met", [])
            if not_applicable:
                assert SECTIONS[key]["may_be_not_applicable"]
                assert after[2]["sections"][key] == {"not_applicable": True}
            else:
                assert set(met) <= CRITERIA[key]
                assert after[2]["sections"][key] == {"met": sorted(set(met))}
            assert after[3][key] == (last(post.get("note")) or "").strip()
            # Every other section as it was.
            others = {k: v for k, v in after[2]["sections"].items() if k != key}
            assert others == {k: v for k, v in before[2]["sections"].items() if k != key}
        else:
            assert response.status_code in (400, 409)
            assert after == before
            assert_refusal_shown(response)
        transaction.set_rollback(True)


# Findings, review (submit) and the live grade


@st.composite
def findings_posts(draw, current):
    data = {}
    for name, values in {
        "version": st.one_of(st.just(str(current)), one_or_many(versions(current))),
        "strengths": one_or_many(TEXT),
        "recommendations": one_or_many(TEXT),
        "summary": one_or_many(TEXT),
        "then": st.sampled_from(["later", "", "continue"]),
    }.items():
        if draw(st.integers(0, 5)):
            data[name] = draw(values)
    return data


@FUZZ
@given(data=st.data())
def test_a_findings_post_saves_the_text_or_changes_nothing(auditor_client, audit, data):
    with transaction.atomic():
        before = stored(audit)
        post = data.draw(findings_posts(audit.version))

        response = auditor_client.post(reverse("audit_findings", args=[audit.assignment_id]), post)

        after = stored(audit)
        event(f"answered {response.status_code}")
        if response.status_code == 302:
            assert posted_version(post) == before[0]
            assert after[0] == before[0] + 1
            for index, name in ((4, "strengths"), (5, "recommendations"), (6, "summary")):
                assert after[index] == (last(post.get(name)) or "").strip()
            assert after[2] == before[2]
        else:
            assert response.status_code in (400, 409)
            assert after == before
            assert_refusal_shown(response)
        transaction.set_rollback(True)


@FUZZ
@given(data=st.data(), ready=st.booleans())
def test_a_submit_post_submits_a_finished_audit_or_changes_nothing(
    auditor_client, auditor, audit, data, ready
):
    with transaction.atomic():
        audit.refresh_from_db()  # as the fixture left it, whatever an earlier example did
        if ready:
            audit = audit_save_section(
                audit, auditor, audit.version, "J", met=[], not_applicable=True
            )
            audit = audit_save_findings(
                audit, auditor, audit.version, strengths="S", recommendations="R", summary="G"
            )
        before = stored(audit)
        post = {}
        if data.draw(st.integers(0, 5)):
            post["version"] = data.draw(
                st.one_of(st.just(str(audit.version)), one_or_many(versions(audit.version)))
            )
        if data.draw(st.booleans()):
            post[data.draw(st.text(min_size=1, max_size=10))] = data.draw(TEXT)

        response = auditor_client.post(reverse("audit_review", args=[audit.assignment_id]), post)

        after = stored(audit)
        event(f"answered {response.status_code}")
        if response.status_code == 302:
            assert ready and posted_version(post) == before[0]
            assert after[1] == Audit.Status.SUBMITTED
            assert after[8] == grading.grade_audit(SMALL_RUBRIC, after[2])["overall"]["grade"]
        else:
            assert response.status_code in (400, 409)
            assert after == before
            assert_refusal_shown(response)
        transaction.set_rollback(True)


@FUZZ
@given(data=st.data())
def test_the_live_grade_answers_in_json_and_stores_nothing(auditor_client, audit, data):
    post = {
        "section": data.draw(one_or_many(st.sampled_from(["A", "J", "A", "J", "Z", "", "AAA"]))),
        "met": data.draw(
            st.one_of(st.lists(st.sampled_from(["A1", "A2", "J1"])), st.lists(CRITERION_KEYS))
        ),
    }
    if data.draw(st.booleans()):
        post["not_applicable"] = data.draw(st.sampled_from(["on", "", "\x00"]))
    with transaction.atomic():
        before = stored(audit)

        response = auditor_client.post(
            reverse("audit_grade_preview", args=[audit.assignment_id]), post
        )

        assert stored(audit) == before
        event(f"answered {response.status_code}")
        body = response.json()
        if response.status_code == 200:
            assert body["grade"] in (None, *grading.GRADES) or body.get("not_applicable")
            assert body["text"]
        else:
            assert response.status_code == 400
            assert body["error"].strip()
        transaction.set_rollback(True)


# Regressions found by the fuzzing above


def test_a_version_below_one_is_refused_in_the_forms_own_words(auditor_client, audit):
    # Django's "Ensure this value is greater than or equal to 1." was shown about the
    # hidden version field, which the auditor never sees.
    before = stored(audit)
    url = reverse("audit_section", args=[audit.assignment_id, "A"])

    response = auditor_client.post(url, {"version": "0", "met": ["A1", "A2"]})

    assert response.status_code == 400
    assert response.context["form"].errors == {"version": [forms.VERSION_MISSING]}
    assert escape(forms.VERSION_MISSING) in response.content.decode()
    assert stored(audit) == before
