"""Importing and exporting the plan register: the sample register imports as it is, messy real
exports are read where they can be, one refused row writes nothing, and QA leads do it all from
the admin (large files in the background) or the command line."""

import csv
import datetime
import io
from unittest import mock

import openpyxl
import pytest
from celery.exceptions import Retry
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django.urls import reverse
from wagtail.models import ModelLogEntry

from portal import celery_app
from portal.audits import plan_register, register
from portal.audits.management.commands.import_plans import NOT_IMPORTED
from portal.audits.models import Plan, PlanImport
from portal.audits.plan_register import (
    NOT_WRITTEN,
    PLANS_IMPORTED_ACTION,
    plans_export,
    plans_import,
)
from portal.audits.resources import ExistingPlansLoader, PlanResource
from portal.audits.tasks import DATABASE_UNREACHABLE, plan_import_run

from ..factories import UserFactory
from ..test_mail import free_port
from .conftest import CANONICAL_HEADER, register_csv, register_xlsx
from .factories import PlanFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("plan_import_media")]

ROWS = [
    ["EHC-1", "KS3", "SLCN", "special", "South", "new_plan", "2024-03-15"],
    ["EHC-2", "KS1", "ASD", "mainstream", "North", "annual_review", "2023-11-02"],
    ["EHC-3", "POST19", "PMLD", "fe_college", "East", "annual_review", "2022-01-31"],
]


def stored(system_id):
    return Plan.objects.values_list(*CANONICAL_HEADER).get(system_id=system_id)


def as_stored(row):
    return (*row[:6], datetime.date.fromisoformat(row[6]))


# The service


def test_the_sample_register_imports_as_it_is_and_is_logged(plans_2000_bytes, plans_2000_rows):
    user = UserFactory(roles=["QA lead"])

    outcome = plans_import(plans_2000_bytes, "plans-2000.csv", user=user)

    assert outcome.ok, outcome.errors[:3] + outcome.file_errors
    assert (outcome.rows, outcome.new, outcome.updated, outcome.unchanged) == (2000, 2000, 0, 0)
    assert outcome.written
    assert Plan.objects.count() == 2000
    first = plans_2000_rows[0]
    assert stored(first[0]) == as_stored(first)
    entry = ModelLogEntry.objects.get(action=PLANS_IMPORTED_ACTION)
    assert entry.user == user
    assert entry.data["file_name"] == "plans-2000.csv"
    assert (entry.data["new"], entry.data["updated"], entry.data["unchanged"]) == (2000, 0, 0)
    assert PlanImport.objects.get().status == PlanImport.Status.DONE


def test_importing_the_same_file_again_changes_nothing(plans_2000_bytes):
    plans_import(plans_2000_bytes, "plans-2000.csv")
    before = dict(Plan.objects.values_list("system_id", "updated_at"))

    again = plans_import(plans_2000_bytes, "plans-2000.csv")

    assert (again.new, again.updated, again.unchanged) == (0, 0, 2000)
    assert dict(Plan.objects.values_list("system_id", "updated_at")) == before


def test_a_changed_row_is_counted_as_updated_and_written():
    plans_import(register_csv(ROWS), "plans.csv")
    changed = [ROWS[0], [*ROWS[1][:2], "SEMH", *ROWS[1][3:]], ROWS[2], ["EHC-4", *ROWS[0][1:]]]

    outcome = plans_import(register_csv(changed), "plans.csv")

    assert (outcome.new, outcome.updated, outcome.unchanged) == (1, 1, 2)
    assert stored("EHC-2")[2] == "SEMH"
    assert Plan.objects.count() == 4


def test_a_dry_run_counts_but_writes_nothing(plans_2000_bytes):
    outcome = plans_import(plans_2000_bytes, "plans-2000.csv", dry_run=True)

    assert (outcome.new, outcome.invalid, outcome.written) == (2000, 0, False)
    assert len(outcome.sample) == 10
    assert outcome.sample[0]["row"] == 2
    assert not Plan.objects.exists()
    assert not ModelLogEntry.objects.filter(action=PLANS_IMPORTED_ACTION).exists()


