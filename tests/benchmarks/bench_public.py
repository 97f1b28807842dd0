"""A public quality summary on the Local Offer, read by anonymous parents and carers, served
the production way: gunicorn serving portal.wsgi with portal.settings.production on the
throwaway PostgreSQL database, with Redis as the cache, beside a trivial view (GET /healthz)
on the same server at the same concurrency in the same run.

The two demo summaries are published over BENCH_PUBLIC_SIZE synthetic audits (their
figures frozen at publishing, as in production) and the newer one, which also shows the
trend against the older, is read:

- cached: the server as deployed, so after the first request each reader gets the page
  from Redis;
- uncached: a second server with PORTAL_REPORT_CACHE_SECONDS=0, so every request renders
  the page from its frozen snapshot (the figures are never recomputed for a reader).

Throughput is answered requests over each phase's wall-clock time; the load generator shares
the machine's cores with the server."""

import io
import logging
import os
import sys
import threading
import time

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection

from portal.local_offer.demo import load_demo_summaries
from portal.local_offer.models import LocalOfferIndexPage, QualitySummaryPage

from .bench_submit import _concurrently, _latencies, _start_server, _stop_server

READERS = 10
REQUESTS_PER_READER = 200
SIZE = int(os.environ.get("BENCH_PUBLIC_SIZE", "20000"))


def prepare():
    """Demo pages, synthetic audits and the two demo summaries published over them; returns
    the newer summary's path and a phrase its page must contain."""
    quiet = logging.getLogger("wagtail")
    level, quiet.level = quiet.level, logging.WARNING
    try:
        call_command("load_demo_content", "--no-users", verbosity=0, stdout=io.StringIO())
    finally:
        quiet.setLevel(level)
    call_command("generate_synthetic_data", "--size", str(SIZE), stdout=io.StringIO())
    publisher = get_user_model().objects.create(username="bench-publisher", is_superuser=True)
    load_demo_summaries(LocalOfferIndexPage.objects.get(), publisher)
    page = QualitySummaryPage.objects.live().order_by("-period_start").first()
    return page.get_url(), page.title, page.snapshot().data["headline"]["audits"]


def _reader(path, expected, times, errors, lock):
    def read(client, index, deadline):
        for _ in range(REQUESTS_PER_READER):
            if time.monotonic() > deadline:
                break
            started = time.perf_counter()
            response = client.request("GET", path)
            took = time.perf_counter() - started
            with lock:
                if response.status_code == 200 and expected in response.text:
                    times.append(took)
                else:
                    errors.append(f"GET {path}: {response.status_code}")

    return read


def measure(base, phases):
    """[(label, rate, times, errors)] for each (label, path, expected) in phases."""
    from .bench_submit import Client

    clients = [Client(base) for _ in range(READERS)]
    lock = threading.Lock()
    results = []
    for label, path, expected in phases:
        # Warm every worker thread (and, for the page, the cache) before measuring.
        _concurrently(clients, lambda client, index, deadline, p=path: client.request("GET", p))
        times, errors = [], []
        seconds = _concurrently(clients, _reader(path, expected, times, errors, lock))
        results.append((label, len(times) / seconds, times, errors))
    return results


def run(database_url=None):
    if connection.vendor != "postgresql":
        return [("skipped: the public page benchmark needs PostgreSQL", 0, 0)]
    database_url = database_url or os.environ["DATABASE_URL"]
    path, title, audits = prepare()
    results = []
    for cache_seconds, phases in (
        (
            "3600",
            [
                ("baseline: GET /healthz (trivial view)", "/healthz", "ok"),
                ("summary page, cached", path, title),
            ],
        ),
        ("0", [("summary page, uncached (rendered from its snapshot)", path, title)]),
    ):
        server, base = _start_server(database_url, PORTAL_REPORT_CACHE_SECONDS=cache_seconds)
        try:
            results += measure(base, phases)
        finally:
            _stop_server(server)
    baseline = results[0][1]
    rows = []
    for label, rate, times, errors in results:
        for error in sorted(set(errors)):
            print(f"ERROR: {error}", file=sys.stderr)
        rows.append(
            (
                f"{label}, {READERS} concurrent anonymous readers; {len(times)} requests, "
                + _latencies(times, errors),
                rate,
                rate / baseline,
            )
        )
    print(f"\n(the summary covers {audits} of {SIZE:,} synthetic audits; {path})")
    return rows
