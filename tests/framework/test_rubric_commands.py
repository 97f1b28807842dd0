"""export_rubric and import_rubric: sharing a rubric from the command line, always as a draft."""

import codecs
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from portal.framework.management.commands.export_rubric import (
    NO_SUCH_REVISION,
    NOT_PUBLISHED,
)
from portal.framework.management.commands.import_rubric import NOT_IMPORTED
from portal.framework.models import RubricPage
from portal.framework.rubric import (
    BAD_WEIGHT,
    DUPLICATE_CRITERION,
    NOT_UTF8,
    THRESHOLDS_OUT_OF_ORDER,
    UNKNOWN_SECTION,
)
from portal.framework.services import (
    IMPORTED_AS_DRAFT,
    UNMATCHED_EXEMPLARS,
    rubric_create,
    rubric_export,
    rubric_import,
)

from ..factories import ExemplarIndexPageFactory, ExemplarPageFactory

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def latest(page):
    page.refresh_from_db()
    return rubric_export(page.get_latest_revision_as_object())


def edited(data):
    data["thresholds"]["good"] = "0.7"
    data["sections"][0]["criteria"].append(
        {"key": "A3", "text": "Aspirations are the child's own.", "weight": 2, "essential": False}
    )
    return data


def test_export_to_a_file_then_import_into_a_new_page_gives_the_same_rubric(tmp_path, rubric_page):
    exemplars = ExemplarIndexPageFactory(parent=rubric_page.get_parent(), slug="exemplars")
    exemplar = ExemplarPageFactory(parent=exemplars, slug="own-words")
    data = rubric_export(rubric_page)
    data["sections"][0]["exemplars"] = [exemplar.slug]
    rubric_import(rubric_page, data)
    path = tmp_path / "rubric.json"

    written = run("export_rubric", str(rubric_page.pk), "--output", str(path))
    output = run("import_rubric", str(path), "--new-title", "Copied rubric")

    exported = json.loads(path.read_text(encoding="utf-8"))
    copy_page = RubricPage.objects.get(title="Copied rubric")
    again = latest(copy_page)
    assert again["sections"] == exported["sections"]
    assert again["thresholds"] == exported["thresholds"]
    assert exported["sections"][0]["exemplars"] == ["own-words"]
    assert str(path) in written
    # Never published; the report says where the draft is and how big it is.
    assert not copy_page.live
    assert f"(page {copy_page.pk}, revision {copy_page.latest_revision.pk})" in output
    assert "2 sections, 3 criteria" in output
    assert IMPORTED_AS_DRAFT in output


def test_export_writes_the_latest_draft_to_standard_output_by_default(rubric_page):
    rubric_import(rubric_page, edited(rubric_export(rubric_page)))
    exported = json.loads(run("export_rubric", "rubric"))
    assert exported["thresholds"]["good"] == "0.7"
    assert exported == latest(rubric_page)


def test_export_of_the_live_version_and_of_a_revision(rubric_page):
    published = rubric_page.live_revision
    draft, _ = rubric_import(rubric_page, edited(rubric_export(rubric_page)))

    live = json.loads(run("export_rubric", "rubric", "--live"))
    first = json.loads(run("export_rubric", str(rubric_page.pk), "--revision", str(published.pk)))
    second = json.loads(run("export_rubric", "rubric", "--revision", str(draft.pk)))

    assert live["thresholds"]["good"] == "0.65"
    assert live == first
    assert second["thresholds"]["good"] == "0.7"


def test_export_refuses_live_for_an_unpublished_rubric(home_page, rubric_data):
    page, _ = rubric_create(home_page, "Draft rubric", rubric_data)
    with pytest.raises(CommandError) as caught:
        run("export_rubric", str(page.pk), "--live")
    assert str(caught.value) == NOT_PUBLISHED.format(title="Draft rubric", id=page.pk)


def test_export_refuses_a_revision_of_another_page(rubric_page, home_page, rubric_data):
    other, _ = rubric_create(home_page, "Other rubric", rubric_data)
    with pytest.raises(CommandError) as caught:
        run("export_rubric", "rubric", "--revision", str(other.latest_revision.pk))
    assert str(caught.value) == NO_SUCH_REVISION.format(
        revision=other.latest_revision.pk, title=rubric_page.title, id=rubric_page.pk
    )


