"""The read-replica router: with REPORTING_DATABASE_URL set, the dashboard's figures are read
through the "reporting" connection while every write, every other read and a report's
snapshot stay on the primary. On PostgreSQL the "reporting" alias is a second connection to
the test database (a test mirror, as Django's docs describe for primary/replica set-ups), so
the queries each connection runs can be told apart."""

import contextlib
import copy
import datetime
import json
import os
import subprocess
import sys

import pytest
from bs4 import BeautifulSoup
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import DEFAULT_DB_ALIAS, connection, connections, router
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.audits.cycles import assignment_create
from portal.audits.models import Action, Audit, AuditFact, Plan
from portal.database_routers import REPORTING_DB_ALIAS, ReportingReplicaRouter
from portal.local_offer.models import QualitySummaryPage, ReportSnapshot

from .audits.factories import AuditCycleFactory, PlanFactory
from .factories import UserFactory
from .page_factories import LocalOfferIndexPageFactory
from .training.factories import audit_complete

ROUTER = "portal.database_routers.ReportingReplicaRouter"
GOOD = {"A": ["A1"], "J": None}
WRITES = ("INSERT", "UPDATE", "DELETE")
# Committed transactions, so that the second connection sees what the first wrote; the
# migrations' rows (groups, the root page) restored for the tests after these.
TWO_CONNECTIONS = pytest.mark.django_db(
    transaction=True, serialized_rollback=True, databases=[DEFAULT_DB_ALIAS, REPORTING_DB_ALIAS]
)
ON_POSTGRESQL = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (DATABASE_URL): a second connection to the test database",
)


@pytest.fixture(scope="module")
def reporting_alias(django_db_setup):
    """A "reporting" database alias for this module's tests: a second connection to the test
    database, marked as a test mirror of "default" so Django never creates, flushes or
    migrates it (like a real replica)."""
    reporting = copy.deepcopy(connections[DEFAULT_DB_ALIAS].settings_dict)
    reporting["TEST"] = {**reporting.get("TEST", {}), "MIRROR": DEFAULT_DB_ALIAS}
    connections.settings[REPORTING_DB_ALIAS] = reporting
    yield REPORTING_DB_ALIAS
    connections[REPORTING_DB_ALIAS].close()
    del connections.settings[REPORTING_DB_ALIAS]
    with contextlib.suppress(AttributeError):  # never opened in this thread
        del connections[REPORTING_DB_ALIAS]


@pytest.fixture
def replica_router(settings):
    settings.DATABASE_ROUTERS = [ROUTER]
    return ReportingReplicaRouter()


def writes(captured):
    """Statements that write (or lock rows to write them)."""
    return [
        q["sql"]
        for q in captured
        if q["sql"].lstrip().upper().startswith(WRITES) or "FOR UPDATE" in q["sql"].upper()
    ]


def fact_reads(captured):
    return [q["sql"] for q in captured if '"audits_auditfact"' in q["sql"]]


# The router's decisions


def test_fact_reads_go_to_the_replica_and_everything_else_to_the_primary(
    reporting_alias, replica_router
):
    assert router.db_for_read(AuditFact) == REPORTING_DB_ALIAS
    for model in (Plan, Audit, Action, Session, get_user_model(), QualitySummaryPage):
        assert router.db_for_read(model) == DEFAULT_DB_ALIAS, model


def test_every_write_goes_to_the_primary(reporting_alias, replica_router):
    for model in (AuditFact, Plan, Audit, Action, ReportSnapshot):
        assert router.db_for_write(model) == DEFAULT_DB_ALIAS, model


def test_a_fact_reached_from_a_loaded_object_is_read_where_that_object_was(
    reporting_alias, replica_router
):
    # audit.fact just after a submit must see the row the submit wrote.
    audit = Audit()
    audit._state.db = DEFAULT_DB_ALIAS
    assert router.db_for_read(AuditFact, instance=audit) == DEFAULT_DB_ALIAS


def test_without_a_reporting_database_fact_reads_stay_on_the_primary(replica_router, monkeypatch):
    monkeypatch.delitem(connections.settings, REPORTING_DB_ALIAS, raising=False)
    assert REPORTING_DB_ALIAS not in connections
    assert router.db_for_read(AuditFact) == DEFAULT_DB_ALIAS


@pytest.mark.django_db
def test_inside_a_transaction_fact_reads_stay_on_the_primary(reporting_alias, replica_router):
    # Every test of this kind runs inside a transaction on the primary, as a report's
    # snapshot (portal.local_offer.snapshots.report_snapshot_take) does.
    assert connections[DEFAULT_DB_ALIAS].in_atomic_block
    assert router.db_for_read(AuditFact) == DEFAULT_DB_ALIAS


def test_only_the_primary_is_migrated(replica_router):
    assert replica_router.allow_migrate(DEFAULT_DB_ALIAS, "audits", "auditfact")
    assert not replica_router.allow_migrate(REPORTING_DB_ALIAS, "audits", "auditfact")
    assert not replica_router.allow_migrate(REPORTING_DB_ALIAS, "wagtailcore")


def test_objects_from_the_primary_and_the_replica_may_be_related(replica_router):
    fact, plan, elsewhere = AuditFact(), Plan(), Plan()
    fact._state.db, plan._state.db = REPORTING_DB_ALIAS, DEFAULT_DB_ALIAS
    elsewhere._state.db = "archive"
    assert replica_router.allow_relation(fact, plan)
    assert replica_router.allow_relation(fact, elsewhere) is None


