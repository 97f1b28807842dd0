"""Synthetic audit data at scale, for benchmarks and for trying the reports on a throwaway
database: a plan register, quarterly cycles over almost three years, accredited auditors
from every agency, audits across every grade graded by the real rule under the live rubric
revision, moderation cases queued by the real rules (closed and open), actions in every
status, and the report facts. The same seed and size give the same rows every time.

Every synthetic row can be told apart (plan system IDs start "SYN-", usernames
"synthetic-", cycle names "SYN "), so `synthetic_data_delete` removes exactly them. Rows are
written with PostgreSQL's COPY where the database is PostgreSQL and with executemany
elsewhere, with explicit primary keys so no row has to be read back."""

import datetime
import json
import random
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.models import Group
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone

from portal.framework.models import RubricPage
from portal.framework.plan_sections import SECTION_KEYS
from portal.framework.roles import ACTION_OWNER, AUDITOR, MODERATOR, QA_LEAD
from portal.framework.rubric import GRADES
from portal.training.models import Accreditation, Agency, StaffProfile

from .demo import KEY_STAGES, LOCALITIES, NEEDS, SETTINGS
from .models import (
    Action,
    ActionUpdate,
    Assignment,
    Audit,
    AuditCycle,
    AuditFact,
    ConflictDeclaration,
    ModerationCase,
    Plan,
    SampledPlan,
    section_column,
)
from .moderation_rules import (
    WEAK_GRADES,
    in_moderation_sample,
    moderation_outcome,
    moderation_reasons,
)
from .recording import grader_of_revision

PLAN_PREFIX = "SYN-"
USER_PREFIX = "synthetic-"
CYCLE_PREFIX = "SYN "
DEFAULT_SEED = 2026
# The data's own "today", fixed so that a seed gives the same rows on any day. Open actions
# due before it are overdue whenever the data is looked at.
TIMELINE_START = datetime.date(2024, 1, 1)
TIMELINE_END = datetime.date(2026, 11, 20)
UTC = datetime.UTC

NO_PUBLISHED_RUBRIC = (
    "There is no published rubric to grade synthetic audits under. Run load_demo_content "
    "first (it publishes the demo rubric), or publish a rubric."
)
SYNTHETIC_DATA_PRESENT = (
    "This database already holds synthetic data. Run again with --replace to delete it and "
    "generate it afresh."
)
# From this many audits on PostgreSQL, indexes and constraints are built after the load.
BULK_LOAD_SIZE = 100_000
SIZE_TOO_SMALL = "The size is the number of audits to generate: at least 1."

# How thoroughly a plan meets the criteria at each quality level, best first: the chance that
# each criterion is met (essential criteria are met more often: writers know them).
QUALITY_LEVELS = (0.95, 0.86, 0.76, 0.66, 0.55, 0.42, 0.28, 0.15)
PATTERNS_PER_LEVEL = 256
NOT_APPLICABLE_SHARE = 0.3
# Plans of some needs are harder to write well; negative is better.
NEED_DIFFICULTY = {"SEMH": 0.4, "PMLD": 0.3, "MSI": 0.3, "SLCN": 0.1, "SPLD": -0.2, "HI": -0.1}
AGENCIES = [
    (Agency.EDUCATION.value, 40),
    (Agency.HEALTH.value, 25),
    (Agency.SOCIAL_CARE.value, 20),
    (Agency.SEND_SERVICE.value, 15),
]
DOUBLE_AUDIT_SHARE = Decimal("0.1")
MODERATION_SHARE = Decimal("0.1")
DRAFT_SHARE = 0.08  # of the audits in the cycle still running on TIMELINE_END
THEMES = [
    # (quarter start, theme, key stages sampled, audits relative to a new-plans cycle)
    (datetime.date(2024, 7, 1), "Transition to post-16", ("KS4", "KS5"), 0.4),
    (datetime.date(2025, 10, 1), "Looked-after children", (), 0.3),
    (datetime.date(2026, 4, 1), "Preparing for adulthood", ("KS5", "POST19"), 0.4),
]
STRENGTHS = [
    "The child's own words open the plan and are carried into the outcomes.",
    "Health and social care advice is summarised clearly and attributed.",
    "Outcomes are specific, with dates and how progress will be measured.",
]
RECOMMENDATIONS = [
    "Quantify the speech and language therapy in section F.",
    "Link each outcome in section E to the provision that supports it.",
    "Record the young person's aspirations for adulthood in section A.",
]
SUMMARIES = [
    "A plan a family could use; provision needs to be specified more exactly.",
    "A clear plan with minor gaps in the health sections.",
    "The plan needs rewriting before it can be issued.",
]
RATIONALES = [
    "The ticks match the plan; the grade stands.",
    "Section F does not quantify the provision, so an essential criterion is not met.",
    "The outcomes are more specific than the auditor allowed; the grade is raised.",
]
ACTION_TEXTS = {
    Action.Kind.AMEND_PLAN: "Amend the plan as the moderation found and reissue it.",
    Action.Kind.REAUDIT: "Audit the amended plan again once it is issued.",
    Action.Kind.REVIEW_PROCESS: "Review the section template the finding points to.",
    Action.Kind.TRAINING: "Brief advice writers on specific, measurable outcomes.",
}
CANCEL_REASON = "Covered by a later action."
# The first synthetic actions take these statuses, so even a small data set has every one.
STATUS_COVERAGE = ["open", "in_progress", "done", "cancelled"]


# --- writing rows ---------------------------------------------------------------------------


# COPY's marker for NULL: str.format writes None as "None", and no synthetic text is "None".
COPY_NULL = "None"


@cache
def _copy_escaped(value):
    # Free text and JSON come from a few constants and tick patterns: each is escaped once.
    if value == COPY_NULL:
        raise ValueError(f"“{COPY_NULL}” would be read as NULL.")
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _sqlite_datetime(value):
    return None if value is None else connection.ops.adapt_datetimefield_value(value)


