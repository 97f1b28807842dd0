"""Write a rubric page in the JSON interchange format (DESIGN.md), to share with another area or
keep alongside a report: the latest draft by default, the published version or any revision."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from wagtail.models import Revision

from portal.framework.models import RubricPage
from portal.framework.services import rubric_export

NO_SUCH_RUBRIC = "No rubric page has the id or slug “{identifier}”. Rubric pages here: {pages}."
NO_RUBRIC_PAGES = "none yet"
SLUG_NOT_UNIQUE = (
    "More than one rubric page has the slug “{identifier}”; give the page id instead: {ids}."
)
NOT_PUBLISHED = (
    "The rubric “{title}” (page {id}) is not published; leave out --live to export its latest "
    "draft."
)
NO_SUCH_REVISION = (
    "Revision {revision} is not a revision of the rubric “{title}” (page {id}); its revisions "
    "are listed under History in the page editor."
)
CANNOT_WRITE = "Could not write {path}: {problem}."
WRITTEN = "Wrote the {which} of “{title}” (page {id}) to {path}."


def rubric_page_from_argument(identifier):
    """The rubric page named on the command line by its id or, failing that, its slug."""
    identifier = identifier.strip()
    if identifier.isdecimal():
        page = RubricPage.objects.filter(pk=int(identifier)).first()
        if page is not None:
            return page
    pages = list(RubricPage.objects.filter(slug=identifier))
    if len(pages) > 1:
        raise CommandError(
            SLUG_NOT_UNIQUE.format(identifier=identifier, ids=", ".join(str(p.pk) for p in pages))
        )
    if not pages:
        known = ", ".join(
            f"{pk} ({slug})" for pk, slug in RubricPage.objects.values_list("pk", "slug")
        )
        raise CommandError(
            NO_SUCH_RUBRIC.format(identifier=identifier, pages=known or NO_RUBRIC_PAGES)
        )
    return pages[0]


class Command(BaseCommand):
    help = (
        "Write a rubric page as JSON in the interchange format: its latest draft, or with "
        "--live the published version, or with --revision a given revision."
    )

    def add_arguments(self, parser):
        parser.add_argument("page", help="The rubric page's id or slug.")
        parser.add_argument(
            "--output", "-o", metavar="FILE", help="Write to FILE instead of standard output."
        )
        which = parser.add_mutually_exclusive_group()
        which.add_argument(
            "--live", action="store_true", help="Export the published version of the rubric."
        )
        which.add_argument(
            "--revision", type=int, metavar="ID", help="Export this revision of the rubric."
        )

    def handle(self, *args, **options):
        page = rubric_page_from_argument(options["page"])
        if options["live"]:
            if not page.live:
                raise CommandError(NOT_PUBLISHED.format(title=page.title, id=page.pk))
            rubric, which = page, "published version"
        elif options["revision"] is not None:
            revision = Revision.page_revisions.filter(
                object_id=str(page.pk), pk=options["revision"]
            ).first()
            if revision is None:
                raise CommandError(
                    NO_SUCH_REVISION.format(
                        revision=options["revision"], title=page.title, id=page.pk
                    )
                )
            rubric, which = revision.as_object(), f"revision {revision.pk}"
        else:
            rubric, which = page.get_latest_revision_as_object(), "latest draft"

        text = json.dumps(rubric_export(rubric), indent=2, ensure_ascii=False) + "\n"
        if not options["output"]:
            self.stdout.write(text, ending="")
            return
        path = Path(options["output"])
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as error:
            raise CommandError(
                CANNOT_WRITE.format(path=path, problem=error.strerror or error)
            ) from error
        self.stdout.write(WRITTEN.format(which=which, title=page.title, id=page.pk, path=path))
