"""Services for the plan register: importing a register file (checked first, written all or
nothing, logged), keeping an upload as a PlanImport that is checked and then imported now or in
Celery by its size, and exporting the register in the same format."""

import csv
import io
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import PurePath

import tablib
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from import_export.formats import base_formats
from wagtail.log_actions import log

from . import register
from .models import Plan, PlanImport
from .resources import PlanResource

# Settings, with their defaults: files larger than this are checked and imported by Celery.
ASYNC_BYTES_SETTING = "PORTAL_PLAN_IMPORT_ASYNC_BYTES"
ASYNC_BYTES_DEFAULT = 512 * 1024
MAX_BYTES_SETTING = "PORTAL_PLAN_IMPORT_MAX_BYTES"
MAX_BYTES_DEFAULT = 20 * 1024 * 1024
MAX_ROWS = 250_000
# Row errors kept on a PlanImport (a file of 100,000 bad rows would otherwise fill the record).
STORED_ERRORS = 500
PROGRESS_SECONDS = 24 * 60 * 60

PLANS_IMPORTED_ACTION = "portal.plans.import"
FORMATS = ("csv", "xlsx")

FILE_TOO_LARGE = (
    "The file is larger than {limit} MB; split the register into smaller files and import each one."
)
FILE_TYPE = (
    "“{name}” is not a CSV file or an Excel workbook (.xlsx). Save the register as CSV UTF-8 "
    "or as an Excel workbook and import it again."
)
NOT_UTF8 = (
    "The file is not UTF-8 text. In Excel, save it as “CSV UTF-8 (Comma delimited)” or as an "
    "Excel workbook (.xlsx) and import it again."
)
NOT_CSV = "The file could not be read as CSV ({problem})."
NOT_XLSX = "The file could not be opened as an Excel workbook (.xlsx); save it again from Excel."
SEVERAL_SHEETS = (
    "The workbook has plans on more than one sheet ({sheets}); keep only the register's sheet."
)
TOO_MANY_ROWS = (
    "The file has more than {limit:,} rows; split the register into smaller files and import "
    "each one."
)
NOT_WRITTEN = (
    "The register could not be saved, so nothing was imported ({problem}). Try again; if it "
    "happens again, tell the portal's administrator."
)
ROW_FAILED = "Row {row} could not be imported ({problem}), so nothing was imported."
WORKER_UNREACHABLE = "the background worker could not be reached"
IMPORT_STOPPED = (
    "The import stopped before it finished ({problem}); nothing was written. Upload the file "
    "again to retry."
)
NOT_CONFIRMABLE = "This file cannot be imported: it has not been checked, or it had problems."

# PlanImport.result["stage"]: where a stored upload is on its way from check to import.
STAGE_QUEUED = "queued"
STAGE_CHECKING = "checking"
STAGE_CHECKED = "checked"
STAGE_IMPORTING = "importing"
STAGE_FINISHED = "finished"


def async_bytes():
    """Uploads larger than this many bytes are checked and imported in Celery."""
    return getattr(settings, ASYNC_BYTES_SETTING, ASYNC_BYTES_DEFAULT)


def max_bytes():
    """Uploads larger than this many bytes are refused."""
    return getattr(settings, MAX_BYTES_SETTING, MAX_BYTES_DEFAULT)


@dataclass
class PlanImportResult:
    """What an import found and did, in plain JSON-ready values."""

    file_name: str
    dry_run: bool
    written: bool = False
    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    errors: list = field(default_factory=list)  # {"row", "column", "message"}
    file_errors: list = field(default_factory=list)
    notices: list = field(default_factory=list)
    sample: list = field(default_factory=list)  # the first rows to be imported
    seconds: float = 0.0

    @property
    def ok(self):
        return not self.file_errors and not self.errors

    def as_dict(self, max_errors=None):
        data = asdict(self)
        data["ok"] = self.ok
        data["errors_total"] = len(self.errors)
        if max_errors is not None:
            data["errors"] = data["errors"][:max_errors]
        return data