def test_a_messy_csv_export_is_read_bom_spaces_lower_case_uk_dates_blank_rows():
    header = [" System ID ", "key stage", "Primary Need", "Setting type", "Locality", "PLAN STAGE"]
    rows = [
        ["  EHC-1 ", " ks3 ", "slcn", " Special ", " South ", "New plan", "15/03/2024"],
        ["EHC-2", "Post-19", "spld", "FE college", "North  East", "annual_review", "2/11/2023"],
        ["", "", "", "", "", "", ""],
        [],
    ]
    outcome = plans_import(register_csv(rows, header=[*header, "date issued"], bom=True), "x.csv")

    assert outcome.ok, outcome.errors
    assert stored("EHC-1") == (
        "EHC-1",
        "KS3",
        "SLCN",
        "special",
        "South",
        "new_plan",
        datetime.date(2024, 3, 15),
    )
    assert stored("EHC-2") == (
        "EHC-2",
        "POST19",
        "SPLD",
        "fe_college",
        "North East",
        "annual_review",
        datetime.date(2023, 11, 2),
    )


def test_an_excel_workbook_is_read_with_date_cells_and_number_ids():
    rows = [
        [224906, "KS2", "MLD", "mainstream", "West", "new_plan", datetime.datetime(2024, 3, 15)],
        ["EHC-2", "ks4", "asd", "special", "North", "annual_review", "15/03/2024"],
        [None, None, None, None, None, None, None],
    ]
    outcome = plans_import(register_xlsx(rows), "register.xlsx")

    assert outcome.ok, outcome.errors
    assert stored("224906")[6] == datetime.date(2024, 3, 15)
    assert stored("EHC-2")[1:3] == ("KS4", "ASD")


def test_a_workbook_with_plans_on_two_sheets_is_refused_but_empty_sheets_are_ignored():
    workbook = openpyxl.Workbook()
    workbook.active.title = "Plans"
    workbook.active.append(CANONICAL_HEADER)
    workbook.active.append(ROWS[0])
    workbook.create_sheet("Notes")
    single = io.BytesIO()
    workbook.save(single)
    workbook["Notes"].append(["Exported from the case-management system"])
    several = io.BytesIO()
    workbook.save(several)

    assert plans_import(single.getvalue(), "plans.xlsx").ok
    assert plans_import(several.getvalue(), "plans.xlsx").file_errors == [
        plan_register.SEVERAL_SHEETS.format(sheets="“Plans”, “Notes”")
    ]


@pytest.fixture
def small_batches():
    """Plans written 500 at a time, so a 2,000-row file takes several batches."""
    with mock.patch.object(PlanResource._meta, "batch_size", 500):
        yield


@pytest.mark.usefixtures("small_batches")
def test_one_bad_row_among_good_ones_writes_nothing_and_names_its_row_and_column(
    plans_2000_rows,
):
    rows = [list(row) for row in plans_2000_rows]
    # Past the first bulk batch, so batches were already on their way to the database.
    rows[1500][6] = "03/15/2024"

    outcome = plans_import(register_csv(rows), "plans.csv")

    assert not outcome.ok and not outcome.written
    assert outcome.invalid == 1
    assert outcome.errors == [
        {
            "row": 1502,
            "column": "date_issued",
            "message": register.DATE_NOT_REAL.format(
                row=1502, column="date_issued", value="03/15/2024"
            ),
        }
    ]
    assert not Plan.objects.exists()
    assert not PlanImport.objects.exists()


def test_a_bad_row_leaves_existing_plans_as_they_were():
    plans_import(register_csv(ROWS), "plans.csv")
    rows = [[*ROWS[0][:4], "Elsewhere", *ROWS[0][5:]], ["EHC-9", "KS9", *ROWS[0][2:]]]

    outcome = plans_import(register_csv(rows), "plans.csv")

    assert outcome.updated == 1 and outcome.invalid == 1
    assert stored("EHC-1")[4] == "South"
    assert not Plan.objects.filter(system_id="EHC-9").exists()


def test_an_identifier_column_refuses_the_whole_file_with_the_message():
    header = [*CANONICAL_HEADER, "NHS number"]
    outcome = plans_import(register_csv([[*ROWS[0], "943 476 5919"]], header=header), "x.csv")

    assert outcome.file_errors == [register.IDENTIFIER_COLUMNS.format(columns="“NHS number”")]
    assert outcome.rows == 0
    assert not Plan.objects.exists()
    assert not PlanImport.objects.exists()


