"""Data retention: plans with no activity for the retention period are anonymised with their
audits, moderation, actions and log entries (no system ID, no free text left), recent ones
are untouched, every report figure and a published summary stay exactly the same, a dry run
writes nothing, a second run changes nothing, and the run is logged with counts only."""

import datetime
import io
import json

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from wagtail.log_actions import registry
from wagtail.models import ModelLogEntry

from portal.audits import reporting
from portal.audits.actions import action_raise, action_update
from portal.audits.cycles import assignment_create, conflict_declare
from portal.audits.facts import audit_facts_rebuild
from portal.audits.management.commands.apply_retention import DRY_RUN, NOT_A_DATE, NOTHING
from portal.audits.models import (
    Action,
    ActionUpdate,
    Assignment,
    Audit,
    AuditFact,
    ConflictDeclaration,
    ModerationCase,
    Plan,
    PlanImport,
)
from portal.audits.moderation import moderation_case_record
from portal.audits.recording import (
    audit_save_findings,
    audit_save_section,
    audit_start,
    audit_submit,
)
from portal.audits.retention import (
    ANONYMOUS_ID_PREFIX,
    BEFORE_INSIDE_PERIOD,
    COUNTED,
    REMOVED,
    RETENTION_ACTION,
    plans_past_retention,
    retention_apply,
    retention_cutoff,
)
from portal.audits.tasks import retention_apply_scheduled
from portal.local_offer.models import QualitySummaryPage, ReportSnapshot

from ..factories import UserFactory
from ..page_factories import LocalOfferIndexPageFactory
from .factories import AuditCycleFactory, PlanFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("plan_import_media")]

# Words that may only ever have been typed about one child.
SECRETS = {
    "note": "Sam's own words are quoted",
    "strengths": "Sam's mother took part",
    "recommendations": "Ask Sam's school, Elm Park",
    "summary": "Sam, 12 Oak Road",
    "rationale": "Sam's EP report was missed",
    "description": "Amend Sam's section F",
    "update": "Spoke to Sam's mum",
    "cancel": "Sam moved to Leeds",
}
GOOD = {"A": ["A1"], "J": None}
REQUIRES_IMPROVEMENT = {"A": ["A2"], "J": ["J1"]}
LONG_AGO = datetime.date(2016, 5, 17)
LONG_AGO_AT = timezone.make_aware(datetime.datetime(2016, 6, 20, 10, 30))


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()


@pytest.fixture
def people(db):
    return {
        "auditor": UserFactory(username="auditor1", roles=["Auditor"], agency="education"),
        "colleague": UserFactory(username="auditor2", roles=["Auditor"], agency="health"),
        "moderator": UserFactory(username="moderator1", roles=["Moderator"]),
        "owner": UserFactory(username="owner1", roles=["Action owner"], agency="health"),
    }


@pytest.fixture
def cycle(rubric_page):
    return AuditCycleFactory(rubric=rubric_page, moderation_share=0)


def audited(cycle, people, ticks, **plan_fields):
    """A plan audited with notes and findings about the child, and submitted."""
    plan = PlanFactory(**plan_fields)
    auditor = people["auditor"]
    due = timezone.localdate() + datetime.timedelta(days=10)
    audit = audit_start(assignment_create(plan, auditor, due, None, cycle=cycle), auditor)
    for key, met in ticks.items():
        audit = audit_save_section(
            audit,
            auditor,
            audit.version,
            key,
            met=met or [],
            not_applicable=met is None,
            note=SECRETS["note"],
        )
    audit = audit_save_findings(
        audit,
        auditor,
        audit.version,
        strengths=SECRETS["strengths"],
        recommendations=SECRETS["recommendations"],
        summary=SECRETS["summary"],
    )
    return audit_submit(audit, auditor, audit.version)


