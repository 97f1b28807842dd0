"""The plan register as a django-import-export resource: rows are read by the register rules
(portal.audits.register), existing plans are found in a few queries, and plans are written in
bulk. Bulk mode sends no model signals: portal.audits.plan_register logs each import itself."""

from operator import attrgetter

import tablib
from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.utils import timezone
from import_export import fields, resources, widgets
from import_export.instance_loaders import BaseInstanceLoader
from import_export.results import RowResult

from . import register
from .models import Plan

LOOKUP_BATCH_SIZE = 10_000
PROGRESS_EVERY = 500
SAMPLE_SIZE = 10
_INSERTED = (*register.COLUMNS, "created_at", "updated_at")


class ExistingPlansLoader(BaseInstanceLoader):
    """The plans already in the register for the file's system IDs, found with one query per
    batch of IDs rather than one per row."""

    def __init__(self, resource, dataset=None):
        super().__init__(resource, dataset)
        self.plans = {}
        if not dataset or not dataset.headers or "system_id" not in dataset.headers:
            return
        # Only the IDs of rows the register rules accepted: a refused cell may hold anything,
        # even a NUL, which PostgreSQL refuses to compare (and the row is not imported anyway).
        rows = resource.table.rows if resource.table is not None else []
        system_ids = list({row.values["system_id"] for row in rows if not row.errors})
        connection = connections[resource.get_db_connection_name()]
        batch = min(connection.ops.bulk_batch_size(["system_id"], system_ids), LOOKUP_BATCH_SIZE)
        queryset = resource.get_queryset()
        for start in range(0, len(system_ids), max(batch, 1)):
            chunk = system_ids[start : start + batch]
            self.plans.update(
                (plan.system_id, plan) for plan in queryset.filter(system_id__in=chunk)
            )

    def get_instance(self, row):
        return self.plans.get(row["system_id"])


def _field(column, widget=None):
    return fields.Field(attribute=column, column_name=column, widget=widget or widgets.CharWidget())


