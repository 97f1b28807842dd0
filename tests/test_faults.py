"""Faults, against the real services: with Redis down (or hung) an auditor still submits an
audit and an action owner still records an action as done, quickly and without an error, and
the mail those changes send follows through a real Celery worker once Redis is back, once
each; and a PostgreSQL connection dropped between two requests to a real gunicorn does not
fail the next request (CONN_HEALTH_CHECKS)."""

import datetime
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Page

from portal import celery_app
from portal.audits.actions import action_raise
from portal.audits.cycles import assignment_create
from portal.audits.models import Action, Assignment, Audit
from portal.framework.models import OutgoingEmail
from portal.framework.tasks import send_queued_email
from portal.mail import ALREADY_SENT, HAND_OVER_GRACE, deliver_email, task_send

from .audits.factories import AuditCycleFactory, PlanFactory
from .factories import UserFactory
from .page_factories import StandardIndexPageFactory
from .test_celery_worker import test_database_url as database_url_for_workers
from .test_celery_worker import wait_for_files
from .training.factories import audit_complete

BASE_DIR = Path(django_settings.BASE_DIR)
# Far above the few milliseconds a refused connection takes, far below a browser giving up.
REQUEST_SECONDS_WITH_REDIS_DOWN = 3
# A hung Redis costs each hand-over its socket timeouts (portal.mail), about four seconds,
# on top of the request's own work on a busy machine.
REQUEST_SECONDS_WITH_REDIS_HUNG = 10

pytestmark = [
    pytest.mark.skipif(
        django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="needs PostgreSQL (DATABASE_URL), which the worker and gunicorn can reach",
    ),
    # Serialized rollback puts back the rows migrations made, after these transactional tests.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
REDIS_SERVER = shutil.which("redis-server")
# Skipped on a machine without the program, but never in CI (.ci/run installs it): there a
# missing redis-server fails these tests instead of hiding them.
needs_redis_server = pytest.mark.skipif(
    REDIS_SERVER is None and not os.environ.get("CI"), reason="needs the redis-server program"
)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"{what} within {timeout} seconds")