def test_a_system_id_repeated_in_the_file_is_refused():
    outcome = plans_import(register_csv([ROWS[0], ROWS[1], ROWS[0]]), "plans.csv")

    assert outcome.errors[0]["row"] == 4
    assert outcome.errors[0]["column"] == "system_id"
    assert not Plan.objects.exists()


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("system_id\n".encode("utf-16"), "plans.csv", plan_register.NOT_UTF8),
        (b"%PDF-1.4", "plans.pdf", plan_register.FILE_TYPE.format(name="plans.pdf")),
        (b"PK\x03\x04 not really a workbook", "plans.xlsx", plan_register.NOT_XLSX),
        (b"", "plans.csv", register.NO_HEADER_ROW),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(content, name, message):
    assert plans_import(content, name).file_errors == [message]


@pytest.mark.usefixtures("small_batches")
def test_a_database_refusal_in_a_later_batch_leaves_nothing_half_written(
    plans_2000_bytes, plans_2000_rows
):
    # As if another import added row 1800's plan after this one looked for existing plans.
    taken = PlanFactory(system_id=plans_2000_rows[1798][0], locality="Elsewhere")
    writes = []
    real_insert = PlanResource._insert

    def counted_insert(resource, plans):
        writes.append(len(plans))
        return real_insert(resource, plans)

    with (
        mock.patch.object(ExistingPlansLoader, "get_instance", return_value=None),
        mock.patch.object(PlanResource, "_insert", autospec=True, side_effect=counted_insert),
    ):
        outcome = plans_import(plans_2000_bytes, "plans-2000.csv")

    assert writes == [500, 500, 500, 500]  # the fourth batch was refused; no more were tried
    assert not outcome.written
    assert len(outcome.file_errors) == 1
    assert outcome.file_errors[0].startswith(NOT_WRITTEN.split("(")[0])
    assert list(Plan.objects.values_list("system_id", "locality")) == [
        (taken.system_id, "Elsewhere")
    ]


def test_progress_is_reported_from_nothing_to_every_row(plans_2000_bytes):
    reports = []
    plans_import(plans_2000_bytes, "plans-2000.csv", progress=lambda *done: reports.append(done))

    assert reports[0] == (0, 2000)
    assert reports[-1] == (2000, 2000)
    assert [done for done, _ in reports] == sorted(done for done, _ in reports)


# Export


def test_the_export_is_the_register_format_and_imports_back_unchanged(
    plans_2000_bytes, plans_2000_rows
):
    plans_import(plans_2000_bytes, "plans-2000.csv")

    exported = plans_export(file_format="csv")
    rows = list(csv.reader(io.StringIO(exported.decode("utf-8"))))
    assert rows[0] == CANONICAL_HEADER
    assert sorted(rows[1:]) == sorted(plans_2000_rows)
    again = plans_import(exported, "export.csv")
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2000)
    xlsx_again = plans_import(plans_export(file_format="xlsx"), "export.xlsx")
    assert (xlsx_again.new, xlsx_again.updated, xlsx_again.unchanged) == (0, 0, 2000)


# Commands


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_import_plans_command_reports_counts_and_imports(plans_2000_path):
    output = run("import_plans", str(plans_2000_path))

    assert "2,000 plans — 2,000 new, 0 updated, 0 unchanged, 0 invalid." in output
    assert Plan.objects.count() == 2000
    entry = ModelLogEntry.objects.get(action=PLANS_IMPORTED_ACTION)
    assert entry.data["source"] == "command line"


def test_import_plans_records_the_named_user_in_the_audit_log(tmp_path, qa_lead):
    path = tmp_path / "plans.csv"
    path.write_bytes(register_csv(ROWS))

    output = run("import_plans", str(path), "--user", qa_lead.username)

    assert "rows a second" in output
    assert ModelLogEntry.objects.get(action=PLANS_IMPORTED_ACTION).user == qa_lead
    with pytest.raises(CommandError):
        run("import_plans", str(path), "--user", "nobody")


def test_import_plans_dry_run_writes_nothing(plans_2000_path):
    output = run("import_plans", str(plans_2000_path), "--dry-run")

    assert "2,000 new" in output
    assert "Dry run: nothing was written." in output
    assert not Plan.objects.exists()


def test_import_plans_prints_each_row_error_and_fails_writing_nothing(tmp_path):
    path = tmp_path / "plans.csv"
    path.write_bytes(
        register_csv(
            [ROWS[0], ["EHC-2", "KS9", *ROWS[0][2:]], ["EHC-3", *ROWS[0][1:6], "31/02/2024"]]
        )
    )
    out = io.StringIO()

    with pytest.raises(CommandError) as caught:
        call_command("import_plans", str(path), stdout=out, stderr=io.StringIO())

    assert str(caught.value) == NOT_IMPORTED.format(path=path, count=2, s="s")
    assert "Row 3: key_stage “KS9” is not one of" in out.getvalue()
    assert "Row 4: date_issued “31/02/2024” is not a real date" in out.getvalue()
    assert not Plan.objects.exists()