class PlanResource(resources.ModelResource):
    """One plan per row in the canonical register format; unchanged rows are skipped."""

    system_id = _field("system_id")
    key_stage = _field("key_stage")
    primary_need = _field("primary_need")
    setting_type = _field("setting_type")
    locality = _field("locality")
    plan_stage = _field("plan_stage")
    date_issued = _field("date_issued", widgets.DateWidget(format="%Y-%m-%d"))

    class Meta:
        model = Plan
        fields = register.COLUMNS
        import_order = register.COLUMNS
        export_order = register.COLUMNS
        import_id_fields = ["system_id"]
        instance_loader_class = ExistingPlansLoader
        use_bulk = True
        # Rows per INSERT; larger batches make fewer round trips (Django caps it on SQLite).
        batch_size = 2000
        use_transactions = True
        skip_unchanged = True
        report_skipped = True
        # Unchanged rows are found by comparing values (see skip_row), without the deep copy
        # and HTML diff django-import-export would make of every row.
        skip_diff = True
        clean_model_instances = False

    def __init__(self, today=None, progress=None, **kwargs):
        super().__init__(**kwargs)
        self.today = today or timezone.localdate()
        self.progress = progress
        self.table = None
        self.refused = False
        self.sample = []
        self._before = None

    # Reading: the register rules clean the raw rows before any lookup or write.

    def import_data(self, dataset, **kwargs):
        """Import a file's raw rows (headers as written): they are read by the register rules
        first, so import-export sees only canonical columns and cleaned values. A file refused
        whole comes back as a result with that refusal as its only (base) error."""
        try:
            self.table = register.register_read(
                list(dataset.headers or []), dataset, today=self.today
            )
        except register.FileRefused as refusal:
            result = self.get_result_class()()
            result.append_base_error(self.get_error_result_class()(refusal))
            return result
        cleaned = tablib.Dataset(
            *([row.values[column] for column in register.COLUMNS] for row in self.table.rows),
            headers=list(register.COLUMNS),
        )
        if self.progress:
            self.progress(0, len(self.table.rows))
        return super().import_data(cleaned, **kwargs)

    def register_row(self, row_number):
        """The RegisterRow for import-export's 1-based row_number."""
        return self.table.rows[row_number - 1]

    def before_import_row(self, row, **kwargs):
        register_row = self.register_row(kwargs["row_number"])
        if register_row.errors:
            self.refused = True
            messages = {}
            for error in register_row.errors:
                messages.setdefault(error.column, []).append(error.message)
            raise ValidationError(messages)

    def import_instance(self, instance, row, **kwargs):
        # The register rules have cleaned every value already; the fields' widgets would only
        # convert each to itself, 700,000 times for a 100,000-row file.
        for column in register.COLUMNS:
            setattr(instance, column, row[column])

    def after_init_instance(self, instance, new, row, **kwargs):
        self._before = None if new else self._values(instance)

    def skip_row(self, instance, original, row, import_validation_errors=None):
        return self._before is not None and self._values(instance) == self._before

    def after_import_row(self, row, row_result, **kwargs):
        number = kwargs["row_number"]
        if len(self.sample) < SAMPLE_SIZE and row_result.import_type in (
            RowResult.IMPORT_TYPE_NEW,
            RowResult.IMPORT_TYPE_UPDATE,
        ):
            self.sample.append(
                {
                    "row": self.register_row(number).row,
                    "change": "new" if row_result.is_new() else "updated",
                    **{column: str(row[column]) for column in register.COLUMNS},
                }
            )
        if self.progress and number % PROGRESS_EVERY == 0:
            self.progress(number, len(self.table.rows))

    def after_import(self, dataset, result, **kwargs):
        # Plans get new primary keys from the database, so the sequence needs no reset.
        if self.progress and self.table is not None:
            self.progress(len(self.table.rows), len(self.table.rows))

    _values = staticmethod(attrgetter(*register.COLUMNS))

    # Writing: nothing on a dry run, and nothing more once a row was refused or a batch
    # failed, since the whole import is rolled back then.

    def before_save_instance(self, instance, row, **kwargs):
        if instance.pk is not None:
            instance.updated_at = timezone.now()

    def get_bulk_update_fields(self):
        return [*super().get_bulk_update_fields(), "updated_at"]

    def _writes(self, dry_run, result):
        failed = result is not None and result.base_errors
        return not dry_run and not self.refused and not failed

    def bulk_create(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        """New plans in one statement per batch: PostgreSQL's COPY where the database is
        PostgreSQL (several times faster than INSERT for a large register), else Django's
        bulk_create."""
        self._write(self._insert, self.create_instances, dry_run, raise_errors, result)

    def bulk_update(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        """Changed plans as one INSERT … ON CONFLICT (system_id) DO UPDATE per batch: Django's
        bulk_update writes a CASE per field per row and is many times slower."""
        self._write(self._upsert, self.update_instances, dry_run, raise_errors, result)

    def _write(self, write, plans, dry_run, raise_errors, result):
        try:
            if plans and self._writes(dry_run, result):
                # A savepoint of its own, so a refused batch leaves the transaction usable
                # for recording the failure (the whole import is then rolled back).
                with transaction.atomic(using=self.get_db_connection_name()):
                    write(plans)
        except Exception as error:
            self.handle_import_error(result, error, raise_errors)
        finally:
            plans.clear()

    def _insert(self, plans):
        connection = connections[self.get_db_connection_name()]
        if connection.vendor != "postgresql":
            Plan.objects.using(connection.alias).bulk_create(plans, batch_size=len(plans))
            return
        now = timezone.now()
        columns = [Plan._meta.get_field(name).column for name in _INSERTED]
        quote = connection.ops.quote_name
        sql = "COPY {} ({}) FROM STDIN".format(
            quote(Plan._meta.db_table), ", ".join(quote(column) for column in columns)
        )
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for plan in plans:
                copy.write_row((*self._values(plan), now, now))

    def _upsert(self, plans):
        columns = self.get_bulk_update_fields()
        Plan.objects.using(self.get_db_connection_name()).bulk_create(
            [
                Plan(**{column: getattr(plan, column) for column in ["system_id", *columns]})
                for plan in plans
            ],
            batch_size=len(plans),
            update_conflicts=True,
            unique_fields=["system_id"],
            update_fields=columns,
        )
