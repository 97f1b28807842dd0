"""Submitting an audit (the full POST of the review screen) at 10 concurrent auditors, served
the production way: gunicorn serving portal.wsgi with portal.settings.production, on the
throwaway PostgreSQL database, beside a trivial view (GET /healthz) on the same server at the
same concurrency in the same run.

Each auditor's audits are recorded up to the point of submission beforehand (every section
and the findings saved through portal.audits.recording), so the measured request is exactly
what the auditor's "Submit" does: check the version, grade from the pinned rubric, store the
grades and status, and redirect. Before each POST the auditor GETs the review page, as a
browser would, for its version and CSRF token; only the POST is timed. Throughput is
completed submits over the phase's wall-clock time (so it includes those GETs)."""

import datetime
import io
import logging
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.audits.cycles import assignment_create
from portal.audits.models import Audit, KeyStage, Plan, PlanStage, PrimaryNeed, SettingType
from portal.audits.recording import (
    audit_save_findings,
    audit_save_section,
    audit_start,
    rubric_of_revision,
)
from portal.framework.roles import AUDITOR
from portal.training.models import Accreditation

BASE_DIR = Path(__file__).resolve().parents[2]
AUDITORS = 10
SUBMITS_PER_AUDITOR = 20
HEALTHZ_PER_AUDITOR = 200
TIME_LIMIT = 60  # seconds, for each measured phase
PASSWORD = secrets.token_urlsafe(16)
# gthread: 3 processes so both of the 2 cores serve Python (the GIL holds one core per
# process; the third covers a process blocked on PostgreSQL), 4 threads each so the
# 12 request slots exceed the 10 auditors and no one queues for a slot, only for the CPU.
WORKERS, THREADS = 3, 4
GUNICORN = [
    "--worker-class",
    "gthread",
    "--workers",
    str(WORKERS),
    "--threads",
    str(THREADS),
    "--keep-alive",
    "5",
    "--log-level",
    "warning",
]
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
VERSION_FIELD = re.compile(r'name="version" value="(\d+)"')


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _complete(audit, auditor, number):
    """Every section saved (some criteria met, the optional ones sometimes not applicable),
    then the findings: the audit is ready to submit."""
    rubric = rubric_of_revision(audit.rubric_revision_id)
    for index, section in enumerate(rubric["sections"]):
        if section["may_be_not_applicable"] and (number + index) % 4 == 0:
            audit = audit_save_section(
                audit, auditor, audit.version, section["key"], met=[], not_applicable=True
            )
            continue
        met = [c["key"] for i, c in enumerate(section["criteria"]) if (number + i) % 3]
        audit = audit_save_section(
            audit, auditor, audit.version, section["key"], met=met, note="Checked."
        )
    return audit_save_findings(
        audit,
        auditor,
        audit.version,
        strengths="The child's own words open the plan.",
        recommendations="Quantify the therapy in section F.",
        summary="A usable plan.",
    )


def prepare():
    """The demo rubric, 10 auditors with a known password and SUBMITS_PER_AUDITOR audits
    each, ready to submit. Returns [(username, [assignment ids])]."""
    quiet = logging.getLogger("wagtail")
    level, quiet.level = quiet.level, logging.WARNING  # not every demo page created
    try:
        call_command("load_demo_content", "--no-users", verbosity=0, stdout=io.StringIO())
    finally:
        quiet.setLevel(level)
    User = get_user_model()
    group, _ = Group.objects.get_or_create(name=AUDITOR)
    lead = User.objects.create(username="bench-lead")
    # Hashed with the production hasher directly: the test settings' MD5 hasher is not one
    # production accepts, and make_password only offers the configured hashers.
    password = PBKDF2PasswordHasher().encode(PASSWORD, secrets.token_hex(8))
    plans = Plan.objects.bulk_create(
        Plan(
            system_id=f"EHC-BENCH-{number:05d}",
            key_stage=KeyStage.KS2,
            primary_need=PrimaryNeed.ASD,
            setting_type=SettingType.MAINSTREAM,
            locality="North",
            plan_stage=PlanStage.NEW_PLAN,
            date_issued=datetime.date(2026, 9, 1),
        )
        for number in range(AUDITORS * SUBMITS_PER_AUDITOR)
    )
    due = datetime.date.today() + datetime.timedelta(days=30)
    auditors = []
    for index in range(AUDITORS):
        # No email address: assigning sends no mail.
        auditor = User.objects.create(username=f"bench-auditor-{index}", password=password)
        auditor.groups.add(group)
        # Production asks for a second factor: each auditor has an authenticator app.
        TOTPDevice.objects.create(user=auditor, name="Authenticator app")
        # Accredited as if carried over from earlier records: only accredited auditors
        # are given plans.
        Accreditation.objects.create(auditor=auditor, expires_on=due)
        ids = []
        for number in range(SUBMITS_PER_AUDITOR):
            plan = plans[index * SUBMITS_PER_AUDITOR + number]
            assignment = assignment_create(plan, auditor, due, lead)
            _complete(audit_start(assignment, auditor), auditor, number)
            ids.append(assignment.pk)
        auditors.append((auditor.username, ids))
    return auditors


