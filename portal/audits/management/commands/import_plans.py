"""Import a plan register file (CSV or XLSX, shared/data/README.md) from the command line: every
row is checked first, and the file is written whole or not at all."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portal.audits.plan_register import plans_import

CANNOT_READ = "Could not read {path}: {problem}."
NO_SUCH_USER = "There is no user “{username}” to record as the importer."
COUNTS = (
    "{path}: {rows:,} plan{s} — {new:,} new, {updated:,} updated, {unchanged:,} unchanged, "
    "{invalid:,} invalid."
)
IMPORTED = "Imported {path} into the plan register in {seconds:.2f}s ({rate:,.0f} rows a second)."
DRY_RUN = "Dry run: nothing was written."
NOT_IMPORTED = "{path} was not imported; nothing was changed ({count:,} problem{s} above)."


class Command(BaseCommand):
    help = (
        "Import a plan register file (CSV or XLSX) into the register: new plans are added, "
        "changed ones updated. A file with any refused row writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The register file (.csv or .xlsx).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check the file and report; write nothing."
        )
        parser.add_argument(
            "--user", metavar="USERNAME", help="Record this user as the importer in the audit log."
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(NO_SUCH_USER.format(username=options["user"]))
        try:
            content = path.read_bytes()
        except OSError as error:
            raise CommandError(
                CANNOT_READ.format(path=path, problem=error.strerror or error)
            ) from error

        outcome = plans_import(
            content, path.name, user=user, dry_run=options["dry_run"], source="command line"
        )
        problems = [*outcome.file_errors, *(error["message"] for error in outcome.errors)]
        if not outcome.file_errors:
            self.stdout.write(
                COUNTS.format(
                    path=path,
                    rows=outcome.rows,
                    s="" if outcome.rows == 1 else "s",
                    new=outcome.new,
                    updated=outcome.updated,
                    unchanged=outcome.unchanged,
                    invalid=outcome.invalid,
                )
            )
        for notice in outcome.notices:
            self.stdout.write(self.style.WARNING(notice))
        for problem in problems:
            self.stdout.write(self.style.ERROR(problem))
        if problems:
            raise CommandError(
                NOT_IMPORTED.format(
                    path=path, count=len(problems), s="" if len(problems) == 1 else "s"
                )
            )
        if options["dry_run"]:
            self.stdout.write(DRY_RUN)
        else:
            rate = outcome.rows / outcome.seconds if outcome.seconds else 0
            self.stdout.write(
                self.style.SUCCESS(IMPORTED.format(path=path, seconds=outcome.seconds, rate=rate))
            )
