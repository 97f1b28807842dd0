"""Import a rubric file (JSON interchange format) as a draft: a new revision of an existing rubric
page, or a new rubric page under the home page. Never publishes: the draft goes through
approval by another QA lead like any other change."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from portal.framework.models import HomePage
from portal.framework.rubric import RubricError, rubric_from_bytes
from portal.framework.services import (
    IMPORTED_AS_DRAFT,
    UNMATCHED_EXEMPLARS,
    rubric_create,
    rubric_import,
)

from .export_rubric import rubric_page_from_argument

CANNOT_READ = "Could not read {path}: {problem}."
NOT_IMPORTED = "{path} was not imported; nothing was changed. Problems found:"
TITLE_MISSING = "Give the new rubric page a title with --new-title."
NO_HOME_PAGE = "There is no home page to put a new rubric page under; set up the site first."
REVISION_ADDED = "Imported {path} into “{title}” (page {id}) as draft revision {revision}: {size}."
PAGE_CREATED = (
    "Created the draft rubric page “{title}” (page {id}, revision {revision}) from {path}: {size}."
)


def _size(data):
    sections = len(data["sections"])
    criteria = sum(len(section["criteria"]) for section in data["sections"])
    return (
        f"{sections} section{'' if sections == 1 else 's'}, "
        f"{criteria} criteri{'on' if criteria == 1 else 'a'}"
    )


class Command(BaseCommand):
    help = (
        "Import a rubric file (UTF-8 JSON) as a new draft revision of a rubric page (--page) "
        "or as a new draft rubric page (--new-title). Nothing is published."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The rubric file, as exported by export_rubric.")
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument(
            "--page", metavar="ID_OR_SLUG", help="The rubric page to add a draft revision to."
        )
        target.add_argument(
            "--new-title", metavar="TITLE", help="Create a new draft rubric page with this title."
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            content = path.read_bytes()
        except OSError as error:
            raise CommandError(
                CANNOT_READ.format(path=path, problem=error.strerror or error)
            ) from error
        try:
            data = rubric_from_bytes(content)
        except RubricError as error:
            raise CommandError(
                "\n".join([NOT_IMPORTED.format(path=path), *error.messages])
            ) from error

        try:
            if options["page"] is not None:
                page = rubric_page_from_argument(options["page"])
                revision, unmatched = rubric_import(page, data)
                report = REVISION_ADDED
            else:
                page, unmatched = rubric_create(self._home_page(), self._title(options), data)
                revision, report = page.latest_revision, PAGE_CREATED
        except ValidationError as error:
            raise CommandError(
                "\n".join([NOT_IMPORTED.format(path=path), *error.messages])
            ) from error

        self.stdout.write(
            report.format(
                path=path,
                title=page.title,
                id=page.pk,
                revision=revision.pk,
                size=_size(data),
            )
        )
        self.stdout.write(IMPORTED_AS_DRAFT)
        if unmatched:
            self.stdout.write(
                self.style.WARNING(UNMATCHED_EXEMPLARS.format(slugs=", ".join(unmatched)))
            )

    def _home_page(self):
        home = HomePage.objects.first()
        if home is None:
            raise CommandError(NO_HOME_PAGE)
        return home

    def _title(self, options):
        title = options["new_title"].strip()
        if not title:
            raise CommandError(TITLE_MISSING)
        return title