class Client:
    """One auditor's browser. Production cookies are Secure, which requests' cookie jar
    never sends over plain http, so cookies are kept here and sent explicitly. Every request
    carries X-Forwarded-Proto: https, as the TLS-terminating proxy in front of gunicorn
    would: with SECURE_PROXY_SSL_HEADER Django then treats it as HTTPS exactly as in
    production (secure cookies, HSTS, strict Referer check on CSRF, so a same-origin
    Referer is sent with every POST)."""

    def __init__(self, base):
        self.base = base
        self.session = requests.Session()
        self.cookies = {}

    def request(self, method, path, **kwargs):
        headers = {
            "X-Forwarded-Proto": "https",
            "Referer": f"https://{self.base.split('://', 1)[1]}{path}",
        }
        response = self.session.request(
            method,
            self.base + path,
            headers=headers,
            cookies=self.cookies,
            allow_redirects=False,
            timeout=30,
            **kwargs,
        )
        self.cookies.update({cookie.name: cookie.value for cookie in response.cookies})
        return response

    def login(self, username):
        page = self.request("GET", "/accounts/login/")
        assert page.status_code == 200, f"login page: {page.status_code}"
        token = CSRF_FIELD.search(page.text).group(1)
        response = self.request(
            "POST",
            "/accounts/login/",
            data={"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD},
        )
        assert response.status_code == 302, f"login {username}: {response.status_code}"
        assert "sessionid" in self.cookies, f"login {username}: no session cookie"
        # Then the second factor, with the code the auditor's app would show now.
        held = self.request("GET", response.headers["Location"])
        verify = held.headers.get("Location", "")
        assert verify.startswith("/accounts/two-factor/verify/"), f"2FA {username}: {verify}"
        page = self.request("GET", verify)
        key = TOTPDevice.objects.get(user__username=username).bin_key
        response = self.request(
            "POST",
            verify,
            data={
                "csrfmiddlewaretoken": CSRF_FIELD.search(page.text).group(1),
                "code": f"{totp(key):06d}",
            },
        )
        assert response.status_code == 302, f"2FA {username}: {response.status_code}"


def _start_server(database_url, **extra_env):
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        **extra_env,
    }
    # Production serves static files through WhiteNoise's manifest storage, so templates
    # need the manifest: collect it, as a deployment does (into STATIC_ROOT, git-ignored).
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=BASE_DIR,
        env=env,
        check=True,
    )
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn, fixed arguments
        [str(gunicorn), *GUNICORN, "--bind", f"127.0.0.1:{port}", "portal.wsgi:application"],
        cwd=BASE_DIR,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {server.returncode}")
            try:
                # Gunicorn listens before its workers have loaded Django: wait for an answer.
                if requests.get(base + "/healthz", timeout=5).status_code == 200:
                    return server, base
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer within 60 s")
            time.sleep(0.2)
    except BaseException:
        _stop_server(server)
        raise