def test_import_plans_refuses_an_identifier_column(tmp_path):
    path = tmp_path / "plans.csv"
    path.write_bytes(register_csv([[*ROWS[0], "Sam"]], header=[*CANONICAL_HEADER, "First name"]))
    out = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_plans", str(path), stdout=out, stderr=io.StringIO())

    assert register.IDENTIFIER_COLUMNS.format(columns="“First name”") in out.getvalue()


def test_export_plans_writes_csv_and_xlsx(tmp_path):
    plans_import(register_csv(ROWS), "plans.csv")

    csv_text = run("export_plans")
    written = run("export_plans", "--output", str(tmp_path / "plans.xlsx"))

    assert csv_text.splitlines()[0] == ",".join(CANONICAL_HEADER)
    assert csv_text.splitlines()[1] == ",".join(ROWS[0])
    assert "Wrote 3 plans" in written
    sheet = openpyxl.load_workbook(tmp_path / "plans.xlsx").active
    assert [cell.value for cell in sheet[1]] == CANONICAL_HEADER
    assert sheet.max_row == 4


# Admin screens


def upload(client, content, name="plans.csv"):
    return client.post(
        reverse("plan_import:upload"), {"file": SimpleUploadedFile(name, content)}, follow=True
    )


def test_qa_lead_checks_then_confirms_an_import(client, qa_lead, plans_2000_bytes):
    client.force_login(qa_lead)
    assert client.get(reverse("plan_import:upload")).status_code == 200

    preview = upload(client, plans_2000_bytes, "plans-2000.csv")

    plan_import = PlanImport.objects.get()
    assert preview.status_code == 200
    assert preview.context["state"] == plan_register.STATE_CHECKED
    content = preview.content.decode()
    assert "Confirm import" in content
    assert "New plans</th><td>2000" in content
    assert "EHC-224906" in content  # the first rows to be imported
    assert not Plan.objects.exists()

    done = client.post(reverse("plan_import:confirm", args=[plan_import.pk]), follow=True)

    assert done.context["state"] == plan_register.STATE_IMPORTED
    assert Plan.objects.count() == 2000
    plan_import.refresh_from_db()
    assert (plan_import.status, plan_import.rows_done) == (PlanImport.Status.DONE, 2000)
    assert ModelLogEntry.objects.get(action=PLANS_IMPORTED_ACTION).user == qa_lead
    # Confirming twice imports nothing more.
    again = client.post(reverse("plan_import:confirm", args=[plan_import.pk]), follow=True)
    assert plan_register.NOT_CONFIRMABLE in again.content.decode()
    assert ModelLogEntry.objects.filter(action=PLANS_IMPORTED_ACTION).count() == 1


def test_a_refused_file_shows_each_row_error_and_no_confirm_button(client, qa_lead):
    client.force_login(qa_lead)
    rows = [ROWS[0], ["EHC-2", "KS9", *ROWS[0][2:]]]

    response = upload(client, register_csv(rows))

    content = response.content.decode()
    assert response.context["state"] == plan_register.STATE_REFUSED
    assert "Confirm import" not in content
    assert "<td>3</td><td>key_stage</td>" in content
    assert "Row 3: key_stage “KS9” is not one of" in content
    assert not Plan.objects.exists()


def test_an_identifier_column_is_refused_on_screen(client, qa_lead, plan_import_media):
    client.force_login(qa_lead)

    response = upload(
        client, register_csv([[*ROWS[0], "1 High St"]], header=[*CANONICAL_HEADER, "Address"])
    )

    content = response.content.decode()
    assert register.IDENTIFIER_COLUMNS.format(columns="“Address”") in content
    assert "Confirm import" not in content
    # The refused file is not kept, only the record of why it was refused.
    plan_import = PlanImport.objects.get()
    assert plan_import.status == PlanImport.Status.FAILED
    assert not plan_import.file
    assert not any(plan_import_media.rglob("*.csv"))


def test_an_upload_that_is_not_csv_or_xlsx_is_refused_by_the_form(client, qa_lead):
    client.force_login(qa_lead)

    response = upload(client, b"%PDF", "plans.pdf")

    assert plan_register.FILE_TYPE.format(name="plans.pdf") in response.content.decode()
    assert not PlanImport.objects.exists()


