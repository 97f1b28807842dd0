"""The people `make load` plays (tests/load/run.py prepares them and starts Locust on this
file): auditors recording audits section by section and now and then submitting one, parents
and carers reading the Local Offer's quality summaries, and QA leads opening the dashboard
under filters. Each signs in as a browser would (the sign-in page, then the authenticator
app's code), GETs every form before posting it for its CSRF token and version, and sends
X-Forwarded-Proto: https as the TLS-terminating proxy in front of gunicorn would.

Everyone signs in first (each sign-in hashes a password, slowly on purpose); the measured
window of LOAD_SECONDS starts when the last sign-in is done, and the run stops at its end.
Reads the plan run.py wrote (LOAD_PLAN) and writes every request's name, start, time and
outcome, and the window, to LOAD_RESULTS when the run stops. Django is not imported here,
only django_otp's TOTP."""

import itertools
import json
import os
import random
import re
import time
from pathlib import Path

import gevent
from django_otp.oath import totp
from locust import HttpUser, between, events, task

PLAN = json.loads(Path(os.environ["LOAD_PLAN"]).read_text())
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
VERSION_FIELD = re.compile(r'name="version" value="(\d+)"')
CRITERION_FIELD = re.compile(r'name="met" type="checkbox" value="([^"]+)"')
NOT_APPLICABLE_FIELD = 'name="not_applicable"'
# Think time between steps. Auditors work briskly (a real one spends minutes on a section);
# readers read a page for a few seconds; QA leads look at a dashboard a little longer.
AUDITOR_WAIT = between(1, 3)
READER_WAIT = between(1, 4)
LEAD_WAIT = between(2, 5)

SECONDS = int(os.environ["LOAD_SECONDS"])

TIMINGS = []
WINDOW = {"from": None, "until": None}
# People still signing in (one process, one counter).
SIGNING_IN = {"left": len(PLAN["auditors"]) + len(PLAN["leads"])}
_auditors = iter(PLAN["auditors"])
_leads = itertools.cycle(PLAN["leads"])


@events.request.add_listener
def _record(request_type, name, response_time, exception, **kwargs):
    started = time.time() - response_time / 1000
    TIMINGS.append((name, started, response_time, exception is not None, str(exception or "")))


@events.test_stop.add_listener
def _write_timings(**kwargs):
    WINDOW["until"] = WINDOW["until"] or time.time()
    Path(os.environ["LOAD_RESULTS"]).write_text(json.dumps({"window": WINDOW, "requests": TIMINGS}))


def _sign_in_done(environment):
    """Start the measured window once everyone has signed in (or failed to), and end the
    run LOAD_SECONDS later."""
    SIGNING_IN["left"] -= 1
    if SIGNING_IN["left"] == 0:
        WINDOW["from"] = time.time()

        def end():
            WINDOW["until"] = time.time()
            environment.runner.quit()

        gevent.spawn_later(SECONDS, end)


class Browser(HttpUser):
    """A signed-in (or anonymous) browser behind the proxy. Production cookies are Secure,
    which the HTTP client never sends over plain http, so they are kept and sent here."""

    abstract = True

    def on_start(self):
        self.cookies = {}

    @staticmethod
    def wait_for_window():
        """Nobody starts working until everyone has signed in."""
        while WINDOW["from"] is None:
            gevent.sleep(0.2)

    def request(self, method, path, name, expect=(200,), check=None, **kwargs):
        """One request; a failure unless its status is expected and `check` (if given) says
        the response is right. Returns the response."""
        headers = {
            "X-Forwarded-Proto": "https",
            "Referer": f"https://{self._host()}{path}",
            # One connection per request, as nginx talks to gunicorn unless told otherwise
            # (docs/deployment.md); it also spares a request racing gunicorn's keep-alive
            # timeout on an idle connection.
            "Connection": "close",
        }
        with self.client.request(
            method,
            path,
            name=name,
            headers=headers,
            cookies=self.cookies,
            allow_redirects=False,
            catch_response=True,
            **kwargs,
        ) as response:
            self.cookies.update({cookie.name: cookie.value for cookie in response.cookies})
            if response.status_code == 0:
                response.failure(f"no response: {response.error!r}")
            elif response.status_code not in expect:
                response.failure(f"{response.status_code} (expected {expect})")
            elif check and not check(response):
                response.failure("unexpected response")
            else:
                response.success()
            return response

    def _host(self):
        return self.host.split("://", 1)[1]

    def sign_in(self, account):
        """The sign-in page, then the authenticator app's code on the verification page."""
        page = self.request("GET", "/accounts/login/", "sign in: page")
        token = CSRF_FIELD.search(page.text)
        signed_in = self.request(
            "POST",
            "/accounts/login/",
            "sign in: password",
            expect=(302,),
            data={
                "csrfmiddlewaretoken": token.group(1) if token else "",
                "username": account["username"],
                "password": PLAN["password"],
            },
        )
        if signed_in.status_code != 302:
            return False
        verify_path = "/accounts/two-factor/verify/?next=/"
        page = self.request("GET", verify_path, "sign in: code page")
        token = CSRF_FIELD.search(page.text)
        device = account["totp"]
        code = totp(bytes.fromhex(device["key"]), step=device["step"], t0=device["t0"], digits=6)
        verified = self.request(
            "POST",
            verify_path,
            "sign in: code",
            expect=(302,),
            data={
                "csrfmiddlewaretoken": token.group(1) if token else "",
                "code": f"{code:06d}",
                "next": "/",
            },
        )
        return verified.status_code == 302


