"""Importing 100,000 plan rows into the register on PostgreSQL, beside PostgreSQL's own COPY
of the same rows into a bare table in the same run (the fastest any import could be)."""

import csv
import io
import random
import time

from django.db import connection

from portal.audits.models import Plan
from portal.audits.plan_register import plans_import
from portal.audits.register import COLUMNS

ROWS = 100_000
KEY_STAGES = ["EY", "KS1", "KS2", "KS3", "KS4", "KS5", "POST19"]
NEEDS = ["ASD", "SLCN", "SEMH", "MLD", "SLD", "PMLD", "SPLD", "PD", "HI", "VI", "MSI", "OTH"]
SETTINGS = ["mainstream", "special", "resourced", "early_years", "fe_college"]
LOCALITIES = ["North", "South", "East", "West", "Central"]


def register_file(rows, seed=2026):
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for number in range(rows):
        writer.writerow(
            [
                f"EHC-{1_000_000 + number}",
                rng.choice(KEY_STAGES),
                rng.choice(NEEDS),
                rng.choice(SETTINGS),
                rng.choice(LOCALITIES),
                rng.choice(["new_plan", "annual_review"]),
                f"{rng.randint(2015, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            ]
        )
    return out.getvalue().encode()


def copy_seconds(data):
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_copy (system_id text, key_stage text, primary_need text, "
            "setting_type text, locality text, plan_stage text, date_issued date)"
        )
        started = time.perf_counter()
        with cursor.cursor.copy(
            "COPY bench_copy FROM STDIN WITH (FORMAT csv, HEADER true)"
        ) as copy:
            copy.write(data)
        seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_copy")
    return seconds


def run():
    if connection.vendor != "postgresql":
        return [("skipped: the import benchmark needs PostgreSQL", 0, 0)]
    data = register_file(ROWS)
    Plan.objects.all().delete()
    baseline = ROWS / copy_seconds(data)

    started = time.perf_counter()
    result = plans_import(data, "bench.csv", source="benchmark")
    fresh = ROWS / (time.perf_counter() - started)
    assert result.ok and result.new == ROWS, result.as_dict(max_errors=5)

    started = time.perf_counter()
    result = plans_import(data, "bench.csv", source="benchmark")
    unchanged = ROWS / (time.perf_counter() - started)
    assert result.ok and result.unchanged == ROWS, result.as_dict(max_errors=5)
    Plan.objects.all().delete()
    return [
        ("baseline: PostgreSQL COPY of the same CSV into a bare table", baseline, 1.0),
        (f"plans_import: {ROWS:,} new plans (checked, then written)", fresh, fresh / baseline),
        (f"plans_import: the same {ROWS:,} again (all unchanged)", unchanged, unchanged / baseline),
    ]
