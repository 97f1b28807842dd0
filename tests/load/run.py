"""`make load`: the portal under a mixed load for a fixed time, served the production way.

In a throwaway PostgreSQL database (tests.benchmarks.run.throwaway_database): the demo
content, LOAD_SIZE synthetic audits (50,000) and the demo quality summaries published over
them; 20 accredited auditors each with plans to audit, and 3 QA leads, every one with a known
password and a confirmed authenticator app (production settings ask everyone for a second
factor). Then gunicorn (production settings, the benchmarks' 3 workers × 4 threads) and a
real Celery worker (production settings, the same database and Redis) are started, and
Locust (tests/load/locustfile.py) runs headless with 20 auditors, LOAD_READERS (100)
anonymous readers and 3 QA leads: everyone signs in, then LOAD_SECONDS (120) are measured.
Prints, per kind of request, requests, requests a second, p50/p95/p99 and errors in that
window (and the sign-ins before it); then stops everything and drops the database. Exits 1
if any request failed or the submitted audits do not match the submits answered.

LOAD_REDIS_URL names a Redis database for the run alone (it is emptied first; database 11
of the local server by default)."""

import datetime
import io
import json
import logging
import math
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import django

BASE_DIR = Path(__file__).resolve().parents[2]
SECONDS = int(os.environ.get("LOAD_SECONDS", "120"))
SIZE = int(os.environ.get("LOAD_SIZE", "50000"))
READERS = int(os.environ.get("LOAD_READERS", "100"))
REDIS_URL = os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/11")
AUDITORS = 20
LEADS = 3
# More plans than the briskest auditor could finish in the time (an audit is 14 steps).
PLANS_PER_AUDITOR = max(4, math.ceil(SECONDS / 20))
SPAWN_RATE = 10  # users started a second: the sign-ins' password hashing is slow on purpose
AIM_SAVE_P95_MS = 300
PASSWORD = secrets.token_urlsafe(16)


def _quietly(command, *args):
    from django.core.management import call_command

    quiet = logging.getLogger("wagtail")
    level, quiet.level = quiet.level, logging.WARNING
    try:
        call_command(command, *args, verbosity=0, stdout=io.StringIO())
    finally:
        quiet.setLevel(level)


def _with_authenticator(user):
    """A confirmed authenticator app for `user`; returns what Locust needs to make codes."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    return {"key": device.key, "step": device.step, "t0": device.t0}


def prepare():
    """The data, the people and the pages the run uses; returns the plan for Locust."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import PBKDF2PasswordHasher
    from django.contrib.auth.models import Group

    from portal.audits.cycles import assignment_create
    from portal.audits.dashboard_forms import DashboardFilterForm
    from portal.audits.models import KeyStage, Plan, PlanStage, PrimaryNeed, SettingType
    from portal.framework.models import RubricPage
    from portal.framework.roles import AUDITOR, QA_LEAD
    from portal.framework.services import rubric_export
    from portal.local_offer.demo import load_demo_summaries
    from portal.local_offer.models import LocalOfferIndexPage, QualitySummaryPage
    from portal.training.models import Accreditation

    _quietly("load_demo_content", "--no-users")
    _quietly("generate_synthetic_data", "--size", str(SIZE))
    User = get_user_model()
    auditor_group, lead_group = Group.objects.get(name=AUDITOR), Group.objects.get(name=QA_LEAD)
    # Publishing outside the approval workflow takes a superuser, as in the demo content.
    publisher = User.objects.create(username="load-publisher", is_superuser=True)
    load_demo_summaries(LocalOfferIndexPage.objects.get(), publisher)

    # The production hasher, used directly: the test settings' MD5 is not one production
    # accepts.
    password = PBKDF2PasswordHasher().encode(PASSWORD, secrets.token_hex(8))
    leads = []
    for index in range(LEADS):
        lead = User.objects.create(username=f"load-lead-{index}", password=password)
        lead.groups.add(lead_group)
        leads.append({"username": lead.username, "totp": _with_authenticator(lead)})

    plans = Plan.objects.bulk_create(
        Plan(
            system_id=f"EHC-LOAD-{number:05d}",
            key_stage=KeyStage.KS2,
            primary_need=PrimaryNeed.ASD,
            setting_type=SettingType.MAINSTREAM,
            locality="North",
            plan_stage=PlanStage.NEW_PLAN,
            date_issued=datetime.date(2026, 9, 1),
        )
        for number in range(AUDITORS * PLANS_PER_AUDITOR)
    )
    due = datetime.date.today() + datetime.timedelta(days=30)
    lead_user = User.objects.get(username="load-lead-0")
    auditors = []
    for index in range(AUDITORS):
        # No email address: being given plans sends no mail.
        auditor = User.objects.create(username=f"load-auditor-{index}", password=password)
        auditor.groups.add(auditor_group)
        # Accredited as if carried over from earlier records: only accredited auditors are
        # given plans.
        Accreditation.objects.create(auditor=auditor, expires_on=due)
        ids = [
            assignment_create(plan, auditor, due, lead_user).pk
            for plan in plans[index * PLANS_PER_AUDITOR : (index + 1) * PLANS_PER_AUDITOR]
        ]
        auditors.append(
            {"username": auditor.username, "totp": _with_authenticator(auditor), "assignments": ids}
        )

    first_section = rubric_export(RubricPage.objects.live().get())["sections"][0]["key"]
    summaries = []
    for page in QualitySummaryPage.objects.live().order_by("-period_start"):
        table = page.snapshot().data["tables"][0]["name"]
        path = page.get_url()
        summaries.append({"path": path, "title": page.title, "csv": f"{path}data/{table}/csv/"})
    queries = [
        {},
        {"key_stage": KeyStage.KS2.value},
        {"primary_need": PrimaryNeed.ASD.value, "breakdown": "setting_type"},
        {"key_stage": KeyStage.KS4.value, "breakdown": "locality"},
    ]
    for query in queries:
        assert DashboardFilterForm(query).is_valid(), query
    return {
        "password": PASSWORD,
        "auditors": auditors,
        "leads": leads,
        "first_section": first_section,
        "local_offer": LocalOfferIndexPage.objects.get().get_url(),
        "summaries": summaries,
        "dashboard_queries": queries,
    }