class Auditor(Browser):
    """Works through their assignments: each section opened and saved, then the findings,
    then the review page and Submit; then the next plan."""

    fixed_count = len(PLAN["auditors"])
    wait_time = AUDITOR_WAIT

    def on_start(self):
        super().on_start()
        self.account = next(_auditors)
        self.assignments = list(self.account["assignments"])
        self.next_path = None
        self.assignments_started = False
        self.signed_in = self.sign_in(self.account)
        _sign_in_done(self.environment)
        self.wait_for_window()

    def _next_audit(self):
        if not self.assignments:
            return None
        assignment = self.assignments.pop(0)
        return f"/audits/{assignment}/section/{PLAN['first_section']}/"

    @task
    def next_step(self):
        if not self.signed_in:
            self.stop()
            return
        if self.next_path is None and not self.assignments_started:
            self.assignments_started = True
            self.request("GET", "/audits/", "auditor: my audits")
            return
        path = self.next_path or self._next_audit()
        if path is None:
            self.stop()  # every assigned plan audited
            return
        if "/section/" in path:
            self.next_path = self.save_section(path)
        elif path.endswith("/findings/"):
            self.next_path = self.save_findings(path)
        elif path.endswith("/review/"):
            self.next_path = self.submit(path)
        else:
            self.next_path = None

    def _form(self, path, name):
        page = self.request("GET", path, name)
        token, version = CSRF_FIELD.search(page.text), VERSION_FIELD.search(page.text)
        if page.status_code != 200 or not token or not version:
            return page, None
        return page, {"csrfmiddlewaretoken": token.group(1), "version": version.group(1)}

    def _post(self, path, name, data, ends_with):
        response = self.request(
            "POST",
            path,
            name,
            expect=(302,),
            check=lambda r: r.headers.get("Location", "").endswith(ends_with),
            data=data,
        )
        if response.status_code != 302:
            return None
        return response.headers["Location"].split("://", 1)[-1].split(self._host(), 1)[-1]

    def save_section(self, path):
        page, data = self._form(path, "auditor: open a section")
        if data is None:
            return None
        criteria = CRITERION_FIELD.findall(page.text)
        if NOT_APPLICABLE_FIELD in page.text and random.random() < 0.2:
            data["not_applicable"] = "on"
        else:
            data["met"] = [key for key in criteria if random.random() < 0.7]
            data["note"] = "Checked against the plan in the case-management system."
        data["then"] = "continue"
        return self._post(path, "auditor: save a section", data, "/")

    def save_findings(self, path):
        _, data = self._form(path, "auditor: open the findings")
        if data is None:
            return None
        data.update(
            strengths="The child's own words open the plan.",
            recommendations="Quantify the therapy in section F.",
            summary="A usable plan with gaps in provision.",
            then="continue",
        )
        return self._post(path, "auditor: save the findings", data, "/review/")

    def submit(self, path):
        _, data = self._form(path, "auditor: open the review")
        if data is None:
            return None
        overview = path.removesuffix("review/")
        self._post(path, "auditor: submit an audit", data, overview)
        return None


class Reader(Browser):
    """A parent or carer on the Local Offer: the list of summaries, a summary, its CSV."""

    weight = 1
    wait_time = READER_WAIT

    def on_start(self):
        super().on_start()
        self.wait_for_window()

    @task(3)
    def summary(self):
        page = random.choice(PLAN["summaries"])
        self.request(
            "GET",
            page["path"],
            "reader: a quality summary",
            check=lambda r: page["title"] in r.text,
        )

    @task(1)
    def index(self):
        self.request(
            "GET",
            PLAN["local_offer"],
            "reader: the Local Offer list",
            check=lambda r: PLAN["summaries"][0]["title"] in r.text,
        )

    @task(1)
    def csv(self):
        page = random.choice(PLAN["summaries"])
        self.request(
            "GET",
            page["csv"],
            "reader: a table as CSV",
            check=lambda r: r.headers.get("Content-Type", "").startswith("text/csv"),
        )


class QALead(Browser):
    """Opens the quality dashboard, with no filter and under the filters QA leads use."""

    fixed_count = len(PLAN["leads"])
    wait_time = LEAD_WAIT

    def on_start(self):
        super().on_start()
        self.signed_in = self.sign_in(next(_leads))
        _sign_in_done(self.environment)
        self.wait_for_window()

    @task
    def dashboard(self):
        if not self.signed_in:
            self.stop()
            return
        query = random.choice(PLAN["dashboard_queries"])
        self.request(
            "GET",
            "/dashboard/",
            "QA lead: the dashboard" + (" (filtered)" if query else ""),
            params=query,
            check=lambda r: "Plans audited" in r.text,
        )
