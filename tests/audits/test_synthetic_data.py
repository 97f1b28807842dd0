import io
import json
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from portal.audits import reporting, synthetic
from portal.audits.facts import audit_facts_rebuild
from portal.audits.management.commands.generate_synthetic_data import REFUSED
from portal.audits.management.commands.verify_grades import ALL_MATCH
from portal.audits.models import Action, Audit, AuditCycle, AuditFact, ModerationCase, Plan
from portal.audits.moderation_rules import moderation_reasons
from portal.audits.recording import grader_of_revision
from portal.audits.synthetic import (
    NO_PUBLISHED_RUBRIC,
    SYNTHETIC_DATA_PRESENT,
    TIMELINE_END,
)
from portal.framework.rubric import GRADES
from portal.framework.services import rubric_import

from ..factories import RubricPageFactory
from .factories import PlanFactory

DEMO_RUBRIC = Path(__file__).resolve().parents[2] / "portal" / "framework" / "demo" / "rubric.json"
SIZE = 300


@pytest.fixture
def demo_rubric(home_page):
    """The demo rubric (12 sections, 64 criteria), published."""
    page = RubricPageFactory(parent=home_page, slug="rubric")
    revision, _ = rubric_import(page, json.loads(DEMO_RUBRIC.read_text(encoding="utf-8")))
    revision.publish()
    page.refresh_from_db()
    return page


def generate(*args, size=SIZE):
    out = io.StringIO()
    call_command("generate_synthetic_data", "--size", str(size), *args, stdout=out)
    return out.getvalue()


def fact_values(fact):
    return {
        field.attname: getattr(fact, field.attname) for field in AuditFact._meta.concrete_fields
    }


def snapshot():
    """What a second run with the same seed must reproduce, by natural keys (not ids)."""
    audits = Audit.objects.order_by(
        "assignment__cycle__name", "assignment__plan__system_id", "assignment__auditor__username"
    ).values_list(
        "assignment__cycle__name",
        "assignment__plan__system_id",
        "assignment__auditor__username",
        "status",
        "overall_grade",
        "overall_score",
        "submitted_at",
        "ticks",
    )
    cases = ModerationCase.objects.order_by("cycle__name", "plan__system_id").values_list(
        "cycle__name", "plan__system_id", "status", "moderated_grade", "outcome", "closed_at"
    )
    actions = Action.objects.order_by(
        "raised_at", "plan__system_id", "kind", "due_on", "owner__username", "status"
    ).values_list("plan__system_id", "kind", "agency", "owner__username", "status", "due_on")
    return {
        "grades": reporting.grade_distribution(),
        "by_key_stage": reporting.grade_distribution_by("key_stage"),
        "plans": list(
            Plan.objects.order_by("system_id").values_list(
                "system_id", "key_stage", "primary_need", "setting_type", "locality", "date_issued"
            )[::17]
        ),
        "audits": list(audits)[::7],
        "cases": list(cases),
        "actions": list(actions),
    }


@pytest.mark.django_db
def test_audits_span_every_grade_and_every_submitted_plan_audit_has_its_fact(demo_rubric):
    output = generate()

    assert "300 audits" in output
    audits = Audit.objects.filter(assignment__plan__system_id__startswith="SYN-")
    assert audits.count() == SIZE
    submitted = audits.filter(status=Audit.Status.SUBMITTED)
    assert set(submitted.values_list("overall_grade", flat=True)) == set(GRADES)
    # Audits pin the live rubric revision, as audit_start does.
    assert set(audits.values_list("rubric_revision", flat=True)) == {demo_rubric.live_revision_id}
    assert set(AuditFact.objects.values_list("audit", flat=True)) == set(
        submitted.values_list("pk", flat=True)
    )
    # The facts are what the lead's own rebuild from the audits and cases writes.
    written = {fact.pk: fact_values(fact) for fact in AuditFact.objects.all()}
    audit_facts_rebuild()
    assert {fact.pk: fact_values(fact) for fact in AuditFact.objects.all()} == written
    # Several cycles over almost three years: quarters trend.
    assert AuditCycle.objects.filter(name__startswith="SYN ").count() >= 12
    assert len(reporting.trend_by_quarter()) >= 10
    # Auditors from every agency, none of whom can sign in.
    auditors = get_user_model().objects.filter(username__startswith="synthetic-auditor-")
    assert auditors.count() >= 8
    assert not any(user.has_usable_password() for user in auditors)
    assert all(user.accreditations.exists() for user in auditors)


@pytest.mark.django_db
def test_recorded_grades_regrade_from_the_pinned_revision(demo_rubric):
    generate()

    out = io.StringIO()
    call_command("verify_grades", stdout=out)
    submitted = Audit.objects.filter(status=Audit.Status.SUBMITTED).count()
    assert ALL_MATCH.format(count=submitted) in out.getvalue()
    sample = Audit.objects.filter(status=Audit.Status.SUBMITTED).order_by("?")[:25]
    for audit in sample:
        result = grader_of_revision(audit.rubric_revision_id).grade(audit.ticks)
        assert result == audit.result
        assert result["overall"]["grade"] == audit.overall_grade