# How each kind of value is passed to executemany (None: as it is).
PARAM_FORMAT = {
    "int": None,
    "code": None,
    "text": None,
    "json": None,
    "bool": None,
    "date": lambda v: None if v is None else v.isoformat(),
    "datetime": _sqlite_datetime,
    "decimal": lambda v: None if v is None else str(v),
}
ESCAPED_KINDS = ("text", "json")


def _copy_rows(cursor, table, columns, kinds, rows):
    """COPY the rows into the table (PostgreSQL). str.format writes ints, dates, datetimes
    (with their offset), decimals and booleans ("True" is PostgreSQL's true) as COPY reads
    them, at C speed; only free text and JSON are escaped."""
    quote = connection.ops.quote_name
    template = "\t".join(f"{{{i}}}" for i in range(len(kinds))) + "\n"
    escaped = [i for i, kind in enumerate(kinds) if kind in ESCAPED_KINDS]
    if escaped:
        lines = []
        for row in rows:
            row = list(row)
            for i in escaped:
                if row[i] is not None:
                    row[i] = _copy_escaped(row[i])
            lines.append(template.format(*row))
    else:
        lines = [template.format(*row) for row in rows]
    names = ", ".join(quote(column) for column in columns)
    with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN WITH (NULL '{COPY_NULL}')") as copy:
        copy.write("".join(lines))


def _insert_rows(cursor, table, columns, kinds, rows):
    """INSERT the rows with executemany (SQLite and any other database)."""
    quote = connection.ops.quote_name
    formats = [PARAM_FORMAT[kind] for kind in kinds]
    rows = [[f(v) if f else v for f, v in zip(formats, row, strict=True)] for row in rows]
    names = ", ".join(quote(column) for column in columns)
    marks = ", ".join(["%s"] * len(columns))
    cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608 - names from model meta


class _Table:
    """Rows for one table, written in batches: COPY on PostgreSQL, executemany elsewhere.
    `columns` maps a model's field names to kinds in PARAM_FORMAT: "code" for text that is
    never escaped (choices, keys), "text" and "json" for text that may need it."""

    def __init__(self, model, columns, batch_size=50_000):
        meta = model._meta
        self.table = connection.ops.quote_name(meta.db_table)
        self.db_columns = [meta.get_field(name).column for name in columns]
        self.kinds = list(columns.values())
        self.batch_size = batch_size
        self.rows = []
        self.written = 0
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COALESCE(MAX({connection.ops.quote_name(meta.pk.column)}), 0) + 1 "  # noqa: S608 - names from model meta
                f"FROM {self.table}"
            )
            self.next_id = cursor.fetchone()[0]

    def new_id(self):
        self.next_id += 1
        return self.next_id - 1

    def add(self, row):
        self.rows.append(row)
        if len(self.rows) >= self.batch_size:
            self.flush()

    def flush(self):
        if not self.rows:
            return
        with connection.cursor() as cursor:
            write = _copy_rows if connection.vendor == "postgresql" else _insert_rows
            write(cursor, self.table, self.db_columns, self.kinds, self.rows)
        self.written += len(self.rows)
        self.rows = []


class _AuditTable(_Table):
    """Audits, whose rows end with their tick pattern (a _Pattern) in place of the ticks and
    result. On PostgreSQL the patterns go once into a temporary table and each batch of
    audits through a staging table, so PostgreSQL parses each pattern's kilobyte of JSON
    once instead of once per audit: several times faster for a million audits."""

    STAGE = "synthetic_audit_stage"
    PATTERNS = "synthetic_pattern"

    def __init__(self, columns):
        super().__init__(Audit, columns)
        self.patterns_sent = set()
        if connection.vendor == "postgresql":
            names = ", ".join(connection.ops.quote_name(c) for c in self.db_columns)
            with connection.cursor() as cursor:
                self._drop_temporary(cursor)
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {self.PATTERNS} "
                    "(number integer PRIMARY KEY, ticks jsonb NOT NULL, result jsonb)"
                )
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {self.STAGE} AS SELECT {names} "  # noqa: S608 - names from model meta
                    f"FROM {self.table} WITH NO DATA"
                )
                cursor.execute(f"ALTER TABLE {self.STAGE} ADD COLUMN pattern integer NOT NULL")

    def _drop_temporary(self, cursor):
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{self.STAGE}, pg_temp.{self.PATTERNS}")

    def flush(self):
        if not self.rows:
            return
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                self._flush_staged(cursor)
            else:
                rows = [(*row[:-1], row[-1].ticks_json, row[-1].result_json) for row in self.rows]
                _insert_rows(
                    cursor,
                    self.table,
                    [*self.db_columns, "ticks", "result"],
                    [*self.kinds, "json", "json"],
                    rows,
                )
        self.written += len(self.rows)
        self.rows = []

    def _flush_staged(self, cursor):
        new = {row[-1].number: row[-1] for row in self.rows} if self.rows else {}
        new = [p for number, p in sorted(new.items()) if number not in self.patterns_sent]
        if new:
            _copy_rows(
                cursor,
                self.PATTERNS,
                ["number", "ticks", "result"],
                ["int", "json", "json"],
                [(p.number, p.ticks_json, p.result_json) for p in new],
            )
            self.patterns_sent.update(p.number for p in new)
        _copy_rows(
            cursor,
            self.STAGE,
            [*self.db_columns, "pattern"],
            [*self.kinds, "int"],
            [(*row[:-1], row[-1].number) for row in self.rows],
        )
        names = ", ".join(connection.ops.quote_name(c) for c in self.db_columns)
        staged = ", ".join(f"s.{connection.ops.quote_name(c)}" for c in self.db_columns)
        cursor.execute(
            f"INSERT INTO {self.table} ({names}, ticks, result) "  # noqa: S608 - names from model meta
            f"SELECT {staged}, p.ticks, p.result FROM {self.STAGE} s "
            f"JOIN {self.PATTERNS} p ON p.number = s.pattern"
        )
        cursor.execute(f"TRUNCATE {self.STAGE}")

    def close(self):
        self.flush()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                self._drop_temporary(cursor)