@pytest.mark.parametrize("identifier", ["9999", "no-such-rubric"])
def test_an_unknown_page_is_refused_by_both_commands(
    tmp_path, rubric_page, identifier, rubric_data
):
    path = tmp_path / "rubric.json"
    path.write_text(json.dumps(rubric_data), encoding="utf-8")
    revisions = rubric_page.revisions.count()

    for command in (
        ["export_rubric", identifier],
        ["import_rubric", str(path), "--page", identifier],
    ):
        with pytest.raises(CommandError) as caught:
            run(*command)
        message = str(caught.value)
        assert f"“{identifier}”" in message
        assert f"{rubric_page.pk} (rubric)" in message  # the pages that do exist

    assert rubric_page.revisions.count() == revisions


def test_import_into_an_existing_page_adds_a_draft_and_leaves_the_live_rubric(
    tmp_path, client, rubric_page
):
    live_revision = rubric_page.live_revision
    revisions = rubric_page.revisions.count()
    data = edited(rubric_export(rubric_page))
    data["sections"][1]["exemplars"] = ["budget-example", "another-area-only"]
    path = tmp_path / "shared.json"
    # Written by a tool that adds a byte-order mark.
    path.write_bytes(codecs.BOM_UTF8 + json.dumps(data, ensure_ascii=False).encode("utf-8"))

    output = run("import_rubric", str(path), "--page", "rubric")

    rubric_page.refresh_from_db()
    assert rubric_page.revisions.count() == revisions + 1
    assert rubric_page.live_revision == live_revision
    assert latest(rubric_page)["thresholds"]["good"] == "0.7"
    public = json.loads(client.get(rubric_page.url + "rubric.json").content)
    assert public["thresholds"]["good"] == "0.65"
    assert f"as draft revision {rubric_page.latest_revision.pk}" in output
    assert "2 sections, 4 criteria" in output
    assert UNMATCHED_EXEMPLARS.format(slugs="another-area-only, budget-example") in output


def test_an_invalid_file_lists_every_problem_and_writes_nothing(tmp_path, rubric_page):
    data = rubric_export(rubric_page)
    data["thresholds"]["good"] = "0.9"
    data["sections"][0]["weight"] = 0
    data["sections"][1]["key"] = "Q"
    data["sections"][1]["criteria"][0]["key"] = "A1"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    revisions = rubric_page.revisions.count()
    pages = RubricPage.objects.count()

    for target in (["--page", "rubric"], ["--new-title", "Broken rubric"]):
        with pytest.raises(CommandError) as caught:
            run("import_rubric", str(path), *target)
        assert str(caught.value).splitlines() == [
            NOT_IMPORTED.format(path=path),
            THRESHOLDS_OUT_OF_ORDER.format(
                outstanding="0.85", good="0.9", requires_improvement="0.4"
            ),
            BAD_WEIGHT.format(what="Section A", value=0),
            UNKNOWN_SECTION.format(key="Q"),
            DUPLICATE_CRITERION.format(key="A1"),
        ]

    assert rubric_page.revisions.count() == revisions
    assert RubricPage.objects.count() == pages


def test_a_file_that_is_not_utf8_is_refused(tmp_path, rubric_page):
    path = tmp_path / "latin1.json"
    path.write_bytes(json.dumps({"title": "Écoles"}, ensure_ascii=False).encode("latin-1"))
    with pytest.raises(CommandError) as caught:
        run("import_rubric", str(path), "--page", "rubric")
    assert str(caught.value).splitlines() == [NOT_IMPORTED.format(path=path), NOT_UTF8]


def test_a_missing_file_is_refused(tmp_path, rubric_page):
    with pytest.raises(CommandError) as caught:
        run("import_rubric", str(tmp_path / "nowhere.json"), "--page", "rubric")
    assert "nowhere.json" in str(caught.value)


def test_import_needs_exactly_one_target(tmp_path, rubric_page, rubric_data):
    path = tmp_path / "rubric.json"
    path.write_text(json.dumps(rubric_data), encoding="utf-8")
    revisions = rubric_page.revisions.count()
    with pytest.raises(CommandError):
        run("import_rubric", str(path))
    with pytest.raises(CommandError):
        run("import_rubric", str(path), "--page", "rubric", "--new-title", "Both")
    assert rubric_page.revisions.count() == revisions
    assert not RubricPage.objects.filter(title="Both").exists()
