"""Apply the data retention policy (docs/data-protection.md): anonymise plans, and their audits,
moderation and actions, with no activity for PORTAL_RETENTION_YEARS, in one transaction.
Prints the counts; --dry-run shows them and changes nothing. Safe to run again."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from portal.audits.retention import (
    COUNTED,
    YEARS_SETTING,
    retention_apply,
)

NOT_A_DATE = "“{value}” is not a date written as YYYY-MM-DD, such as 2019-04-01."
HEADING = (
    "{action} records last active before {before} "
    "(retention period {years} years, {setting}{forced}):"
)
DRY_RUN = "Dry run: nothing was changed."
NOTHING = "Nothing was past the retention period; nothing was changed."
DONE = "Done, and recorded in the audit log."


def iso_date(value):
    """--before's value as a date, or a refusal in words when it is not one."""
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(NOT_A_DATE.format(value=value)) from None


class Command(BaseCommand):
    help = (
        "Anonymise plans with no activity for PORTAL_RETENTION_YEARS, with their audits' "
        "notes, moderation rationales and actions' text; grades and report figures stay."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count what would be anonymised, and change nothing.",
        )
        parser.add_argument(
            "--before",
            metavar="YYYY-MM-DD",
            help="Anonymise what was last active before this date instead of the start of "
            "the retention period. A later date is refused without --force.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Allow a --before date inside the retention period (cannot be undone).",
        )

    def handle(self, *args, **options):
        before = iso_date(options["before"]) if options["before"] else None
        try:
            result = retention_apply(
                before=before, dry_run=options["dry_run"], force=options["force"]
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            HEADING.format(
                action="Would anonymise" if result.dry_run else "Anonymised",
                before=result.before.isoformat(),
                years=result.years,
                setting=YEARS_SETTING,
                forced=", forced" if result.forced else "",
            )
        )
        width = max(len(f"{count:,}") for count in result.counts.values())
        for name, what in COUNTED.items():
            self.stdout.write(f"  {result.counts[name]:>{width},} {what}")
        if result.dry_run:
            self.stdout.write(DRY_RUN)
        elif not result.changed:
            self.stdout.write(NOTHING)
        else:
            self.stdout.write(self.style.SUCCESS(DONE))