@contextmanager
def _indexes_built_after(models):
    """On PostgreSQL: drop the tables' secondary indexes and their unique and foreign-key
    constraints, and make them again when the rows are in, as pg_restore does. An index
    built once over all rows, and a foreign key checked with one join, cost a fraction of
    keeping them current row by row. Inside the caller's transaction: on any failure the
    schema is as it was; the tables are locked against everyone until it commits."""
    tables = [model._meta.db_table for model in models]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype IN ('f', 'u') "
            "AND conrelid = ANY(ARRAY(SELECT to_regclass(t) FROM unnest(%s::text[]) t)) "
            "ORDER BY contype, conname",
            [tables],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i "
            "WHERE NOT indisprimary "
            "AND indrelid = ANY(ARRAY(SELECT to_regclass(t) FROM unnest(%s::text[]) t)) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid "
            "AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x')) "
            "ORDER BY 1",
            [tables],
        )
        indexes = cursor.fetchall()
        # Checks still queued in this transaction (from rows written before) would block
        # ALTER TABLE on their tables: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # Foreign keys ('f') sort first: they go before the unique constraints they may use.
        for table, name, _ in constraints:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {connection.ops.quote_name(name)}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    yield
    with connection.cursor() as cursor:
        # Checks queued meanwhile (deleting earlier rows) would block CREATE INDEX likewise.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for _, definition in indexes:
            cursor.execute(definition)
        for table, name, definition in reversed(constraints):
            cursor.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}"
            )
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


# --- what is generated ----------------------------------------------------------------------


@dataclass
class _Pattern:
    """One set of ticks, graded once by the real rule and reused for many audits."""

    number: int
    ticks: dict
    ticks_json: str
    result_json: str | None  # None for a draft's ticks
    grade: str
    score: Decimal | None
    section_grades: tuple  # per SECTION_KEYS, "" where not graded
    graded_sections: tuple  # keys of the sections graded (not not-applicable)


@dataclass
class _Cycle:
    id: int
    name: str
    tier: str
    theme: str
    starts_on: datetime.date
    ends_on: datetime.date
    seed: int
    key_stages: tuple
    weight: float


def _at(day, minutes):
    """A moment on `day` (UTC), `minutes` after 08:00."""
    return datetime.datetime.combine(day, datetime.time(8), tzinfo=UTC) + datetime.timedelta(
        minutes=minutes
    )


