"""Email goes through Celery: a real worker, started here against the real Redis broker,
delivers the notification sent when a QA lead submits a rubric change for approval, and the
email telling an auditor a plan has been assigned to them."""

import datetime
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.urls import reverse

from portal import celery_app
from portal.audits.cycles import assignment_create
from portal.framework.services import rubric_export

from .admin_forms import rubric_edit_form_data
from .audits.factories import PlanFactory

REDIS_URL = os.environ.get("REDIS_URL")

pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(
        not REDIS_URL and not os.environ.get("CI"),
        reason="needs REDIS_URL (a real Redis) for a real Celery worker",
    ),
]


def test_database_url():
    """The test database, for a worker whose tasks read and write it (PostgreSQL only: the
    test database of SQLite lives in this process's memory)."""
    database = connection.settings_dict
    if connection.vendor != "postgresql":
        return None
    password = f":{quote(database['PASSWORD'])}" if database["PASSWORD"] else ""
    return (
        f"postgres://{quote(database['USER'])}{password}@{database['HOST'] or 'localhost'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )


@pytest.fixture
def worker(tmp_path):
    """A Celery worker in its own process on a queue of its own, delivering mail to files and
    (on PostgreSQL) working on the test database."""
    if not REDIS_URL:
        pytest.fail("CI must provide REDIS_URL so the Celery worker test can run")
    if test_database_url() is None:
        # Delivery reads each message's outbox row (portal.mail), so even the mail tests
        # need the worker on the test database.
        pytest.skip("the worker reaches the test database on PostgreSQL only")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "REDIS_URL": REDIS_URL,
        "EMAIL_DELIVERY_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(outbox),
    }
    if test_database_url():
        env["DATABASE_URL"] = test_database_url()
    process = subprocess.Popen(  # noqa: S603 - our own worker, fixed arguments
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-Q",
            queue,
            "--loglevel=INFO",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_default_queue
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    try:
        yield outbox
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = previous
        process.terminate()
        output, _ = process.communicate(timeout=30)
        print(output)


def wait_for_files(folder: Path, timeout=60, count=1):
    """The files the worker wrote into `folder`, once there are `count` (or the time is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = list(folder.iterdir())
        if len(files) >= count:
            time.sleep(0.5)  # let the worker finish writing
            return files
        time.sleep(0.25)
    return list(folder.iterdir())


@pytest.mark.django_db
def test_submission_email_is_delivered_by_a_real_worker(
    client,
    settings,
    rubric_page,
    qa_lead,
    second_qa_lead,
    worker,
    django_capture_on_commit_callbacks,
):
    # The test runner swaps in a local-memory backend; use the portal's own, as in production.
    settings.EMAIL_BACKEND = "portal.mail.CeleryEmailBackend"
    client.force_login(qa_lead)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("wagtailadmin_pages:edit", args=[rubric_page.pk]),
            rubric_edit_form_data(rubric_page, rubric_export(rubric_page), action="action-submit"),
        )
    assert response.status_code == 302

    files = wait_for_files(worker)
    assert files, "the worker delivered no email within a minute"
    delivered = "\n".join(path.read_text() for path in files)
    assert f"To: {second_qa_lead.email}" in delivered
    assert "Audit rubric" in delivered
    assert qa_lead.email not in delivered


@pytest.mark.django_db
def test_assignment_email_is_delivered_by_a_real_worker(
    settings, rubric_page, qa_lead, auditor, worker, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "portal.mail.CeleryEmailBackend"
    plan = PlanFactory(system_id="EHC-424242", locality="Riverside")
    with django_capture_on_commit_callbacks(execute=True):
        assignment_create(plan, auditor, datetime.date(2026, 12, 18), qa_lead)

    files = wait_for_files(worker)
    assert files, "the worker delivered no email within a minute"
    delivered = "\n".join(path.read_text() for path in files)
    assert f"To: {auditor.email}" in delivered
    assert "EHC-424242" in delivered
    assert "/audits/" in delivered
    # Never child details beyond the pseudonymous ID.
    assert "Riverside" not in delivered
    assert plan.get_primary_need_display() not in delivered
