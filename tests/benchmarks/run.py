"""`make bench`: each benchmark prints its figures beside a baseline measured in the same run.
Database benchmarks run in a throwaway PostgreSQL database (BENCH_DATABASE_URL names the
server to create it on), never in the portal's own."""

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


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
    with throwaway_database() as database_url:
        if database_url:
            os.environ["DATABASE_URL"] = database_url
        else:
            os.environ.pop("DATABASE_URL", None)
        django.setup()
        from django.core.management import call_command

        from . import bench_grading, bench_import, bench_submit

        print(
            f"# {platform.node()} · {platform.machine()} · {os.cpu_count()} cores · "
            f"Python {platform.python_version()}"
        )
        table("Grading", bench_grading.run())
        if database_url:
            call_command("migrate", verbosity=0)
            table("Plan register import (PostgreSQL)", bench_import.run())
            table(
                "Audit submission under gunicorn (production settings, PostgreSQL)",
                bench_submit.run(database_url),
            )
        else:
            print(f"\nNo PostgreSQL at {SERVER}: the import and submission benchmarks did not run.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