def test_a_large_file_is_checked_and_imported_in_the_background_with_progress(
    client, qa_lead, plans_2000_bytes, settings, django_capture_on_commit_callbacks
):
    settings.PORTAL_PLAN_IMPORT_ASYNC_BYTES = 1024
    client.force_login(qa_lead)

    with django_capture_on_commit_callbacks() as queued:
        waiting = upload(client, plans_2000_bytes, "plans-2000.csv")
    assert waiting.context["state"] == plan_register.STATE_RUNNING
    assert '<meta http-equiv="refresh" content="2">' in waiting.content.decode()
    assert "Waiting for the background worker" in waiting.content.decode()
    assert len(queued) == 1

    queued[0]()  # the worker runs the check (Celery is eager in tests)
    plan_import = PlanImport.objects.get()
    detail = client.get(reverse("plan_import:detail", args=[plan_import.pk]))
    assert detail.context["state"] == plan_register.STATE_CHECKED
    assert (detail.context["rows_done"], detail.context["rows_total"]) == (2000, 2000)
    assert not Plan.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("plan_import:confirm", args=[plan_import.pk]))

    plan_import.refresh_from_db()
    assert plan_import.status == PlanImport.Status.DONE
    assert (plan_import.rows_done, plan_import.rows_total) == (2000, 2000)
    assert plan_import.result["new"] == 2000
    assert Plan.objects.count() == 2000


def test_progress_of_a_running_import_is_shown_from_the_cache(client, qa_lead):
    client.force_login(qa_lead)
    plan_import = PlanImport.objects.create(
        file=SimpleUploadedFile("big.csv", b"x"),
        file_name="big.csv",
        status=PlanImport.Status.RUNNING,
        result={"stage": plan_register.STAGE_IMPORTING, "dry_run": False},
    )
    plan_register._progress_writer(plan_import.pk)(25_000, 100_000)

    response = client.get(reverse("plan_import:detail", args=[plan_import.pk]))

    content = response.content.decode()
    assert "25000 of 100000 rows done (25%)" in content
    assert '<meta http-equiv="refresh"' in content


def test_a_background_import_that_loses_the_database_is_marked_failed(
    qa_lead, settings, django_capture_on_commit_callbacks
):
    settings.PORTAL_PLAN_IMPORT_ASYNC_BYTES = 1
    with django_capture_on_commit_callbacks() as queued:
        plan_import = plan_register.plans_import_start(
            SimpleUploadedFile("plans.csv", register_csv(ROWS)), qa_lead
        )
    with (
        mock.patch("portal.audits.tasks.plan_import_execute", side_effect=OperationalError("gone")),
        pytest.raises(OperationalError),
    ):
        queued[0]()  # eager: no worker to retry later

    plan_import.refresh_from_db()
    assert plan_import.status == PlanImport.Status.FAILED
    assert DATABASE_UNREACHABLE in plan_import.result["file_errors"][0]
    assert not Plan.objects.exists()


def test_a_worker_retries_a_lost_database_before_marking_the_import_failed(qa_lead):
    plan_import = PlanImport.objects.create(
        file=SimpleUploadedFile("plans.csv", register_csv(ROWS)), file_name="plans.csv"
    )
    failing = mock.patch(
        "portal.audits.tasks.plan_import_execute", side_effect=OperationalError("gone")
    )
    retry = mock.patch.object(plan_import_run, "retry", side_effect=Retry())

    plan_import_run.push_request(is_eager=False, retries=0)
    try:
        with failing, retry as retried, pytest.raises(Retry):
            plan_import_run.run(plan_import.pk)
    finally:
        plan_import_run.pop_request()
    assert retried.called
    plan_import.refresh_from_db()
    assert plan_import.status == PlanImport.Status.PENDING

    plan_import_run.push_request(is_eager=False, retries=plan_import_run.max_retries)
    try:
        with failing, pytest.raises(OperationalError):
            plan_import_run.run(plan_import.pk)
    finally:
        plan_import_run.pop_request()
    plan_import.refresh_from_db()
    assert plan_import.status == PlanImport.Status.FAILED