def _xlsx_rows(file_bytes):
    import openpyxl

    # A damaged workbook fails in whichever layer meets the damage (zipfile, zlib, the XML
    # parser, openpyxl's own readers), and in read-only mode only once its rows are read:
    # any of them means the file cannot be read as a workbook.
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(file_bytes), read_only=True, data_only=True)
    except Exception as error:
        raise register.FileRefused([NOT_XLSX]) from error
    try:
        sheets = []
        for sheet in workbook.worksheets:
            rows = []
            for row in sheet.iter_rows(values_only=True):
                if len(rows) > MAX_ROWS:
                    # Stop reading: a small workbook can unpack into millions of rows.
                    raise register.FileRefused([TOO_MANY_ROWS.format(limit=MAX_ROWS)])
                rows.append(list(row))
            if any(any(cell not in (None, "") for cell in row) for row in rows):
                sheets.append((sheet.title, rows))
    except register.FileRefused:
        raise
    except Exception as error:
        raise register.FileRefused([NOT_XLSX]) from error
    finally:
        workbook.close()
    if len(sheets) > 1:
        raise register.FileRefused(
            [SEVERAL_SHEETS.format(sheets=", ".join(f"“{title}”" for title, _ in sheets))]
        )
    return sheets[0][1] if sheets else []


def _csv_rows(file_bytes):
    try:
        text = file_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise register.FileRefused([NOT_UTF8]) from error
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise register.FileRefused([NOT_CSV.format(problem=error)]) from error


