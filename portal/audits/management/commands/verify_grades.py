"""Re-grade every submitted audit from its pinned rubric revision and its ticks, and report
any audit whose recorded grades differ. Exits non-zero if one does."""

from django.core.management.base import BaseCommand, CommandError

from portal.audits.models import Audit
from portal.audits.recording import audit_regrade

MISMATCH = "Audit {pk} ({subject}): recorded {recorded}, re-graded {regraded}."
UNGRADABLE = "Audit {pk} ({subject}) cannot be re-graded: {problem}"
ALL_MATCH = "All {count} submitted audits re-grade to their recorded grades."
SOME_DIFFER = "{count} of {total} submitted audits do not re-grade to their recorded grades."


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options):
        audits = (
            Audit.objects.filter(status=Audit.Status.SUBMITTED)
            .select_related("assignment__plan", "assignment__calibration_case")
            .order_by("rubric_revision_id", "pk")
            .iterator(chunk_size=2000)
        )
        total = 0
        problems = []
        for audit in audits:
            total += 1
            subject = audit.assignment.subject
            try:
                regraded = audit_regrade(audit)
            except ValueError as error:
                problems.append(UNGRADABLE.format(pk=audit.pk, subject=subject, problem=error))
                continue
            if regraded != audit.result or regraded["overall"]["grade"] != audit.overall_grade:
                problems.append(
                    MISMATCH.format(
                        pk=audit.pk,
                        subject=subject,
                        recorded=audit.overall_grade,
                        regraded=regraded["overall"]["grade"],
                    )
                )
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(SOME_DIFFER.format(count=len(problems), total=total))
        self.stdout.write(self.style.SUCCESS(ALL_MATCH.format(count=total)))