def test_qa_lead_lists_filters_searches_inspects_and_exports_plans(client, qa_lead):
    PlanFactory(system_id="EHC-1", key_stage="KS3", locality="South")
    PlanFactory(system_id="EHC-2", key_stage="KS1", locality="North")
    client.force_login(qa_lead)

    listing = client.get(reverse("plans:index"))
    filtered = client.get(reverse("plans:index"), {"key_stage": "KS3"})
    by_locality = client.get(reverse("plans:index"), {"locality": "North"})
    searched = client.get(reverse("plans:index"), {"q": "EHC-2"})
    dated = client.get(reverse("plans:index"), {"date_issued_from": "2025-01-01"})

    assert listing.status_code == 200
    assert "Import plans" in listing.content.decode()
    assert [p.system_id for p in filtered.context["object_list"]] == ["EHC-1"]
    assert [p.system_id for p in by_locality.context["object_list"]] == ["EHC-2"]
    assert [p.system_id for p in searched.context["object_list"]] == ["EHC-2"]
    assert len(dated.context["object_list"]) == 2
    filters = listing.context["filters"].form.fields
    assert list(filters["locality"].choices) == [("North", "North"), ("South", "South")]
    assert set(filters) == {
        "key_stage",
        "primary_need",
        "setting_type",
        "locality",
        "plan_stage",
        "date_issued",
    }
    plan = Plan.objects.get(system_id="EHC-1")
    assert client.get(reverse("plans:inspect", args=[plan.pk])).status_code == 200
    # QA leads change the register only by importing.
    assert client.get(reverse("plans:edit", args=[plan.pk])).status_code == 302

    exported = client.get(reverse("plans:index"), {"export": "csv", "key_stage": "KS3"})
    lines = b"".join(exported.streaming_content).decode().splitlines()
    assert lines == [
        ",".join(CANONICAL_HEADER),
        "EHC-1,KS3,ASD,mainstream,South,new_plan,2025-03-14",
    ]
    xlsx = client.get(reverse("plans:index"), {"export": "xlsx"})
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")


def test_an_auditor_cannot_reach_the_register_or_its_import(client, auditor):
    PlanFactory(system_id="EHC-1")
    client.force_login(auditor)

    for url in [
        reverse("plans:index"),
        reverse("plan_import:upload"),
    ]:
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("wagtailadmin_login") in response["Location"]

    response = client.post(
        reverse("plan_import:upload"),
        {"file": SimpleUploadedFile("plans.csv", register_csv(ROWS))},
    )
    assert response.status_code == 302
    assert not PlanImport.objects.exists()
    assert Plan.objects.count() == 1


def test_admin_users_without_the_import_permission_are_refused(client):
    user = UserFactory()
    user.user_permissions.add(
        Permission.objects.get(codename="access_admin"),
        Permission.objects.get(codename="view_plan"),
    )
    plan_import = PlanImport.objects.create(
        file=SimpleUploadedFile("a.csv", register_csv(ROWS)), file_name="a.csv"
    )
    client.force_login(user)

    assert client.get(reverse("plans:index")).status_code == 200
    assert "Import plans" not in client.get(reverse("plans:index")).content.decode()
    # Wagtail turns a refusal into a redirect to the dashboard with a message.
    for response in [
        client.get(reverse("plan_import:upload")),
        client.get(reverse("plan_import:detail", args=[plan_import.pk])),
        client.post(reverse("plan_import:confirm", args=[plan_import.pk])),
    ]:
        assert response.status_code == 302
        assert response["Location"] == reverse("wagtailadmin_home")
    plan_import.refresh_from_db()
    assert plan_import.status == PlanImport.Status.PENDING
    assert not Plan.objects.exists()


def test_a_background_import_the_broker_cannot_take_is_marked_stopped_not_an_error_page(
    client, qa_lead, settings, django_capture_on_commit_callbacks
):
    """Redis down: the upload answers as usual, then says the import stopped and that
    nothing was written, so the QA lead uploads again later."""
    settings.PORTAL_PLAN_IMPORT_ASYNC_BYTES = 1
    client.force_login(qa_lead)
    conf = celery_app.conf
    previous = conf.task_always_eager, conf.broker_url
    conf.task_always_eager, conf.broker_url = False, f"redis://127.0.0.1:{free_port()}/0"
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = upload(client, register_csv(ROWS), "plans.csv")
    finally:
        conf.task_always_eager, conf.broker_url = previous
    assert response.status_code == 200

    plan_import = PlanImport.objects.get()
    assert plan_import.status == PlanImport.Status.FAILED
    detail = client.get(reverse("plan_import:detail", args=[plan_import.pk])).content.decode()
    assert plan_register.WORKER_UNREACHABLE in detail and "nothing was written" in detail
    assert not Plan.objects.exists()