def production_env(database_url):
    """The environment gunicorn and the Celery worker share: production settings."""
    return {
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        # Nothing the run does should send mail; if anything did, it goes nowhere.
        "EMAIL_DELIVERY_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
    }


def start_worker(env, log):
    worker = subprocess.Popen(  # noqa: S603 - our own venv's Celery, fixed arguments
        [
            *(sys.executable, "-m", "celery", "-A", "portal", "worker", "--concurrency=1"),
            *("--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"),
        ],
        cwd=BASE_DIR,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while "ready." not in Path(log.name).read_text():
        if worker.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the Celery worker did not start; see {log.name}")
        time.sleep(0.5)
    return worker


def stop(process):
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_locust(base, plan_path, results_path, log):
    """Locust, headless, until the locustfile ends the measured window (or, if sign-ins
    never finish, a generous time limit)."""
    users = AUDITORS + LEADS + READERS
    locust = Path(sys.executable).with_name("locust")
    subprocess.run(  # noqa: S603 - our own venv's Locust, fixed arguments
        [
            *(str(locust), "-f", str(Path(__file__).with_name("locustfile.py")), "--headless"),
            *("--users", str(users), "--spawn-rate", str(SPAWN_RATE)),
            *("--run-time", f"{SECONDS + 600}s", "--host", base, "--only-summary"),
            *("--stop-timeout", "30", "--loglevel", "WARNING"),
        ],
        cwd=BASE_DIR,
        env={
            **os.environ,
            "LOAD_PLAN": str(plan_path),
            "LOAD_RESULTS": str(results_path),
            "LOAD_SECONDS": str(SECONDS),
        },
        stdout=log,
        stderr=subprocess.STDOUT,
        check=False,
    )


def percentile(values, share):
    """The nearest-rank percentile of `values` (milliseconds)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def summarise(timings, seconds):
    """{name: (requests, per second, p50, p95, p99, errors)} from Locust's request records;
    a failed request's time still counts in its percentiles."""
    times, errors = {}, {}
    for name, _, took, failed, _ in timings:
        times.setdefault(name, []).append(took)
        errors[name] = errors.get(name, 0) + failed
    rows = {}
    for name in sorted(times):
        rows[name] = (
            len(times[name]),
            len(times[name]) / seconds,
            percentile(times[name], 0.50),
            percentile(times[name], 0.95),
            percentile(times[name], 0.99),
            errors[name],
        )
    return rows


def print_table(rows, seconds):
    print(f"\n## Load: {AUDITORS} auditors, {READERS} readers, {LEADS} QA leads for {SECONDS} s\n")
    print(f"| {'request':<34} | requests | per s | p50 ms | p95 ms | p99 ms | errors |")
    print(f"|{'-' * 36}|---------:|------:|-------:|-------:|-------:|-------:|")
    total, total_errors = 0, 0
    for name, (count, rate, p50, p95, p99, errors) in rows.items():
        total, total_errors = total + count, total_errors + errors
        print(
            f"| {name:<34} | {count:>8,} | {rate:>5.1f} | {p50:>6.0f} | {p95:>6.0f} | "
            f"{p99:>6.0f} | {errors:>6} |"
        )
    print(
        f"| {'all requests':<34} | {total:>8,} | {total / seconds:>5.1f} | {'':>6} | {'':>6} | "
        f"{'':>6} | {total_errors:>6} |"
    )


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
    from tests.benchmarks.run import throwaway_database

    with throwaway_database() as database_url:
        if not database_url:
            print("No PostgreSQL server: the load test did not run.", file=sys.stderr)
            return 2
        os.environ["DATABASE_URL"] = database_url
        django.setup()
        import redis
        from django.core.management import call_command

        from portal.audits.models import Audit
        from tests.benchmarks.bench_submit import _start_server, _stop_server

        print(
            f"# {platform.node()} · {platform.machine()} · {os.cpu_count()} cores · "
            f"Python {platform.python_version()}",
            flush=True,
        )
        redis.Redis.from_url(REDIS_URL).flushdb()
        started = time.monotonic()
        call_command("migrate", verbosity=0)
        plan = prepare()
        print(f"prepared in {time.monotonic() - started:.0f} s", flush=True)
        folder = Path(tempfile.mkdtemp(prefix="ehcp-load-"))
        plan_path, results_path = folder / "plan.json", folder / "timings.json"
        plan_path.write_text(json.dumps(plan))
        env = production_env(database_url)
        with (folder / "worker.log").open("w") as worker_log:
            worker = start_worker(env, worker_log)
            try:
                server, base = _start_server(database_url, **env)
                try:
                    with (folder / "locust.log").open("w") as locust_log:
                        run_locust(base, plan_path, results_path, locust_log)
                finally:
                    _stop_server(server)
            finally:
                stop(worker)
        if not results_path.exists():
            print(f"Locust wrote no results; see {folder}", file=sys.stderr)
            return 1
        results = json.loads(results_path.read_text())
        window = results["window"]
        if window["from"] is None:
            print(f"Not everyone could sign in; see {folder}", file=sys.stderr)
            return 1
        seconds = window["until"] - window["from"]
        timings = [r for r in results["requests"] if r[1] >= window["from"]]
        sign_ins = [r for r in results["requests"] if r[0].startswith("sign in")]
        rows = summarise(timings, seconds)
        print_table(rows, seconds)
        print(f"\nmeasured for {seconds:.0f} s after everyone had signed in; sign-ins before:")
        for name, (count, _, p50, p95, _, errors) in summarise(sign_ins, 1).items():
            print(f"  {name}: {count}, p50 {p50:.0f} ms, p95 {p95:.0f} ms, {errors} errors")
        print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}")
        answered = sum(
            1 for r in results["requests"] if r[0] == "auditor: submit an audit" and not r[3]
        )
        submitted = Audit.objects.filter(
            status=Audit.Status.SUBMITTED, assignment__auditor__username__startswith="load-"
        ).count()
        print(f"\naudits submitted: {submitted} ({answered} submits answered as expected)")
        mismatch = [] if submitted == answered else [f"{submitted} submitted, {answered} answered"]
        saves = rows.get("auditor: save a section")
        if saves:
            verdict = "met" if saves[3] < AIM_SAVE_P95_MS else "NOT met"
            print(
                f"aim: auditor saves p95 under {AIM_SAVE_P95_MS} ms: {saves[3]:.0f} ms, {verdict}"
            )
        errors = sorted({r[4] for r in results["requests"] if r[3]}) + mismatch
        for message in errors[:20]:
            print(f"ERROR: {message}", file=sys.stderr)
        print(f"logs: {folder}")
        return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
