"""Generate a large synthetic data set for benchmarks and report trials: SIZE audits (graded
by the real rule under the live rubric revision) with their plans, cycles, auditors,
moderation cases, actions and report facts. A fixed seed gives the same data every time.

Needs a published rubric: run load_demo_content first. Refused where demo content is not
allowed (production settings) unless --i-know-this-is-not-production is given, and refused
while synthetic data is present unless --replace is given."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.audits.synthetic import (
    DEFAULT_SEED,
    SYNTHETIC_DATA_PRESENT,
    SyntheticData,
    synthetic_data_exists,
)

REFUSED = (
    "Synthetic data is not allowed with these settings (PORTAL_DEMO_CONTENT_ALLOWED is off, "
    "as in production): it would sit beside real audits in every report. If this database "
    "really is a throwaway one, run again with --i-know-this-is-not-production."
)


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--size", type=int, required=True, help="How many audits.")
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help=f"Random seed (default {DEFAULT_SEED})."
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Delete the synthetic data already in the database first.",
        )
        parser.add_argument(
            "--i-know-this-is-not-production",
            action="store_true",
            dest="not_production",
            help="Run even though these settings do not allow demo content.",
        )

    def handle(self, *args, size, seed, replace, not_production, **options):
        if not settings.PORTAL_DEMO_CONTENT_ALLOWED and not not_production:
            raise CommandError(REFUSED)
        try:
            generator = SyntheticData(size, seed, log=self.stdout.write)
        except ValueError as error:
            raise CommandError(str(error)) from error
        if synthetic_data_exists() and not replace:
            raise CommandError(SYNTHETIC_DATA_PRESENT)
        self.stdout.write(f"Generating {size:,} synthetic audits (seed {seed}):")
        started = time.perf_counter()
        try:
            counts = generator.generate(replace=replace)
        except ValueError as error:
            raise CommandError(str(error)) from error
        deleted = counts.pop("deleted", None)
        if deleted is not None:
            self.stdout.write(f"Deleted the earlier synthetic data ({deleted:,} audits).")
        made = ", ".join(f"{count:,} {what}" for what, count in counts.items())
        self.stdout.write(
            self.style.SUCCESS(f"Made {made} in {time.perf_counter() - started:.1f} s.")
        )