def _stop_server(server):
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _concurrently(clients, work):
    """Run work(client, index, deadline) in one thread per client; returns the wall time."""
    deadline = time.monotonic() + TIME_LIMIT
    threads = [
        threading.Thread(target=work, args=(client, index, deadline))
        for index, client in enumerate(clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def _percentile(values, share):
    ordered = sorted(values)
    return ordered[round(share * (len(ordered) - 1))] if ordered else float("nan")


def _latencies(timings, errors):
    text = (
        f"p50 {_percentile(timings, 0.5) * 1000:.0f} ms, "
        f"p95 {_percentile(timings, 0.95) * 1000:.0f} ms"
    )
    return text + (f", {len(errors)} ERRORS" if errors else "")


def measure(base, auditors):
    clients = [Client(base) for _ in auditors]
    for client, (username, _) in zip(clients, auditors, strict=True):
        client.login(username)
    lock = threading.Lock()

    health_times, health_errors = [], []

    def health(client, index, deadline):
        for _ in range(HEALTHZ_PER_AUDITOR):
            if time.monotonic() > deadline:
                break
            started = time.perf_counter()
            response = client.request("GET", "/healthz")
            took = time.perf_counter() - started
            with lock:
                if response.status_code == 200 and response.text == "ok":
                    health_times.append(took)
                else:
                    health_errors.append(f"/healthz: {response.status_code}")

    # Warm every worker thread before either measurement.
    _concurrently(clients, lambda client, index, deadline: client.request("GET", "/healthz"))
    health_seconds = _concurrently(clients, health)

    submit_times, submit_errors = [], []

    def submit(client, index, deadline):
        for assignment_id in auditors[index][1]:
            if time.monotonic() > deadline:
                break
            path = f"/audits/{assignment_id}/review/"
            page = client.request("GET", path)
            token, version = CSRF_FIELD.search(page.text), VERSION_FIELD.search(page.text)
            if page.status_code != 200 or not token or not version:
                with lock:
                    submit_errors.append(f"GET {path}: {page.status_code}")
                continue
            data = {"csrfmiddlewaretoken": token.group(1), "version": version.group(1)}
            started = time.perf_counter()
            response = client.request("POST", path, data=data)
            took = time.perf_counter() - started
            with lock:
                if response.status_code == 302 and response.headers.get("Location", "").endswith(
                    f"/audits/{assignment_id}/"
                ):
                    submit_times.append(took)
                else:
                    submit_errors.append(f"POST {path}: {response.status_code}")

    submit_seconds = _concurrently(clients, submit)
    return (health_times, health_errors, health_seconds), (
        submit_times,
        submit_errors,
        submit_seconds,
    )


def run(database_url=None):
    if connection.vendor != "postgresql":
        return [("skipped: the submission benchmark needs PostgreSQL", 0, 0)]
    database_url = database_url or os.environ["DATABASE_URL"]
    auditors = prepare()
    server, base = _start_server(database_url)
    try:
        health, submits = measure(base, auditors)
    finally:
        _stop_server(server)

    health_times, health_errors, health_seconds = health
    submit_times, submit_errors, submit_seconds = submits
    submitted = Audit.objects.filter(
        status=Audit.Status.SUBMITTED, assignment__auditor__username__startswith="bench-"
    ).count()
    if submitted != len(submit_times):
        submit_errors.append(f"{submitted} audits submitted, {len(submit_times)} answered 302")
    for error in sorted(set(health_errors + submit_errors)):
        print(f"ERROR: {error}", file=sys.stderr)
    baseline = len(health_times) / health_seconds
    rate = len(submit_times) / submit_seconds
    mean = statistics.fmean(submit_times) * 1000 if submit_times else float("nan")
    return [
        (
            f"baseline: GET /healthz (trivial view), {AUDITORS} concurrent; "
            f"{len(health_times)} requests, " + _latencies(health_times, health_errors),
            baseline,
            1.0,
        ),
        (
            f"submit an audit (full POST), {AUDITORS} concurrent auditors; "
            f"{len(submit_times)} submits, mean {mean:.0f} ms, "
            + _latencies(submit_times, submit_errors),
            rate,
            rate / baseline,
        ),
    ]