def with_history(cycle, people, **plan_fields):
    """A weak audit, moderated with a rationale, an action raised from the case, updated and
    cancelled with a reason, and a conflict declared on the plan."""
    audit = audited(cycle, people, REQUIRES_IMPROVEMENT, **plan_fields)
    case = ModerationCase.objects.get(audits=audit)
    case = moderation_case_record(
        case,
        people["moderator"],
        case.version,
        grade="requires_improvement",
        section_grades={"A": "inadequate"},
        rationale=SECRETS["rationale"],
        close=True,
    )
    action = action_raise(
        raised_by=people["moderator"],
        description=SECRETS["description"],
        kind=Action.Kind.AMEND_PLAN,
        agency="health",
        owner=people["owner"],
        due_on=timezone.localdate() + datetime.timedelta(days=7),
        moderation_case=case,
    )
    action = action_update(
        action, people["owner"], action.version, status="in_progress", note=SECRETS["update"]
    )
    action_update(
        action,
        people["owner"],
        action.version,
        status="cancelled",
        cancel_reason=SECRETS["cancel"],
    )
    conflict_declare(people["colleague"], audit.assignment.plan, "contributed")
    return audit


def age(plans):
    """Move everything about the plans back to 2016, as if nobody had touched them since."""
    plan_ids = [plan.pk for plan in plans]
    Plan.objects.filter(pk__in=plan_ids).update(
        date_issued=LONG_AGO, created_at=LONG_AGO_AT, updated_at=LONG_AGO_AT
    )
    Assignment.objects.filter(plan__in=plan_ids).update(created_at=LONG_AGO_AT, due_on=LONG_AGO)
    audits = Audit.objects.filter(assignment__plan__in=plan_ids)
    audits.update(started_at=LONG_AGO_AT, updated_at=LONG_AGO_AT, submitted_at=LONG_AGO_AT)
    AuditFact.objects.filter(plan__in=plan_ids).update(submitted_on=LONG_AGO_AT.date())
    ModerationCase.objects.filter(plan__in=plan_ids).update(
        queued_at=LONG_AGO_AT, updated_at=LONG_AGO_AT, closed_at=LONG_AGO_AT
    )
    actions = Action.objects.filter(moderation_case__plan__in=plan_ids)
    actions.update(raised_at=LONG_AGO_AT, updated_at=LONG_AGO_AT, closed_at=LONG_AGO_AT)
    ActionUpdate.objects.filter(action__in=actions).update(at=LONG_AGO_AT)
    ConflictDeclaration.objects.filter(plan__in=plan_ids).update(declared_at=LONG_AGO_AT)


@pytest.fixture
def old_cycle(rubric_page):
    return AuditCycleFactory(
        rubric=rubric_page,
        moderation_share=0,
        starts_on=datetime.date(2016, 6, 1),
        ends_on=datetime.date(2016, 6, 30),
    )


@pytest.fixture
def register(old_cycle, cycle, people):
    """Two old plans with a full history and ten more old audits (enough for a published
    summary), and two recent plans with the same kind of history."""
    old = [with_history(old_cycle, people, key_stage="KS2") for _ in range(2)]
    old += [audited(old_cycle, people, GOOD, key_stage="KS2") for _ in range(10)]
    recent = [with_history(cycle, people, key_stage="KS3"), audited(cycle, people, GOOD)]
    old_plans = [audit.assignment.plan for audit in old]
    age(old_plans)
    return {
        "old": old_plans,
        "old_ids": [plan.system_id for plan in old_plans],
        "recent": [audit.assignment.plan for audit in recent],
    }


def rows(*models):
    """Every row of the models as stored, to compare before and after a run."""
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in models}


CHILD_LEVEL = (Plan, Assignment, Audit, ModerationCase, Action, ActionUpdate, ConflictDeclaration)
EVERYTHING = (*CHILD_LEVEL, AuditFact, PlanImport, ModelLogEntry, ReportSnapshot)