@pytest.mark.django_db
def test_moderation_cases_follow_the_queue_rules_some_closed_some_open(demo_rubric):
    generate()

    cases = ModerationCase.objects.prefetch_related("audits")
    statuses = set(cases.values_list("status", flat=True))
    assert ModerationCase.Status.CLOSED in statuses
    assert statuses & {ModerationCase.Status.QUEUED, ModerationCase.Status.IN_PROGRESS}
    for case in cases:
        grades = [audit.overall_grade for audit in case.audits.all()]
        assert grades
        if case.weak_grade or case.double_audited:
            expected = moderation_reasons(
                grades=grades, double_audit=case.double_audited, in_sample=False
            )
            assert set(case.reasons) == set(expected)
        if case.status == ModerationCase.Status.CLOSED:
            assert case.moderated_grade in GRADES
            assert case.outcome
            # Reports count the grade that stands: the moderated one.
            for audit in case.audits.all():
                assert audit.fact.grade == case.moderated_grade
                assert audit.fact.moderated
        else:
            assert not case.moderated_grade
            assert not case.closed_at


@pytest.mark.django_db
def test_actions_in_every_status_some_overdue(demo_rubric):
    generate()

    assert set(Action.objects.values_list("status", flat=True)) == set(Action.Status.values)
    overdue = sum(row["overdue"] for row in reporting.actions_by_agency().values())
    assert overdue > 0
    assert Action.objects.filter(
        status__in=["open", "in_progress"], due_on__lt=TIMELINE_END
    ).exists()
    assert not Action.objects.filter(status="done", closed_at__isnull=True).exists()


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_data(demo_rubric):
    generate("--seed", "7")
    first = snapshot()

    generate("--seed", "7", "--replace")

    assert snapshot() == first
    generate("--seed", "8", "--replace")
    assert snapshot() != first


@pytest.mark.django_db
def test_later_quarters_grade_better(demo_rubric):
    generate(size=1200)

    trend = reporting.trend_by_quarter()
    first, last = trend[:4], trend[-4:]

    def good_share(quarters):
        counts = [counts for _, counts in quarters]
        good = sum(c["outstanding"] + c["good"] for c in counts)
        return good / sum(sum(c.values()) for c in counts)

    assert good_share(last) > good_share(first) + 0.1


@pytest.mark.django_db
def test_refused_where_demo_content_is_not_allowed(demo_rubric, settings):
    settings.PORTAL_DEMO_CONTENT_ALLOWED = False

    with pytest.raises(CommandError) as refusal:
        generate(size=20)
    assert str(refusal.value) == REFUSED
    assert not Plan.objects.exists()

    generate("--i-know-this-is-not-production", size=20)
    assert Audit.objects.count() == 20


@pytest.mark.django_db
def test_refused_while_synthetic_data_exists_unless_replaced(demo_rubric):
    own_plan = PlanFactory()
    generate(size=50)
    audits = set(Audit.objects.values_list("pk", flat=True))

    with pytest.raises(CommandError) as refusal:
        generate(size=50)
    assert str(refusal.value) == SYNTHETIC_DATA_PRESENT
    assert set(Audit.objects.values_list("pk", flat=True)) == audits

    output = generate("--replace", size=80)
    assert "Deleted the earlier synthetic data (50 audits)" in output
    assert Audit.objects.count() == 80
    # Only synthetic rows go.
    assert Plan.objects.filter(pk=own_plan.pk).exists()


@pytest.mark.django_db
def test_refused_without_a_published_rubric(home_page):
    with pytest.raises(CommandError) as refusal:
        generate(size=20)
    assert str(refusal.value) == NO_PUBLISHED_RUBRIC
    assert not get_user_model().objects.filter(username__startswith="synthetic-").exists()


def loaded_schema():
    """The indexes and constraints of the tables a bulk load rebuilds (PostgreSQL)."""
    tables = [model._meta.db_table for model in synthetic.SyntheticData.LOADED]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = ANY(%s) "
            "UNION ALL SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = ANY(ARRAY(SELECT to_regclass(t) FROM unnest(%s::text[]) t))",
            [tables, tables],
        )
        return sorted(row[0] for row in cursor.fetchall())


@pytest.mark.django_db
def test_a_bulk_load_on_postgresql_puts_back_every_index_and_constraint(demo_rubric, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("Only PostgreSQL loads in bulk (COPY, indexes built afterwards).")
    monkeypatch.setattr(synthetic, "BULK_LOAD_SIZE", 1)
    schema = loaded_schema()

    generate(size=200)
    generate("--replace", size=200)

    assert loaded_schema() == schema
    assert Audit.objects.count() == 200
    submitted = Audit.objects.filter(status=Audit.Status.SUBMITTED).count()
    assert AuditFact.objects.count() == submitted
    out = io.StringIO()
    call_command("verify_grades", stdout=out)
    assert ALL_MATCH.format(count=submitted) in out.getvalue()
