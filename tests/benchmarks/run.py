"""`make bench`: each benchmark prints its figures beside a baseline measured in the same run.
Database benchmarks run in a throwaway PostgreSQL database (BENCH_DATABASE_URL names the
server to create it on), never in the portal's own.

`python -m tests.benchmarks.run [grading] [import] [submit] [reporting]` runs only those.
BENCH_REPORTING_SIZE sets how many synthetic audits the reporting benchmark generates
(1,000,000 by default; e.g. 5000 for a smoke run) and BENCH_REPORTING_RUNS how often each
query runs (20)."""

import os
import platform
import sys
from contextlib import contextmanager

import django
import psycopg

SERVER = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")


@contextmanager
def throwaway_database():
    """A new, empty PostgreSQL database for the run (None if no server can be reached)."""
    name = f"ehcp_bench_{os.getpid()}"
    try:
        admin = psycopg.connect(SERVER, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        yield None
        return
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{SERVER.rsplit('/', 1)[0]}/{name}"
    finally:
        from django.db import connections

        connections.close_all()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def table(name, rows):
    print(f"\n## {name}\n")
    print(f"| {'what':<66} | {'per second':>12} | {'× baseline':>10} |")
    print(f"|{'-' * 68}|{'-' * 14}|{'-' * 12}|")
    for what, rate, ratio in rows:
        print(f"| {what:<66} | {rate:>12,.0f} | {ratio:>10.3f} |")


def latency_table(name, rows, unit="ms"):
    """Rows of (what, p50 seconds, p95 seconds, ratio of p50 to the baseline's p50)."""
    scale = 1000 if unit == "ms" else 1
    print(f"\n## {name}\n")
    print(f"| {'what':<72} | {'p50 ' + unit:>9} | {'p95 ' + unit:>9} | {'× baseline':>10} |")
    print(f"|{'-' * 74}|{'-' * 11}|{'-' * 11}|{'-' * 12}|")
    for what, p50, p95, ratio in rows:
        print(f"| {what:<72} | {p50 * scale:>9,.0f} | {p95 * scale:>9,.0f} | {ratio:>10.2f} |")


def reporting_tables(figures):
    seconds, made = figures["generated"]
    size = figures["size"]
    print(f"\n## Reporting over {size:,} synthetic audits (PostgreSQL)\n")
    print(
        f"generate_synthetic_data --size {size}: {seconds:,.0f} s ({size / seconds:,.0f} audits/s)"
    )
    print(f"made: {made}")
    for name, rows in figures["dashboard"].items():
        latency_table(f"Dashboard figures, {name} ({figures['runs']} runs)", rows)
    latency_table(
        "Report snapshot over every audit (p95 column: the slowest run)",
        figures["snapshot"],
        unit="ms",
    )
    from .bench_reporting import AIM_P95_MS, AIM_RATIO, AIM_SNAPSHOT_S

    functions = [row for rows in figures["dashboard"].values() for row in rows[1:-1]]
    fast = sum(p95 * 1000 < AIM_P95_MS for _, _, p95, _ in functions)
    close = sum(ratio < AIM_RATIO for _, _, _, ratio in functions)
    snapshot = figures["snapshot"][-1][1]
    print(
        f"\nAims: p95 under {AIM_P95_MS} ms for {fast} of {len(functions)} dashboard queries; "
        f"under {AIM_RATIO}× the hand-written query for {close} of {len(functions)}; "
        f"snapshot {snapshot:.1f} s (aim under {AIM_SNAPSHOT_S} s)."
    )


BENCHMARKS = ("grading", "import", "submit", "public", "reporting")


def main(selected=()):
    unknown = set(selected) - set(BENCHMARKS)
    if unknown:
        print(f"Unknown benchmarks: {', '.join(sorted(unknown))}.", file=sys.stderr)
        print(f"Choose from: {', '.join(BENCHMARKS)}.", file=sys.stderr)
        return 2
    selected = set(selected) or set(BENCHMARKS)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
    with throwaway_database() as database_url:
        if database_url:
            os.environ["DATABASE_URL"] = database_url
        else:
            os.environ.pop("DATABASE_URL", None)
        django.setup()
        from django.core.management import call_command

        from . import bench_grading, bench_import, bench_public, bench_reporting, bench_submit

        print(
            f"# {platform.node()} · {platform.machine()} · {os.cpu_count()} cores · "
            f"Python {platform.python_version()}"
        )
        if "grading" in selected:
            table("Grading", bench_grading.run())
        if database_url:
            call_command("migrate", verbosity=0)
            if "import" in selected:
                table("Plan register import (PostgreSQL)", bench_import.run())
            if "submit" in selected:
                table(
                    "Audit submission under gunicorn (production settings, PostgreSQL)",
                    bench_submit.run(database_url),
                )
            if "public" in selected:
                table(
                    "A public quality summary under gunicorn (production settings, Redis cache)",
                    bench_public.run(database_url),
                )
            if "reporting" in selected:
                reporting_tables(bench_reporting.run())
        else:
            print(
                f"\nNo PostgreSQL at {SERVER}: the import, submission and reporting benchmarks "
                "did not run."
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