class RedisServer:
    """A redis-server of the test's own, on a free port, without persistence, to stop and
    start again on the same port (or pause, to play a hung Redis)."""

    def __init__(self, folder):
        self.port = free_port()
        self.folder = folder
        self.process = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def _answers(self):
        try:
            return redis.Redis(port=self.port, socket_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def start(self):
        self.process = subprocess.Popen(  # noqa: S603 - our own server, fixed arguments
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, 10, "redis-server did not answer")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a paused server cannot act on SIGTERM
            self.process.terminate()
            self.process.wait(timeout=10)
        assert not self._answers()

    def pause(self):
        """Hung: connections are still accepted (by the kernel) but never answered."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def celery_on(own_redis, settings):
    """This process hands tasks to `own_redis` (not eager) on a queue of the test's own, and
    caches there too, as the base settings do with REDIS_URL."""
    conf = celery_app.conf
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    previous = conf.task_always_eager, conf.broker_url, conf.task_default_queue
    conf.task_always_eager, conf.broker_url, conf.task_default_queue = False, own_redis.url, queue
    settings.CACHES = {
        "default": {
            "BACKEND": "portal.framework.cache.FailOpenRedisCache",
            "LOCATION": own_redis.url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    yield queue
    conf.task_always_eager, conf.broker_url, conf.task_default_queue = previous


@pytest.fixture
def worker(own_redis, celery_on, tmp_path):
    """A real Celery worker on `own_redis` and the test database, delivering mail to files."""
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "REDIS_URL": own_redis.url,
        "DATABASE_URL": database_url_for_workers(),
        "EMAIL_DELIVERY_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(outbox),
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603 - our own worker, fixed arguments
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "--pool=solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-Q",
                celery_on,
                "--loglevel=INFO",
            ],
            env=env,
            cwd=BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: " ready." in log_path.read_text(), 60, "the worker was not ready")
        yield outbox, log_path
    finally:
        process.terminate()
        process.wait(timeout=30)
        print(log_path.read_text())


@pytest.fixture
def draft_audit(rubric_page, auditor, qa_lead):
    """An audit with every section recorded, ready for its auditor to submit."""
    cycle = AuditCycleFactory(rubric=rubric_page)
    assignment = assignment_create(
        PlanFactory(system_id="EHC-310001"), auditor, timezone.localdate(), qa_lead, cycle=cycle
    )
    return audit_complete(assignment, auditor, {"A": ["A1"], "J": None}, submit=False)


@pytest.fixture
def reaudit_action(rubric_page, auditor, qa_lead):
    """A "re-audit later" action on a plan the auditor audited: done, it assigns the plan to
    them again, which emails them."""
    owner = UserFactory(username="owner1", roles=["Action owner"], agency="health")
    cycle = AuditCycleFactory(rubric=rubric_page)
    assignment = assignment_create(
        PlanFactory(system_id="EHC-310002"), auditor, timezone.localdate(), qa_lead, cycle=cycle
    )
    audit = audit_complete(assignment, auditor, {"A": ["A1", "A2"], "J": None})
    return action_raise(
        raised_by=qa_lead,
        description="Rewrite the outcomes in section E.",
        kind=Action.Kind.REAUDIT,
        agency="health",
        owner=owner,
        due_on=timezone.localdate() + datetime.timedelta(days=30),
        audit=audit,
    )


def timed_post(client, user, url, data):
    client.force_login(user)
    started = time.monotonic()
    response = client.post(url, data)
    return response, time.monotonic() - started


def submit(client, audit):
    return timed_post(
        client,
        audit.assignment.auditor,
        reverse("audit_review", args=[audit.assignment_id]),
        {"version": audit.version},
    )


def mark_done(client, action):
    data = {"version": action.version, "status": "done", "note": "Rewritten.", "cancel_reason": ""}
    return timed_post(client, action.owner, reverse("action_detail", args=[action.pk]), data)


def wait_out_the_grace(email):
    """The re-drive leaves alone a message younger than HAND_OVER_GRACE."""
    age = timezone.now() - email.created_at
    time.sleep(max(0, (HAND_OVER_GRACE - age).total_seconds()) + 0.1)


@needs_redis_server
def test_with_redis_down_audits_and_actions_are_saved_and_their_mail_follows_once(
    client, settings, own_redis, worker, draft_audit, reaudit_action, auditor, home_page
):
    outbox, worker_log = worker
    StandardIndexPageFactory(parent=home_page, slug="standards", title="Our standards")
    settings.EMAIL_BACKEND = "portal.mail.CeleryEmailBackend"  # as in production
    own_redis.stop()

    submitted, submit_took = submit(client, draft_audit)
    # The pages people are taken to show too, with the site's navigation (which Wagtail
    # looks up in the cache).
    submitted_page = client.get(submitted.url)
    updated, update_took = mark_done(client, reaudit_action)
    updated_page = client.get(updated.url)
    home_page = client.get("/")

    # Both people get the page they always get, at once, and their changes are kept.
    assert submitted.status_code == 302
    assert submitted.url == reverse("audit_overview", args=[draft_audit.assignment_id])
    assert updated.status_code == 302
    assert updated.url == reverse("action_detail", args=[reaudit_action.pk])
    assert (submitted_page.status_code, updated_page.status_code) == (200, 200)
    assert home_page.status_code == 200
    assert "Our standards" in home_page.content.decode()
    print(f"With Redis down: submit {submit_took:.3f}s, action update {update_took:.3f}s")
    assert submit_took < REQUEST_SECONDS_WITH_REDIS_DOWN
    assert update_took < REQUEST_SECONDS_WITH_REDIS_DOWN
    draft_audit.refresh_from_db()
    assert draft_audit.status == Audit.Status.SUBMITTED
    reaudit_action.refresh_from_db()
    assert reaudit_action.status == Action.Status.DONE
    reaudit = Assignment.objects.get(plan__system_id="EHC-310002", audit__isnull=True)
    assert reaudit.auditor == auditor

    # The re-audit's email to the auditor waits in the outbox; nothing is delivered yet.
    email = OutgoingEmail.objects.get()
    assert (email.status, email.queued_at) == (OutgoingEmail.Status.PENDING, None)
    assert email.message["to"] == [auditor.email]
    assert list(outbox.iterdir()) == []

    own_redis.start()
    wait_out_the_grace(email)
    assert send_queued_email() == 1  # the beat task's work, as its worker would do it

    files = wait_for_files(outbox, count=1)
    assert len(files) == 1, "the worker delivered no email within a minute"
    delivered = files[0].read_text()
    assert f"To: {auditor.email}" in delivered
    assert "EHC-310002" in delivered
    email.refresh_from_db()
    assert (email.status, email.attempts) == (OutgoingEmail.Status.SENT, 1)
    assert send_queued_email() == 0

    # Handed over once more (a re-drive racing the worker, say): the worker does not send it.
    assert task_send(deliver_email, None, email.pk)
    already = ALREADY_SENT % email.pk
    wait_until(lambda: already in worker_log.read_text(), 60, "the worker did not skip it")
    assert len(list(outbox.iterdir())) == 1


@needs_redis_server
def test_with_redis_hung_a_request_still_returns_within_seconds(
    client, settings, own_redis, celery_on, reaudit_action
):
    settings.EMAIL_BACKEND = "portal.mail.CeleryEmailBackend"
    own_redis.pause()
    try:
        updated, took = mark_done(client, reaudit_action)
    finally:
        own_redis.resume()

    print(f"With Redis hung: action update {took:.3f}s")
    assert updated.status_code == 302
    assert took < REQUEST_SECONDS_WITH_REDIS_HUNG
    email = OutgoingEmail.objects.get()
    assert (email.status, email.queued_at) == (OutgoingEmail.Status.PENDING, None)

    wait_out_the_grace(email)
    assert send_queued_email() == 1
    email.refresh_from_db()
    assert email.queued_at is not None
    assert redis.Redis(port=own_redis.port).llen(celery_on) == 1  # waiting for a worker


# PostgreSQL


GUNICORN_WITHOUT_HEALTH_CHECKS = """
def post_worker_init(worker):
    from django.db import connections

    connections["default"].settings_dict["CONN_HEALTH_CHECKS"] = False
"""


@pytest.fixture
def gunicorn(tmp_path):
    """Start a real gunicorn (one sync worker, so one persistent database connection) on the
    test database with CONN_MAX_AGE from the base settings' default; returns the address and
    the application_name its connection carries."""
    processes = []

    def start(health_checks=True):
        port, name = free_port(), f"faults-{uuid.uuid4().hex[:8]}"
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("REDIS_", "CELERY_", "CONN_"))
        }
        env.update(
            DJANGO_SETTINGS_MODULE="portal.settings.dev",
            DATABASE_URL=f"{database_url_for_workers()}?application_name={name}",
        )
        arguments = [
            sys.executable,
            "-m",
            "gunicorn",
            "portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--worker-class",
            "sync",
            "--log-file",
            str(tmp_path / f"{name}.log"),
        ]
        if not health_checks:
            config = tmp_path / f"{name}.py"
            config.write_text(GUNICORN_WITHOUT_HEALTH_CHECKS)
            arguments += ["--config", str(config)]
        process = subprocess.Popen(arguments, env=env, cwd=BASE_DIR)  # noqa: S603
        processes.append(process)
        address = f"http://127.0.0.1:{port}"
        wait_until(lambda: http_get(address + "/healthz")[0] == 200, 30, "gunicorn did not start")
        return address, name

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=30)


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - our server
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return None, ""


def backends(name):
    """The PostgreSQL backends serving the connection named `name`."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [name])
        return [pid for (pid,) in cursor.fetchall()]


def drop_connection(name):
    """Terminate gunicorn's connection from our own (another, administrative) connection."""
    [pid] = backends(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone() == (True,)
    wait_until(lambda: not backends(name), 10, "the backend did not go")
    return pid


@pytest.fixture
def titled_home(home_page):
    title = f"Riverside EHCP quality {uuid.uuid4().hex[:6]}"
    Page.objects.filter(pk=home_page.pk).update(title=title)
    return title


def test_the_request_after_postgresql_drops_the_connection_succeeds(gunicorn, titled_home):
    address, name = gunicorn()
    status, body = http_get(address + "/")
    assert (status, titled_home in body) == (200, True)
    [first] = backends(name)  # kept open after the request (CONN_MAX_AGE)

    assert drop_connection(name) == first
    status, body = http_get(address + "/")

    assert (status, titled_home in body) == (200, True)
    assert backends(name) not in ([], [first])  # a new connection took its place


def test_without_health_checks_that_request_would_fail(gunicorn, titled_home):
    """The control: the same drop fails the next request when nothing checks the connection,
    so the test above really exercises CONN_HEALTH_CHECKS."""
    address, name = gunicorn(health_checks=False)
    assert http_get(address + "/")[0] == 200
    drop_connection(name)

    assert http_get(address + "/")[0] == 500
    assert http_get(address + "/")[0] == 200  # Django drops a connection that failed