def register_file_read(file_bytes, file_name):
    """The file's rows as a tablib Dataset, its first row as the headers, every row the same
    width. Raises register.FileRefused when the file cannot be read at all."""
    if len(file_bytes) > max_bytes():
        raise register.FileRefused([FILE_TOO_LARGE.format(limit=max_bytes() // (1024 * 1024))])
    suffix = PurePath(file_name).suffix.lower()
    if file_bytes.startswith(b"PK\x03\x04"):
        rows = _xlsx_rows(file_bytes)
    elif suffix in (".csv", ".txt"):
        rows = _csv_rows(file_bytes)
    else:
        raise register.FileRefused([FILE_TYPE.format(name=PurePath(file_name).name)])
    if len(rows) > MAX_ROWS + 1:
        raise register.FileRefused([TOO_MANY_ROWS.format(limit=MAX_ROWS)])
    if not rows:
        raise register.FileRefused([register.NO_HEADER_ROW])
    width = max(len(row) for row in rows)
    return tablib.Dataset(
        *([*row, *[None] * (width - len(row))] for row in rows[1:]),
        headers=[*rows[0], *[""] * (width - len(rows[0]))],
    )


def _outcome(resource, result, file_name, dry_run):
    outcome = PlanImportResult(file_name=file_name, dry_run=dry_run)
    for base_error in result.base_errors:
        if isinstance(base_error.error, register.FileRefused):
            outcome.file_errors.extend(base_error.error.messages)
        else:
            outcome.file_errors.append(NOT_WRITTEN.format(problem=base_error.error))
    if resource.table is None:
        return outcome
    outcome.rows = len(resource.table.rows)
    outcome.notices = resource.table.notices
    outcome.new = result.totals["new"]
    outcome.updated = result.totals["update"]
    outcome.unchanged = result.totals["skip"]
    outcome.invalid = result.totals["invalid"] + result.totals["error"]
    for error_row in result.error_rows:
        row = resource.register_row(error_row.number).row
        for error in error_row.errors:
            message = ROW_FAILED.format(row=row, problem=error.error)
            outcome.errors.append({"row": row, "column": "", "message": message})
    for invalid in result.invalid_rows:
        outcome.errors.extend(
            {"row": error.row, "column": error.column, "message": error.message}
            for error in resource.register_row(invalid.number).errors
        )
    outcome.errors.sort(key=lambda error: error["row"])
    outcome.sample = resource.sample
    return outcome


def plans_import(
    file_bytes,
    file_name,
    user=None,
    dry_run=False,
    progress=None,
    plan_import=None,
    source="admin",
):
    """Check a register file and, unless dry_run, write it: every row or, if any row is
    refused, none. A written import is kept as a PlanImport (the given one, or a new one) and
    logged in Wagtail's audit log, since bulk writes send no signals."""
    started = time.monotonic()
    try:
        dataset = register_file_read(file_bytes, file_name)
    except register.FileRefused as refusal:
        return PlanImportResult(file_name=file_name, dry_run=dry_run, file_errors=refusal.messages)
    resource = PlanResource(progress=progress)
    with transaction.atomic():
        result = resource.import_data(
            dataset,
            dry_run=dry_run,
            raise_errors=False,
            use_transactions=True,
            rollback_on_validation_errors=True,
        )
        outcome = _outcome(resource, result, file_name, dry_run)
        if outcome.ok and not dry_run:
            outcome.written = True
            outcome.seconds = round(time.monotonic() - started, 3)
            if plan_import is None:
                name = PurePath(file_name).name
                plan_import = PlanImport.objects.create(
                    file=ContentFile(file_bytes, name=name),
                    file_name=name,
                    uploaded_by=user,
                    status=PlanImport.Status.DONE,
                    rows_total=outcome.rows,
                    rows_done=outcome.rows,
                    result={**outcome.as_dict(max_errors=STORED_ERRORS), "stage": STAGE_FINISHED},
                    finished_at=timezone.now(),
                )
            log(
                plan_import,
                PLANS_IMPORTED_ACTION,
                user=user,
                title=plan_import.file_name,
                data={
                    "file_name": outcome.file_name,
                    "source": source,
                    "rows": outcome.rows,
                    "new": outcome.new,
                    "updated": outcome.updated,
                    "unchanged": outcome.unchanged,
                },
            )
            return outcome
    outcome.seconds = round(time.monotonic() - started, 3)
    return outcome


def _progress_key(import_id):
    return f"audits:plan-import:{import_id}:progress"


def plan_import_progress(plan_import):
    """(rows done, rows in the file) for a stored import: live from the cache while it runs,
    since its rows are written in one transaction that no other connection can see into."""
    live = cache.get(_progress_key(plan_import.pk))
    if live and plan_import.status in (PlanImport.Status.PENDING, PlanImport.Status.RUNNING):
        return tuple(live)
    return plan_import.rows_done, plan_import.rows_total


def _progress_writer(import_id):
    def write(done, total):
        cache.set(_progress_key(import_id), (done, total), PROGRESS_SECONDS)

    return write


def plan_import_execute(import_id, dry_run):
    """Check (dry_run) or import a stored upload, recording the outcome on its PlanImport in
    the same transaction as the import's writes."""
    plan_import = PlanImport.objects.select_related("uploaded_by").get(pk=import_id)
    if plan_import.status == PlanImport.Status.DONE:
        return plan_import  # a redelivered task: the file is already in the register
    # The log names whoever started this step: the uploader for the check, the QA lead who
    # confirmed for the import.
    by_id = plan_import.result.get("by")
    user = plan_import.uploaded_by
    if by_id is not None and (user is None or user.pk != by_id):
        user = get_user_model().objects.filter(pk=by_id).first()
    stage = STAGE_CHECKING if dry_run else STAGE_IMPORTING
    plan_import.status = PlanImport.Status.RUNNING
    plan_import.rows_done = 0
    plan_import.result = {**plan_import.result, "stage": stage, "dry_run": dry_run}
    plan_import.save(update_fields=["status", "rows_done", "result"])
    with plan_import.file.open("rb") as stored:
        file_bytes = stored.read()
    with transaction.atomic():
        outcome = plans_import(
            file_bytes,
            plan_import.file_name,
            user=user,
            dry_run=dry_run,
            progress=_progress_writer(plan_import.pk),
            plan_import=plan_import,
        )
        if not outcome.ok:
            status = PlanImport.Status.FAILED
        elif dry_run:
            status = PlanImport.Status.PENDING
        else:
            status = PlanImport.Status.DONE
        plan_import.status = status
        plan_import.rows_total = outcome.rows
        plan_import.rows_done = outcome.rows if outcome.ok else 0
        plan_import.result = {
            **outcome.as_dict(max_errors=STORED_ERRORS),
            "stage": STAGE_CHECKED if dry_run and outcome.ok else STAGE_FINISHED,
            "by": by_id,
        }
        if status != PlanImport.Status.PENDING:
            plan_import.finished_at = timezone.now()
        if status == PlanImport.Status.FAILED:
            # Nothing will be imported from a refused file, and it may hold the very
            # identifiers it was refused for: keep only the record of why.
            plan_import.file.delete(save=False)
        plan_import.save()
    cache.delete(_progress_key(plan_import.pk))
    return plan_import


def plan_import_fail(import_id, problem):
    """Record that a stored import stopped; its transaction was rolled back, so nothing from
    it is in the register, and the stored file is dropped (the QA lead uploads it again)."""
    plan_import = (
        PlanImport.objects.filter(pk=import_id).exclude(status=PlanImport.Status.DONE).first()
    )
    cache.delete(_progress_key(import_id))
    if plan_import is None:
        return
    plan_import.file.delete(save=False)
    plan_import.status = PlanImport.Status.FAILED
    plan_import.finished_at = timezone.now()
    plan_import.result = {
        "stage": STAGE_FINISHED,
        "ok": False,
        "file_errors": [IMPORT_STOPPED.format(problem=problem)],
        "errors": [],
    }
    plan_import.save()


def _hand_to_worker(import_id, dry_run):
    """After commit: give the import to a worker, or, if the broker cannot be reached, record
    it as stopped so the QA lead is told to upload again (the register is untouched)."""
    from portal.mail import task_send

    from .tasks import plan_import_run

    if not task_send(plan_import_run, import_id, dry_run=dry_run):
        plan_import_fail(import_id, WORKER_UNREACHABLE)


def _run_or_queue(plan_import, dry_run):
    if plan_import.file.size > async_bytes():
        transaction.on_commit(partial(_hand_to_worker, plan_import.pk, dry_run))
        return plan_import
    return plan_import_execute(plan_import.pk, dry_run)


def plans_import_start(upload, user):
    """Keep an uploaded register file as a PlanImport and check it without writing anything:
    now if it is at most PORTAL_PLAN_IMPORT_ASYNC_BYTES, otherwise in a Celery task."""
    name = PurePath(upload.name).name
    plan_import = PlanImport.objects.create(
        file=upload,
        file_name=name,
        uploaded_by=user,
        result={"stage": STAGE_QUEUED, "dry_run": True, "by": getattr(user, "pk", None)},
    )
    return _run_or_queue(plan_import, dry_run=True)


STATE_RUNNING = "running"
STATE_CHECKED = "checked"
STATE_IMPORTED = "imported"
STATE_REFUSED = "refused"


def plan_import_state(plan_import):
    """What a QA lead sees for a stored upload: running (queued, checking or importing),
    checked (ready to confirm), imported or refused."""
    if plan_import.status == PlanImport.Status.DONE:
        return STATE_IMPORTED
    if plan_import.status == PlanImport.Status.FAILED:
        return STATE_REFUSED
    if plan_import_can_confirm(plan_import):
        return STATE_CHECKED
    return STATE_RUNNING


def plan_import_can_confirm(plan_import):
    """Whether a stored upload was checked, passed, and is not yet imported."""
    return (
        plan_import.status == PlanImport.Status.PENDING
        and plan_import.result.get("stage") == STAGE_CHECKED
        and plan_import.result.get("ok") is True
    )


def plan_import_confirm(plan_import, user):
    """Import a checked upload for real, now or in Celery by its size as it was checked.
    Raises ValueError (NOT_CONFIRMABLE) unless the check passed and it is not yet imported."""
    with transaction.atomic():
        plan_import = PlanImport.objects.select_for_update().get(pk=plan_import.pk)
        if not plan_import_can_confirm(plan_import):
            raise ValueError(NOT_CONFIRMABLE)
        plan_import.result = {
            **plan_import.result,
            "stage": STAGE_QUEUED,
            "dry_run": False,
            "by": getattr(user, "pk", None),
        }
        plan_import.save(update_fields=["result"])
    return _run_or_queue(plan_import, dry_run=False)


def plans_export(queryset=None, file_format="csv"):
    """The plans (all, or the queryset's) in the register import format, as CSV or XLSX
    bytes: a file exported here imports back unchanged."""
    if file_format not in FORMATS:
        raise ValueError(f"Unknown export format {file_format!r}; use csv or xlsx.")
    dataset = PlanResource().export(Plan.objects.all() if queryset is None else queryset)
    if file_format == "csv":
        return base_formats.CSV().export_data(dataset).encode("utf-8")
    return base_formats.XLSX().export_data(dataset)