def _settings_in_a_fresh_process(**env):
    """DATABASES and DATABASE_ROUTERS as portal.settings.test builds them from `env`."""
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps({'databases': settings.DATABASES, "
        "'routers': settings.DATABASE_ROUTERS}, default=str))"
    )
    result = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", script],
        env={
            **{k: v for k, v in os.environ.items() if k != "REPORTING_DATABASE_URL"},
            "DJANGO_SETTINGS_MODULE": "portal.settings.test",
            "DATABASE_URL": "postgres://portal@db.example:5432/ehcp",
            **env,
        },
        capture_output=True,
        text=True,
        check=True,
        cwd=django_settings.BASE_DIR,
    )
    return json.loads(result.stdout)


def test_settings_switch_the_replica_on_only_when_it_is_configured():
    off = _settings_in_a_fresh_process()
    assert set(off["databases"]) == {"default"}
    assert off["routers"] == []

    on = _settings_in_a_fresh_process(
        REPORTING_DATABASE_URL="postgres://reader@replica.example:5432/ehcp"
    )
    reporting = on["databases"]["reporting"]
    assert on["routers"] == [ROUTER]
    assert (reporting["HOST"], reporting["USER"], reporting["NAME"]) == (
        "replica.example",
        "reader",
        "ehcp",
    )
    # The same connection options and health checks as the primary; never a test database
    # of its own.
    assert reporting["OPTIONS"] == on["databases"]["default"]["OPTIONS"]
    assert reporting["CONN_HEALTH_CHECKS"] is True
    assert reporting["TEST"]["MIRROR"] == "default"


# The dashboard and reports on PostgreSQL, with two connections


@pytest.fixture
def submitted_audits(rubric_page):
    """Twelve submitted audits by one auditor (enough for a public summary's group)."""
    auditor = UserFactory(username="replica-auditor", roles=["Auditor"])
    cycle = AuditCycleFactory(rubric=rubric_page, moderation_share=0)
    made = []
    for _ in range(12):
        assignment = assignment_create(
            PlanFactory(key_stage="KS2"), auditor, datetime.date(2026, 12, 1), None, cycle
        )
        made.append(audit_complete(assignment, auditor, GOOD))
    return auditor, cycle, made


def headline_audits(response):
    """The "Audits" figure of the dashboard's headline table."""
    page = BeautifulSoup(response.content, "html.parser")
    for row in page.select("table tbody tr"):
        cells = [cell.get_text(" ", strip=True) for cell in row.select("th, td")]
        if cells and cells[0] == "Audits":
            return int(cells[1])
    raise AssertionError("The dashboard has no Audits figure.")


@ON_POSTGRESQL
@TWO_CONNECTIONS
def test_the_dashboard_reads_its_figures_through_the_reporting_connection(
    client, reporting_alias, replica_router, submitted_audits, qa_lead
):
    auditor, cycle, _ = submitted_audits
    # Submitting one more audit: every query, written or read back, on the primary.
    assignment = assignment_create(
        PlanFactory(key_stage="KS3"), auditor, datetime.date(2026, 12, 1), None, cycle
    )
    with CaptureQueriesContext(connections[REPORTING_DB_ALIAS]) as on_replica:
        audit_complete(assignment, auditor, GOOD)
    assert list(on_replica) == []
    assert AuditFact.objects.using(DEFAULT_DB_ALIAS).count() == 13

    client.force_login(qa_lead)
    with (
        CaptureQueriesContext(connections[REPORTING_DB_ALIAS]) as on_replica,
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary,
    ):
        response = client.get(reverse("dashboard"), {"key_stage": "KS2"})
    assert response.status_code == 200
    assert headline_audits(response) == 12
    # Every aggregate over the facts ran on the replica's connection and none on the
    # primary's; the sign-in, permissions and actions were read from the primary; nothing
    # was written to the replica.
    assert len(fact_reads(on_replica)) >= 5
    assert fact_reads(on_primary) == []
    assert on_primary.captured_queries, "the session and permissions come from the primary"
    assert writes(on_replica) == []


@ON_POSTGRESQL
@TWO_CONNECTIONS
def test_a_report_snapshot_reads_its_figures_from_the_primary(
    home_page,
    reporting_alias,
    replica_router,
    submitted_audits,
):
    local_offer = LocalOfferIndexPageFactory(parent=home_page, slug="local-offer")
    page = QualitySummaryPage(
        title="Autumn 2026",
        slug="autumn-2026",
        period_start=datetime.date(2026, 9, 1),
        period_end=timezone.localdate(),
        show_key_stage=True,
        summary="How good were the plans we checked this autumn?",
        what_we_found="<p>Most plans were good.</p>",
        what_we_are_doing="<p>Training for writers of section F.</p>",
        what_the_grades_mean="<p>Good means the plan does what the law asks.</p>",
        feedback="<p>Email the SEND team.</p>",
    )
    local_offer.add_child(instance=page)
    with CaptureQueriesContext(connections[REPORTING_DB_ALIAS]) as on_replica:
        # Publishing commits, then the (eager, in tests) Celery task takes the snapshot.
        page.save_revision().publish()
    page.refresh_from_db()

    snapshot = ReportSnapshot.objects.get(revision=page.live_revision)
    # Frozen from the primary, so it can never miss an audit the replica has yet to receive.
    assert snapshot.data["headline"]["audits"] == 12
    assert fact_reads(on_replica) == []
    assert writes(on_replica) == []