def _quarter_end(start):
    following = datetime.date(start.year + start.month // 10, (start.month + 2) % 12 + 1, 1)
    return following - datetime.timedelta(days=1)


def _cycle_plan():
    """The cycles: new plans every quarter, annual reviews every half-year, three thematic
    audits; each with a relative size (later cycles audit more)."""
    cycles = []
    quarter = TIMELINE_START
    while quarter <= TIMELINE_END:
        label = f"{quarter.year} Q{(quarter.month - 1) // 3 + 1}"
        ends_on = _quarter_end(quarter)
        growth = 1 + 0.4 * (quarter - TIMELINE_START).days / (TIMELINE_END - TIMELINE_START).days
        cycles.append((f"{label}: new plans", "new_plans", "", quarter, ends_on, (), growth))
        if quarter.month in (1, 7):
            cycles.append(
                (f"{label}: annual reviews", "annual_reviews", "", quarter, ends_on, (), 1.5)
            )
        for starts_on, theme, key_stages, size in THEMES:
            if starts_on == quarter:
                cycles.append(
                    (
                        f"{label}: {theme.lower()}",
                        "thematic",
                        theme,
                        quarter,
                        ends_on,
                        key_stages,
                        size,
                    )
                )
        quarter = ends_on + datetime.timedelta(days=1)
    return cycles


def _shares(total, weights):
    """Split `total` in proportion to `weights` (largest remainder): exact and stable."""
    whole = sum(weights)
    raw = [total * weight / whole for weight in weights]
    counts = [int(share) for share in raw]
    by_remainder = sorted(range(len(raw)), key=lambda i: (counts[i] - raw[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _cumulative(weighted):
    values, weights = zip(*weighted, strict=True)
    running, total = [], 0
    for weight in weights:
        total += weight
        running.append(total)
    return list(values), running


class SyntheticData:
    """Generates the data for one size and seed; `generate()` writes it and returns counts."""

    def __init__(self, size, seed=DEFAULT_SEED, log=None):
        if size < 1:
            raise ValueError(SIZE_TOO_SMALL)
        self.size = size
        self.seed = seed
        self.rng = random.Random(seed)  # noqa: S311 - reproducible synthetic data, not a secret
        self.log = log or (lambda line: None)
        self.timings = []

    def _step(self, name, started):
        seconds = time.perf_counter() - started
        self.timings.append((name, seconds))
        self.log(f"  {name}: {seconds:.1f} s")

    # The rubric and the tick patterns -------------------------------------------------------

    def _rubric(self):
        page = RubricPage.objects.live().order_by("-last_published_at", "pk").first()
        if page is None or page.live_revision_id is None:
            raise ValueError(NO_PUBLISHED_RUBRIC)
        self.rubric_page = page
        self.revision_id = page.live_revision_id
        self.grader = grader_of_revision(self.revision_id)

    def _patterns(self):
        rng = random.Random(self.seed + 1)  # noqa: S311 - reproducible synthetic data
        self.patterns = []
        for quality in QUALITY_LEVELS:
            essential_quality = 1 - (1 - quality) / 2
            level = []
            while len(level) < PATTERNS_PER_LEVEL:
                sections = {}
                for key, section in self.grader.sections.items():
                    if section.may_be_not_applicable and rng.random() < NOT_APPLICABLE_SHARE:
                        sections[key] = {"not_applicable": True}
                        continue
                    met = [
                        criterion
                        for criterion in section.criteria
                        if rng.random()
                        < (essential_quality if criterion in section.essential else quality)
                    ]
                    sections[key] = {"met": sorted(met)}
                ticks = {"sections": sections}
                try:
                    result = self.grader.grade(ticks)
                except ValueError:  # every section not applicable: draw again
                    continue
                graded = result["sections"]
                level.append(
                    _Pattern(
                        number=len(self.patterns) * PATTERNS_PER_LEVEL + len(level),
                        ticks=ticks,
                        ticks_json=json.dumps(ticks),
                        result_json=json.dumps(result),
                        grade=result["overall"]["grade"],
                        # Cut to the column's four places, as audit_submit stores it.
                        score=Decimal(result["overall"]["score"]).quantize(
                            Decimal("0.0001"), rounding=ROUND_DOWN
                        ),
                        section_grades=tuple(
                            (graded.get(key) or {}).get("grade") or "" for key in SECTION_KEYS
                        ),
                        graded_sections=tuple(k for k, v in graded.items() if v["grade"]),
                    )
                )
            self.patterns.append(level)

    # People ---------------------------------------------------------------------------------

    def _people(self):
        rng = self.rng
        User = get_user_model()
        self.auditor_count = max(8, min(2000, self.size // 500))
        moderator_count = max(2, self.auditor_count // 50)
        owners_per_agency = max(1, self.auditor_count // 100)
        agencies, cumulative = _cumulative(AGENCIES)
        joined = _at(TIMELINE_START - datetime.timedelta(days=60), 0)
        people = [("qalead", QA_LEAD, Agency.SEND_SERVICE.value)]
        # One auditor from each agency first, so that even a small data set has them all.
        people += [
            (
                f"auditor-{n}",
                AUDITOR,
                agencies[n - 1]
                if n <= len(agencies)
                else rng.choices(agencies, cum_weights=cumulative)[0],
            )
            for n in range(1, self.auditor_count + 1)
        ]
        people += [
            (f"moderator-{n}", MODERATOR, Agency.SEND_SERVICE.value)
            for n in range(1, moderator_count + 1)
        ]
        people += [
            (f"owner-{agency}-{n}", ACTION_OWNER, agency)
            for agency, _ in AGENCIES
            for n in range(1, owners_per_agency + 1)
        ]
        users = User.objects.bulk_create(
            User(
                username=f"{USER_PREFIX}{name}",
                first_name="Synthetic",
                last_name=name.replace("-", " ").title(),
                # Nobody signs in as a synthetic user.
                password=f"{UNUSABLE_PASSWORD_PREFIX}synthetic",
                date_joined=joined,
            )
            for name, _, _ in people
        )
        groups = dict(
            Group.objects.filter(name__in=[QA_LEAD, AUDITOR, MODERATOR, ACTION_OWNER]).values_list(
                "name", "pk"
            )
        )
        Membership = User.groups.through
        Membership.objects.bulk_create(
            Membership(user_id=user.pk, group_id=groups[role])
            for user, (_, role, _) in zip(users, people, strict=True)
            if role in groups
        )
        StaffProfile.objects.bulk_create(
            StaffProfile(user=user, agency=agency)
            for user, (_, _, agency) in zip(users, people, strict=True)
        )
        self.qa_lead = users[0].pk
        auditors = users[1 : self.auditor_count + 1]
        self.auditors = [user.pk for user in auditors]
        self.auditor_agency = [agency for _, _, agency in people[1 : self.auditor_count + 1]]
        # Some auditors grade generously, some strictly.
        self.auditor_bias = [rng.gauss(0, 0.35) for _ in auditors]
        self.moderators = [
            user.pk for user, (_, role, _) in zip(users, people, strict=True) if role == MODERATOR
        ]
        self.owners = {}
        for user, (_, role, agency) in zip(users, people, strict=True):
            if role == ACTION_OWNER:
                self.owners.setdefault(agency, []).append(user.pk)
        # Accredited as if carried over from records kept before the portal, for the whole
        # timeline.
        Accreditation.objects.bulk_create(
            Accreditation(auditor_id=pk, expires_on=TIMELINE_END + datetime.timedelta(days=365))
            for pk in self.auditors
        )
        Accreditation.objects.filter(auditor_id__in=self.auditors).update(granted_at=joined)
        return len(users)

    # The register and the cycles ------------------------------------------------------------

    def _plans(self):
        rng = self.rng
        count = max(40, self.size * 6 // 10)
        key_stage_values, key_stage_weights = _cumulative(KEY_STAGES)
        key_stages = rng.choices(key_stage_values, cum_weights=key_stage_weights, k=count)
        need_values, need_weights = _cumulative(NEEDS)
        needs = rng.choices(need_values, cum_weights=need_weights, k=count)
        settings_values, settings_weights = _cumulative(SETTINGS)
        table = _Table(
            Plan,
            {
                "id": "int",
                "system_id": "code",
                "key_stage": "code",
                "primary_need": "code",
                "setting_type": "code",
                "locality": "code",
                "plan_stage": "code",
                "date_issued": "date",
                "created_at": "datetime",
                "updated_at": "datetime",
            },
        )
        registered = _at(TIMELINE_START - datetime.timedelta(days=30), 0)
        span = (TIMELINE_END - TIMELINE_START).days
        self.plan_ids = []
        self.plan_system_ids = []
        self.plan_attributes = []  # (key stage, need, setting, locality, stage) per plan
        self.new_plans, self.reviewed_plans = [], []
        self.plans_by_key_stage = {}
        for index in range(count):
            key_stage = key_stages[index]
            if key_stage == "EY" and rng.random() < 0.6:
                setting = "early_years"
            elif key_stage in ("KS5", "POST19") and rng.random() < 0.5:
                setting = "fe_college"
            else:
                setting = rng.choices(settings_values, cum_weights=settings_weights)[0]
            new = rng.random() < 0.45
            if new:
                issued = TIMELINE_START + datetime.timedelta(days=rng.randrange(span))
            else:
                issued = TIMELINE_START - datetime.timedelta(days=rng.randrange(30, 3000))
            attributes = (
                key_stage,
                needs[index],
                setting,
                rng.choice(LOCALITIES),
                "new_plan" if new else "annual_review",
            )
            pk = table.new_id()
            system_id = f"{PLAN_PREFIX}{index + 1:07d}"
            table.add((pk, system_id, *attributes, issued, registered, registered))
            self.plan_ids.append(pk)
            self.plan_system_ids.append(system_id)
            self.plan_attributes.append(attributes)
            (self.new_plans if new else self.reviewed_plans).append(index)
            self.plans_by_key_stage.setdefault(key_stage, []).append(index)
        table.flush()
        return count

    def _cycles(self):
        table = _Table(
            AuditCycle,
            {
                "id": "int",
                "name": "text",
                "tier": "code",
                "theme": "text",
                "starts_on": "date",
                "ends_on": "date",
                "rubric": "int",
                "sample_size": "int",
                "sample_share": "decimal",
                "stratify_by": "json",
                "double_audit_share": "decimal",
                "moderation_share": "decimal",
                "seed": "int",
                "created_at": "datetime",
            },
        )
        self.cycles = []
        planned = _cycle_plan()
        self.cycle_audits = _shares(self.size, [weight for *_, weight in planned])
        for (name, tier, theme, starts_on, ends_on, key_stages, weight), audits in zip(
            planned, self.cycle_audits, strict=True
        ):
            cycle = _Cycle(
                id=table.new_id(),
                name=f"{CYCLE_PREFIX}{name}",
                tier=tier,
                theme=theme,
                starts_on=starts_on,
                ends_on=ends_on,
                seed=self.rng.randrange(2**31),
                key_stages=key_stages,
                weight=weight,
            )
            self.cycles.append(cycle)
            table.add(
                (
                    cycle.id,
                    cycle.name,
                    tier,
                    theme,
                    starts_on,
                    ends_on,
                    self.rubric_page.pk,
                    audits,  # the sample size, near enough: double audits take two
                    None,
                    json.dumps(["key_stage"]),
                    DOUBLE_AUDIT_SHARE,
                    MODERATION_SHARE,
                    cycle.seed,
                    _at(starts_on - datetime.timedelta(days=14), 60),
                )
            )
        table.flush()
        return len(self.cycles)

    # Audits, moderation, actions and facts, cycle by cycle ------------------------------------

    def _tables(self):
        self.sampled = _Table(
            SampledPlan, {"id": "int", "cycle": "int", "plan": "int", "double_audit": "bool"}
        )
        self.assignments = _Table(
            Assignment,
            {
                "id": "int",
                "cycle": "int",
                "plan": "int",
                "auditor": "int",
                "due_on": "date",
                "assigned_by": "int",
                "created_at": "datetime",
            },
        )
        # Each row ends with its _Pattern, for the ticks and result.
        self.audits = _AuditTable(
            {
                "id": "int",
                "assignment": "int",
                "rubric_revision": "int",
                "section_notes": "json",
                "strengths": "text",
                "recommendations": "text",
                "summary": "text",
                "status": "code",
                "overall_grade": "code",
                "overall_score": "decimal",
                "version": "int",
                "started_at": "datetime",
                "updated_at": "datetime",
                "submitted_at": "datetime",
            },
        )
        self.cases = _Table(
            ModerationCase,
            {
                "id": "int",
                "plan": "int",
                "cycle": "int",
                "weak_grade": "bool",
                "double_audited": "bool",
                "random_sample": "bool",
                "status": "code",
                "moderator": "int",
                "moderated_grade": "code",
                "section_grades": "json",
                "rationale": "text",
                "outcome": "code",
                "queued_at": "datetime",
                "updated_at": "datetime",
                "closed_at": "datetime",
                "version": "int",
            },
        )
        self.case_audits = _Table(
            ModerationCase.audits.through, {"id": "int", "moderationcase": "int", "audit": "int"}
        )
        self.actions = _Table(
            Action,
            {
                "id": "int",
                "description": "text",
                "kind": "code",
                "agency": "code",
                "owner": "int",
                "due_on": "date",
                "status": "code",
                "cancel_reason": "text",
                "plan": "int",
                "audit": "int",
                "moderation_case": "int",
                "raised_by": "int",
                "raised_at": "datetime",
                "updated_at": "datetime",
                "closed_at": "datetime",
                "version": "int",
            },
        )
        fact_columns = {
            "audit": "int",
            "plan": "int",
            "cycle": "int",
            "tier": "code",
            "theme": "text",
            "key_stage": "code",
            "primary_need": "code",
            "setting_type": "code",
            "locality": "code",
            "plan_stage": "code",
            "agency": "code",
            "submitted_on": "date",
            "grade": "code",
            "auditor_grade": "code",
            "moderated": "bool",
        }
        fact_columns.update({section_column(key): "code" for key in SECTION_KEYS})
        self.facts = _Table(AuditFact, fact_columns)
        self.action_count = 0
        self.drafts = {}
        return {
            "sampled plans": self.sampled,
            "assignments": self.assignments,
            "audits": self.audits,
            "moderation cases": self.cases,
            "case audits": self.case_audits,
            "actions": self.actions,
            "facts": self.facts,
        }

    def _pool(self, cycle):
        if cycle.tier == "new_plans":
            pool = self.new_plans
        elif cycle.tier == "annual_reviews":
            pool = self.reviewed_plans
        else:
            pool = [i for key in cycle.key_stages for i in self.plans_by_key_stage.get(key, [])]
            pool = pool or range(len(self.plan_ids))
        return pool

    def _audit_cycle(self, cycle, quota, position):
        """Sample, assign and audit `quota` audits in the cycle, then queue and moderate by
        the real rules, raise actions and write the facts. `position`: 0 (first cycle) to 1
        (TIMELINE_END), for the trend."""
        rng = self.rng
        pool = self._pool(cycle)
        plans_wanted = min(len(pool), quota)
        if plans_wanted < (quota + 1) // 2:  # too few plans of this kind: any plan will do
            pool = range(len(self.plan_ids))
            plans_wanted = min(len(pool), quota)
        drawn = rng.sample(pool, plans_wanted)
        last_day = min(cycle.ends_on, TIMELINE_END)
        window = max(1, (last_day - cycle.starts_on).days)
        running = cycle.ends_on > TIMELINE_END
        due_on = cycle.ends_on + datetime.timedelta(days=14)
        assigned_at = _at(cycle.starts_on, 0)
        # Plans improve over the timeline: the mean quality level falls from 4.1 to 2.8.
        mean_level = 4.1 - 1.3 * position
        top_level = len(QUALITY_LEVELS) - 1
        audits_left = quota
        for plan_index in drawn:
            if audits_left <= 0:
                break
            double = audits_left >= 2 and rng.random() < float(DOUBLE_AUDIT_SHARE)
            audits_left -= 2 if double else 1
            key_stage, need, setting, locality, stage = self.plan_attributes[plan_index]
            plan_id = self.plan_ids[plan_index]
            self.sampled.add((self.sampled.new_id(), cycle.id, plan_id, double))
            quality = rng.gauss(
                mean_level
                + NEED_DIFFICULTY.get(need, 0)
                + (0.3 if stage == "annual_review" else 0),
                1.2,
            )
            first = rng.randrange(self.auditor_count)
            auditors = [first]
            if double:
                second = rng.randrange(self.auditor_count - 1)
                auditors.append(second + (second >= first))
            audits = []  # (audit id, auditor index, pattern or None, submitted_at)
            for number, auditor in enumerate(auditors):
                assignment_id = self.assignments.new_id()
                self.assignments.add(
                    (
                        assignment_id,
                        cycle.id,
                        plan_id,
                        self.auditors[auditor],
                        due_on,
                        self.qa_lead,
                        assigned_at,
                    )
                )
                noise = rng.gauss(0, 0.5) if number else 0
                level = round(quality + self.auditor_bias[auditor] + noise)
                level = min(top_level, max(0, level))
                pattern = rng.choice(self.patterns[level])
                started = _at(cycle.starts_on, rng.randrange(window) * 1440 + rng.randrange(480))
                audit_id = self.audits.new_id()
                if running and rng.random() < DRAFT_SHARE:
                    self._draft(audit_id, assignment_id, pattern, started)
                    audits.append((audit_id, auditor, None, None))
                    continue
                submitted = started + datetime.timedelta(minutes=rng.randrange(8 * 1440))
                submitted = min(submitted, _at(last_day, 540))
                submitted = max(submitted, started)
                self.audits.add(
                    (
                        audit_id,
                        assignment_id,
                        self.revision_id,
                        "{}",
                        rng.choice(STRENGTHS),
                        rng.choice(RECOMMENDATIONS),
                        rng.choice(SUMMARIES),
                        "submitted",
                        pattern.grade,
                        pattern.score,
                        len(self.grader.sections) + 2,
                        started,
                        submitted,
                        submitted,
                        pattern,
                    )
                )
                audits.append((audit_id, auditor, pattern, submitted))
            case = self._moderate(cycle, plan_index, double, audits)
            for audit_id, auditor, pattern, submitted in audits:
                if pattern is None:
                    continue
                grade, sections, moderated = pattern.grade, pattern.section_grades, False
                if case is not None:
                    grade, moderated = case["grade"], True
                    if case["section_grades"]:
                        sections = tuple(
                            case["section_grades"].get(key) or graded
                            for key, graded in zip(SECTION_KEYS, sections, strict=True)
                        )
                self.facts.add(
                    (
                        audit_id,
                        plan_id,
                        cycle.id,
                        cycle.tier,
                        cycle.theme,
                        key_stage,
                        need,
                        setting,
                        locality,
                        stage,
                        self.auditor_agency[auditor],
                        timezone.localdate(submitted),
                        grade,
                        pattern.grade,
                        moderated,
                        *sections,
                    )
                )
                if case is None and rng.random() < 0.005:
                    self._action(
                        Action.Kind.REVIEW_PROCESS,
                        plan_id,
                        submitted,
                        audit=audit_id,
                        raised_by=self.qa_lead,
                    )

    def _draft(self, audit_id, assignment_id, pattern, started):
        draft = self.drafts.get(pattern.number)
        if draft is None:
            # Half the sections done: a draft is never graded.
            items = list(pattern.ticks["sections"].items())
            ticks = {"sections": dict(items[: len(items) // 2])}
            draft = _Pattern(
                number=-1 - pattern.number,
                ticks=ticks,
                ticks_json=json.dumps(ticks),
                result_json=None,
                grade="",
                score=None,
                section_grades=(),
                graded_sections=(),
            )
            self.drafts[pattern.number] = draft
        self.audits.add(
            (
                audit_id,
                assignment_id,
                self.revision_id,
                "{}",
                "",
                "",
                "",
                "draft",
                "",
                None,
                len(draft.ticks["sections"]) + 1,
                started,
                started,
                None,
                draft,
            )
        )

    def _moderate(self, cycle, plan_index, double, audits):
        """Queue the plan's audits for moderation where the real rules would, and decide the
        case by the cycle's age. Returns {"grade", "section_grades"} where a case closed."""
        rng = self.rng
        submitted = [(a, p, s) for a, _, p, s in audits if p is not None]
        grades = [pattern.grade for _, pattern, _ in submitted]
        # The random cross-section only counts for a single-audited plan with no weak grade;
        # its hash is worth skipping for the rest.
        in_sample = (
            not double
            and not any(grade in WEAK_GRADES for grade in grades)
            and in_moderation_sample(cycle.seed, self.plan_system_ids[plan_index], MODERATION_SHARE)
        )
        reasons = moderation_reasons(grades=grades, double_audit=double, in_sample=in_sample)
        if not reasons:
            return None
        queued_at = max(moment for _, _, moment in submitted)
        age = (TIMELINE_END - cycle.ends_on).days
        closed_share, in_progress_share = (
            (0.97, 0.01) if age > 60 else (0.7, 0.15) if age >= 0 else (0.25, 0.2)
        )
        draw = rng.random()
        status = (
            "closed"
            if draw < closed_share
            else "in_progress"
            if draw < closed_share + in_progress_share
            else "queued"
        )
        case_id = self.cases.new_id()
        plan_id = self.plan_ids[plan_index]
        moderator = rng.choice(self.moderators) if status != "queued" else None
        grade, outcome, section_grades, closed_at, rationale = "", "", {}, None, ""
        updated_at = queued_at
        if status == "closed":
            worst = max(GRADES.index(g) for g in grades)
            draw = rng.random()
            shift = 0 if draw < 0.7 else -1 if draw < 0.85 else 1
            grade = GRADES[min(len(GRADES) - 1, max(0, worst + shift))]
            outcome = moderation_outcome(grade, grades)
            if outcome == "changed" and rng.random() < 0.5:
                section_grades = {rng.choice(submitted[0][1].graded_sections): grade}
            limit = _at(TIMELINE_END, 480)
            closed_at = min(queued_at + datetime.timedelta(days=rng.randrange(2, 40)), limit)
            closed_at = max(closed_at, queued_at + datetime.timedelta(hours=1))
            updated_at = closed_at
            rationale = RATIONALES[0 if outcome == "confirmed" else rng.randrange(1, 3)]
        elif status == "in_progress":
            updated_at = queued_at + datetime.timedelta(hours=rng.randrange(1, 72))
        self.cases.add(
            (
                case_id,
                plan_id,
                cycle.id,
                "weak_grade" in reasons,
                "double_audited" in reasons,
                "random_sample" in reasons,
                status,
                moderator,
                grade,
                json.dumps(section_grades),
                rationale,
                outcome,
                queued_at,
                updated_at,
                closed_at,
                {"queued": 1, "in_progress": 2, "closed": 3}[status],
            )
        )
        for audit_id, _, _ in submitted:
            self.case_audits.add((self.case_audits.new_id(), case_id, audit_id))
        weak = grade in ("requires_improvement", "inadequate")
        if status == "closed" and outcome == "changed" and rng.random() < 0.5:
            kind = Action.Kind.AMEND_PLAN if weak else Action.Kind.REAUDIT
            self._action(kind, plan_id, closed_at, case=case_id, raised_by=moderator)
        elif status == "closed" and weak and rng.random() < 0.1:
            kind = rng.choice([Action.Kind.REVIEW_PROCESS, Action.Kind.TRAINING])
            self._action(kind, plan_id, closed_at, case=case_id, raised_by=moderator)
        elif status == "in_progress" and rng.random() < 0.05:
            self._action(
                Action.Kind.AMEND_PLAN, plan_id, updated_at, case=case_id, raised_by=moderator
            )
        return {"grade": grade, "section_grades": section_grades} if status == "closed" else None

    def _action(self, kind, plan_id, raised_at, *, raised_by, audit=None, case=None):
        rng = self.rng
        agencies, cumulative = _cumulative(AGENCIES)
        agency = rng.choices(agencies, cum_weights=cumulative)[0]
        due_on = raised_at.date() + datetime.timedelta(days=rng.randrange(14, 75))
        draw = rng.random()
        if self.action_count < len(STATUS_COVERAGE):
            status = STATUS_COVERAGE[self.action_count]
        elif due_on < TIMELINE_END:  # open or in progress past its date: overdue
            status = (
                "done"
                if draw < 0.72
                else "cancelled"
                if draw < 0.8
                else "in_progress"
                if draw < 0.9
                else "open"
            )
        else:
            status = (
                "open"
                if draw < 0.5
                else "in_progress"
                if draw < 0.92
                else "done"
                if draw < 0.97
                else "cancelled"
            )
        self.action_count += 1
        closed_at = None
        updated_at = raised_at
        if status in ("done", "cancelled"):
            closed_on = min(due_on + datetime.timedelta(days=rng.randrange(-10, 10)), TIMELINE_END)
            closed_at = max(_at(closed_on, 420), raised_at + datetime.timedelta(hours=1))
            updated_at = closed_at
        elif status == "in_progress":
            updated_at = raised_at + datetime.timedelta(days=rng.randrange(1, 10))
        self.actions.add(
            (
                self.actions.new_id(),
                ACTION_TEXTS[kind],
                kind.value,
                agency,
                rng.choice(self.owners[agency]),
                due_on,
                status,
                CANCEL_REASON if status == "cancelled" else "",
                plan_id,
                audit,
                case,
                raised_by,
                raised_at,
                updated_at,
                closed_at,
                1 if status == "open" else 2,
            )
        )

    # Putting it together --------------------------------------------------------------------

    def generate(self, replace=False):
        """Write everything in one transaction (after deleting the earlier synthetic data
        with `replace`, refused otherwise while there is some); returns {what: count}, with
        "deleted": the earlier synthetic audits deleted."""
        counts = {}
        postgresql = connection.vendor == "postgresql"
        with transaction.atomic():
            started = time.perf_counter()
            self._rubric()
            self._patterns()
            self._step(f"graded {sum(map(len, self.patterns)):,} tick patterns", started)
            if postgresql:
                self._lock()
            present = synthetic_data_exists()
            if present and not replace:
                raise ValueError(SYNTHETIC_DATA_PRESENT)
            bulk = postgresql and self.size >= BULK_LOAD_SIZE
            with _indexes_built_after(self.LOADED) if bulk else nullcontext():
                if present:
                    started = time.perf_counter()
                    counts["deleted"] = synthetic_data_delete()
                    self._step("deleted the earlier synthetic data", started)
                started = time.perf_counter()
                counts["users"] = self._people()
                counts["plans"] = self._plans()
                counts["cycles"] = self._cycles()
                self._step("users, plans and cycles", started)
                started = time.perf_counter()
                tables = self._tables()
                span = (TIMELINE_END - self.cycles[0].starts_on).days
                for cycle, quota in zip(self.cycles, self.cycle_audits, strict=True):
                    position = (cycle.starts_on - self.cycles[0].starts_on).days / span
                    self._audit_cycle(cycle, quota, position)
                for table in tables.values():
                    table.flush()
                self.audits.close()
                self._reset_sequences()
                self._step("audits, moderation, actions and facts", started)
                started = time.perf_counter()
            if bulk:
                self._step("indexes and constraints built", started)
            started = time.perf_counter()
        self._step("committed", started)
        counts.update((name, table.written) for name, table in tables.items())
        if postgresql:
            started = time.perf_counter()
            self._analyze()
            self._step("ANALYZE", started)
        return counts

    MODELS = (Plan, AuditCycle, SampledPlan, Assignment, Audit, ModerationCase, Action, AuditFact)
    # The tables that grow with the size: their indexes are built after a bulk load.
    LOADED = (
        Plan,
        SampledPlan,
        Assignment,
        Audit,
        ModerationCase,
        ModerationCase.audits.through,
        Action,
        AuditFact,
    )

    def _lock(self):
        # Nobody else may insert while ids are handed out from MAX(id) + 1; readers may read.
        tables = [model._meta.db_table for model in self.MODELS]
        tables.append(ModerationCase.audits.through._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                "LOCK TABLE "
                + ", ".join(connection.ops.quote_name(t) for t in tables)
                + " IN SHARE ROW EXCLUSIVE MODE"
            )

    def _reset_sequences(self):
        models = [*self.MODELS, ModerationCase.audits.through]
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(sql)

    def _analyze(self):
        models = [*self.MODELS, ModerationCase.audits.through]
        with connection.cursor() as cursor:
            for model in models:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


# --- finding and deleting -------------------------------------------------------------------


def synthetic_data_exists():
    """Whether any synthetic plan, cycle or user is in the database."""
    return (
        Plan.objects.filter(system_id__startswith=PLAN_PREFIX).exists()
        or AuditCycle.objects.filter(name__startswith=CYCLE_PREFIX).exists()
        or get_user_model().objects.filter(username__startswith=USER_PREFIX).exists()
    )


@transaction.atomic
def synthetic_data_delete():
    """Delete every synthetic row, with one DELETE per table (a million rows are not loaded
    into Python to be deleted). Returns how many audits went."""
    User = get_user_model()
    quote = connection.ops.quote_name

    def table(model):
        return quote(model._meta.db_table)

    plans = f"SELECT id FROM {table(Plan)} WHERE system_id LIKE %s"  # noqa: S608 - names from model meta
    users = f"SELECT id FROM {table(User)} WHERE username LIKE %s"  # noqa: S608
    cycles = f"SELECT id FROM {table(AuditCycle)} WHERE name LIKE %s"  # noqa: S608
    assignments = f"SELECT id FROM {table(Assignment)} WHERE plan_id IN ({plans})"  # noqa: S608
    audits = f"SELECT id FROM {table(Audit)} WHERE assignment_id IN ({assignments})"  # noqa: S608
    cases = f"SELECT id FROM {table(ModerationCase)} WHERE plan_id IN ({plans})"  # noqa: S608
    actions = (
        f"SELECT id FROM {table(Action)} WHERE plan_id IN ({plans}) OR owner_id IN ({users}) "  # noqa: S608
        f"OR audit_id IN ({audits}) OR moderation_case_id IN ({cases})"
    )
    plan_like, user_like, cycle_like = f"{PLAN_PREFIX}%", f"{USER_PREFIX}%", f"{CYCLE_PREFIX}%"
    action_params = [plan_like, user_like, plan_like, plan_like]

    statements = [
        (ActionUpdate, f"action_id IN ({actions})", action_params),
        (Action, f"id IN ({actions})", action_params),
        # An action elsewhere that led to a synthetic re-audit only loses the link.
        (Action, f"reaudit_assignment_id IN ({assignments})", [plan_like]),
        (ModerationCase.audits.through, f"moderationcase_id IN ({cases})", [plan_like]),
        (ModerationCase, f"plan_id IN ({plans})", [plan_like]),
        (AuditFact, f"plan_id IN ({plans})", [plan_like]),
        (Audit, f"assignment_id IN ({assignments})", [plan_like]),
        (Assignment, f"plan_id IN ({plans})", [plan_like]),
        (SampledPlan, f"plan_id IN ({plans}) OR cycle_id IN ({cycles})", [plan_like, cycle_like]),
        (ConflictDeclaration, f"plan_id IN ({plans})", [plan_like]),
        (AuditCycle, "name LIKE %s", [cycle_like]),
        (Plan, "system_id LIKE %s", [plan_like]),
    ]
    deleted_audits = 0
    with connection.cursor() as cursor:
        for model, where, params in statements:
            cursor.execute(f"DELETE FROM {table(model)} WHERE {where}", params)  # noqa: S608
            if model is Audit:
                deleted_audits = cursor.rowcount
    # A few thousand users: the ORM deletes them with whatever else hangs off them.
    User.objects.filter(username__startswith=USER_PREFIX).delete()
    return deleted_audits
