"""Write the plan register in its import format (CSV or XLSX), to standard output or a file."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.audits.models import Plan
from portal.audits.plan_register import FORMATS, plans_export

CANNOT_WRITE = "Could not write {path}: {problem}."
XLSX_NEEDS_OUTPUT = "An XLSX export is a binary file; give it a name with --output."
WRITTEN = "Wrote {count:,} plan{s} to {path}."


class Command(BaseCommand):
    help = "Export the plan register as CSV (default) or XLSX, in the format import_plans reads."

    def add_arguments(self, parser):
        parser.add_argument(
            "--format", choices=FORMATS, help="csv or xlsx (default: from --output, else csv)."
        )
        parser.add_argument(
            "--output", "-o", metavar="FILE", help="Write to FILE instead of standard output."
        )

    def handle(self, *args, **options):
        output = options["output"]
        file_format = options["format"]
        if file_format is None:
            file_format = "xlsx" if output and output.lower().endswith(".xlsx") else "csv"
        if file_format == "xlsx" and not output:
            raise CommandError(XLSX_NEEDS_OUTPUT)

        queryset = Plan.objects.order_by("system_id")
        content = plans_export(queryset, file_format)
        if not output:
            self.stdout.write(content.decode("utf-8"), ending="")
            return
        path = Path(output)
        try:
            path.write_bytes(content)
        except OSError as error:
            raise CommandError(
                CANNOT_WRITE.format(path=path, problem=error.strerror or error)
            ) from error
        count = queryset.count()
        self.stdout.write(WRITTEN.format(count=count, s="" if count == 1 else "s", path=path))