def related_rows(plan_ids):
    """The rows of everything about the given plans, as text to search."""
    audits = Audit.objects.filter(assignment__plan__in=plan_ids)
    cases = ModerationCase.objects.filter(plan__in=plan_ids)
    actions = Action.objects.filter(moderation_case__in=cases)
    found = {
        "plans": Plan.objects.filter(pk__in=plan_ids),
        "assignments": Assignment.objects.filter(plan__in=plan_ids),
        "audits": audits,
        "cases": cases,
        "actions": actions,
        "updates": ActionUpdate.objects.filter(action__in=actions),
        "conflicts": ConflictDeclaration.objects.filter(plan__in=plan_ids),
    }
    return {name: list(queryset.values()) for name, queryset in found.items()}


def as_text(value):
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)


def figures():
    """Every figure reports draw from, for the whole register and each breakdown."""
    return {
        "headline": reporting.headline(),
        "grades": reporting.grade_distribution(),
        "sections": reporting.section_distribution(),
        "by": {name: reporting.grade_distribution_by(name) for name in reporting.BREAKDOWNS},
        "quarters": reporting.trend_by_quarter(),
        "cycles": reporting.trend_by_cycle(),
    }


def run(*args):
    out = io.StringIO()
    call_command("apply_retention", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


# What is anonymised, and what is not


def test_old_plans_lose_every_identifier_and_free_text_and_recent_ones_are_untouched(register):
    recent_ids = [plan.pk for plan in register["recent"]]
    recent_before = related_rows(recent_ids)

    result = retention_apply()

    assert result.counts["plans"] == 12
    assert result.counts["audits"] == 12
    assert result.counts["moderation_cases"] == 2
    assert result.counts["actions"] == 2
    assert result.counts["action_updates"] == 4  # two notes and two cancel reasons
    old = related_rows([plan.pk for plan in register["old"]])
    text = as_text(old)
    for system_id in register["old_ids"]:
        assert system_id not in text
    for secret in SECRETS.values():
        assert secret not in text
    for plan in old["plans"]:
        assert plan["system_id"].startswith(ANONYMOUS_ID_PREFIX)
        assert plan["date_issued"] == LONG_AGO.replace(day=1)
        assert (plan["key_stage"], plan["primary_need"], plan["locality"]) == (
            "KS2",
            "ASD",
            "North",
        )
    for audit in old["audits"]:
        assert (audit["strengths"], audit["recommendations"], audit["summary"]) == ("", "", "")
        assert audit["section_notes"] == {}
        assert audit["overall_grade"] and audit["ticks"]["sections"]  # grades and ticks stay
    for action in old["actions"]:
        assert (action["description"], action["cancel_reason"]) == (REMOVED, REMOVED)
    assert related_rows(recent_ids) == recent_before
    recent_text = as_text(recent_before)
    assert SECRETS["rationale"] in recent_text and register["recent"][0].system_id in recent_text


def test_log_entries_of_old_plans_keep_their_history_under_the_new_ids(register):
    logged = ModelLogEntry.objects.exclude(action=RETENTION_ACTION)
    count = logged.count()

    result = retention_apply()

    assert logged.count() == count  # nothing deleted from the history
    assert result.counts["log_entries"] > 0
    text = as_text(list(logged.values("label", "data")))
    for system_id in register["old_ids"]:
        assert system_id not in text
    tokens = set(
        Plan.objects.filter(pk__in=[p.pk for p in register["old"]]).values_list(
            "system_id", flat=True
        )
    )
    labelled = {
        label.split()[3]
        for label in logged.filter(action="portal.audit.submit").values_list("label", flat=True)
        if label.split()[3].startswith(ANONYMOUS_ID_PREFIX)
    }
    assert labelled == tokens  # "Audit of plan anon:… by auditor1"
    assert register["recent"][0].system_id in as_text(list(logged.values("label")))


def test_a_plan_with_recent_activity_is_kept_however_old_its_audit(register, people):
    plan = register["old"][0]
    action = Action.objects.get(moderation_case__plan=plan)
    Action.objects.filter(pk=action.pk).update(updated_at=timezone.now())

    retention_apply()

    plan.refresh_from_db()
    assert plan.system_id == register["old_ids"][0]
    assert Audit.objects.get(assignment__plan=plan).strengths == SECRETS["strengths"]
    assert register["old"][0] not in plans_past_retention(retention_cutoff())


def test_a_stored_register_upload_from_before_the_period_loses_its_file_and_rows(
    register, django_capture_on_commit_callbacks
):
    upload = PlanImport.objects.create(
        file=ContentFile(b"system_id\nEHC-1\n", name="plans.csv"),
        file_name="plans.csv",
        status=PlanImport.Status.DONE,
        result={"new": 1, "sample": [{"row": 2, "system_id": "EHC-1"}], "errors": []},
    )
    PlanImport.objects.filter(pk=upload.pk).update(uploaded_at=LONG_AGO_AT)
    storage, name = upload.file.storage, upload.file.name
    recent = PlanImport.objects.create(
        file=ContentFile(b"system_id\nEHC-2\n", name="recent.csv"),
        file_name="recent.csv",
        status=PlanImport.Status.DONE,
        result={"new": 1, "sample": [{"row": 2, "system_id": "EHC-2"}]},
    )

    with django_capture_on_commit_callbacks() as dry_callbacks:
        retention_apply(dry_run=True)
    assert dry_callbacks == []  # a dry run deletes no file
    assert storage.exists(name)

    with django_capture_on_commit_callbacks(execute=True):
        result = retention_apply()

    upload.refresh_from_db()
    assert result.counts["plan_imports"] == 1
    assert not upload.file
    assert upload.result == {"new": 1, "sample": [], "errors": []}
    recent.refresh_from_db()
    assert recent.file and recent.result["sample"]
    # The file itself goes once the run's transaction commits.
    assert not storage.exists(name)


# What must not change


def test_report_figures_are_the_same_before_and_after(register):
    before = figures()

    retention_apply()

    assert figures() == before
    # Rebuilding the report rows from the anonymised audits gives the same figures too.
    audit_facts_rebuild()
    assert figures() == before


def test_a_published_quality_summary_and_its_csv_are_byte_for_byte_the_same(
    client, register, home_page, django_capture_on_commit_callbacks
):
    local_offer = LocalOfferIndexPageFactory(parent=home_page, slug="local-offer")
    page = QualitySummaryPage(
        title="Plans since 2016",
        slug="plans-since-2016",
        period_start=datetime.date(2016, 1, 1),
        period_end=timezone.localdate(),
        show_key_stage=True,
        summary="How good were the plans we checked?",
        what_we_found="<p>Most plans were good.</p>",
        what_we_are_doing="<p>Training.</p>",
        what_the_grades_mean="<p>Good means the plan does what the law asks.</p>",
        feedback="<p>Email the SEND team.</p>",
    )
    local_offer.add_child(instance=page)
    with django_capture_on_commit_callbacks(execute=True):
        page.save_revision().publish()
    page.refresh_from_db()
    snapshot = ReportSnapshot.objects.get(revision=page.live_revision)
    assert snapshot.data["headline"]["audits"] == 14

    def published():
        cache.clear()
        return (
            client.get(page.url).content,
            client.get(f"{page.url}data/grades/csv/").content,
            client.get(f"{page.url}data/grades/json/").content,
        )

    before = published()

    retention_apply()

    assert published() == before
    assert ReportSnapshot.objects.get(pk=snapshot.pk).data == snapshot.data


# Dry run, idempotence, the log, the command


def test_a_dry_run_counts_exactly_what_a_real_run_changes_and_writes_nothing(register):
    before = rows(*EVERYTHING)

    dry = retention_apply(dry_run=True)

    assert rows(*EVERYTHING) == before
    assert dry.dry_run and dry.counts["plans"] == 12
    real = retention_apply()
    assert real.counts == dry.counts


def test_running_again_changes_nothing(register):
    retention_apply()
    after_first = rows(*EVERYTHING)

    again = retention_apply()

    assert not again.changed
    assert again.counts == dict.fromkeys(COUNTED, 0)
    assert rows(*EVERYTHING) == after_first
    assert ModelLogEntry.objects.filter(action=RETENTION_ACTION).count() == 1


def test_the_run_is_logged_with_counts_and_no_identities(register, client, qa_lead):
    result = retention_apply()

    entry = ModelLogEntry.objects.get(action=RETENTION_ACTION)
    assert entry.data["counts"] == result.counts
    assert entry.data["before"] == retention_cutoff().isoformat()
    message = registry.get_formatter(entry).format_message(entry)
    assert message.startswith("Applied the data retention policy to records last active before")
    assert "12 plans: system ID replaced" in message
    text = as_text([entry.label, entry.data, message])
    for system_id in register["old_ids"]:
        assert system_id not in text
    # QA leads find it in Wagtail's Site history.
    client.force_login(qa_lead)
    history = client.get(reverse("wagtailadmin_reports:site_history"))
    assert history.status_code == 200
    assert escape(message) in history.content.decode()


def test_the_command_prints_counts_and_a_dry_run_says_so(register):
    dry = run("--dry-run")

    assert f"Would anonymise records last active before {retention_cutoff().isoformat()}" in dry
    assert "12 plans: system ID replaced by a token" in dry
    assert DRY_RUN in dry
    assert Plan.objects.filter(system_id__startswith=ANONYMOUS_ID_PREFIX).count() == 0

    done = run()
    assert "Anonymised records last active before" in done
    assert "Done, and recorded in the audit log." in done
    assert NOTHING in run()


def test_a_date_inside_the_period_is_refused_unless_forced(register):
    inside = timezone.localdate() - datetime.timedelta(days=30)
    before = rows(*CHILD_LEVEL)

    with pytest.raises(CommandError) as refused:
        run("--before", inside.isoformat())

    assert str(refused.value) == BEFORE_INSIDE_PERIOD.format(
        before=inside.isoformat(),
        cutoff=retention_cutoff().isoformat(),
        years=settings.PORTAL_RETENTION_YEARS,
        setting="PORTAL_RETENTION_YEARS",
    )
    assert rows(*CHILD_LEVEL) == before
    with pytest.raises(CommandError) as not_a_date:
        run("--before", "01/04/2019")
    assert str(not_a_date.value) == NOT_A_DATE.format(value="01/04/2019")

    forced = run(
        "--before", (timezone.localdate() + datetime.timedelta(days=1)).isoformat(), "--force"
    )

    assert "forced" in forced
    assert not Plan.objects.exclude(system_id__startswith=ANONYMOUS_ID_PREFIX).exists()


def test_an_earlier_date_anonymises_less(register):
    result = retention_apply(before=datetime.date(2016, 1, 1))

    assert result.counts["plans"] == 0
    assert Plan.objects.filter(system_id__in=register["old_ids"]).count() == 12


def test_the_retention_period_is_a_setting(register, settings):
    settings.PORTAL_RETENTION_YEARS = 20  # the old plans are inside a 20-year period

    assert retention_cutoff(datetime.date(2024, 2, 29)) == datetime.date(2004, 2, 29)
    assert retention_cutoff(datetime.date(2024, 2, 29), years=1) == datetime.date(2023, 2, 28)
    assert not retention_apply().changed


def test_celery_beat_runs_it_monthly(register):
    entry = settings.CELERY_BEAT_SCHEDULE["apply-retention"]
    assert entry["task"] == retention_apply_scheduled.name
    assert entry["schedule"].day_of_month == {1}

    counts = retention_apply_scheduled.delay().get()

    assert counts["plans"] == 12
