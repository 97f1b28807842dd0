"""Sharing a rubric as JSON: export, import as a draft (never straight to the public site),
the editor's own checks, the admin screens and the public JSON download."""

import copy
import json
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape
from wagtail.models import Revision

from portal.framework.models import RubricPage
from portal.framework.rubric import (
    BAD_WEIGHT,
    DUPLICATE_CRITERION,
    DUPLICATE_SECTION,
    NOT_JSON,
    RETIRED_KEY_REUSED,
    SECTION_NO_CRITERIA,
    THRESHOLD_TOO_PRECISE,
    THRESHOLDS_OUT_OF_ORDER,
    UNKNOWN_SECTION,
    RubricError,
)
from portal.framework.services import (
    IMPORTED_AS_DRAFT,
    UNMATCHED_EXEMPLARS,
    rubric_create,
    rubric_export,
    rubric_import,
)

from ..admin_forms import rubric_edit_form_data
from ..factories import ExemplarIndexPageFactory, ExemplarPageFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", is_superuser=True, is_staff=True)


@pytest.fixture
def exemplar(home_page):
    index = ExemplarIndexPageFactory(parent=home_page, slug="exemplars")
    return ExemplarPageFactory(parent=index, slug="views-in-their-own-words")


def public_json(client, page):
    response = client.get(page.url + "rubric.json")
    assert response.status_code == 200
    return json.loads(response.content)


def latest(page):
    """The page's latest revision in the interchange format, as an editor would export it."""
    page.refresh_from_db()
    return rubric_export(page.get_latest_revision_as_object())


def changed(data):
    """Another area's version of the rubric: J weighted 3, and a new criterion in A."""
    data = copy.deepcopy(data)
    data["thresholds"]["good"] = "0.7"
    data["sections"][1]["weight"] = 3
    data["sections"][0]["criteria"].append(
        {"key": "A3", "text": "Aspirations are the child's own.", "weight": 2, "essential": False}
    )
    return data


def upload(data, name="rubric.json"):
    content = data if isinstance(data, bytes) else json.dumps(data).encode()
    return SimpleUploadedFile(name, content, content_type="application/json")


def broken(data):
    """A rubric with three separate mistakes."""
    data = copy.deepcopy(data)
    data["sections"][0]["weight"] = 0
    data["sections"][1]["key"] = "Z"
    data["sections"][1]["criteria"] = []
    return data


BROKEN_MESSAGES = [
    BAD_WEIGHT.format(what="Section A", value=0),
    UNKNOWN_SECTION.format(key="Z"),
    SECTION_NO_CRITERIA.format(key="Z"),
]


# --- export and import through the services ---------------------------------------------


def test_export_import_into_a_new_page_and_export_again_gives_the_same_rubric(
    rubric_page, home_page, exemplar
):
    with_exemplar = rubric_export(rubric_page)
    with_exemplar["sections"][0]["exemplars"] = [exemplar.slug]
    revision, _ = rubric_import(rubric_page, with_exemplar)
    revision.publish()
    rubric_page.refresh_from_db()

    exported = rubric_export(rubric_page)
    # Through real JSON text, as a file sent to another area would be.
    copy_page, unmatched = rubric_create(
        home_page, "Shared rubric", json.loads(json.dumps(exported))
    )
    again = latest(copy_page)

    assert unmatched == []
    assert again["sections"] == exported["sections"]
    assert again["thresholds"] == exported["thresholds"]
    assert again["sections"][0]["exemplars"] == [exemplar.slug]
    assert again["title"] == "Shared rubric"
    assert exported["thresholds"] == {
        "outstanding": "0.85",
        "good": "0.65",
        "requires_improvement": "0.4",
    }


def test_export_carries_what_another_area_needs(rubric_page, rubric_data):
    exported = rubric_export(rubric_page)
    assert exported["format"] == "ehcp-qa-rubric"
    assert exported["title"] == rubric_page.title
    assert [s["key"] for s in exported["sections"]] == ["A", "J"]
    section_a = exported["sections"][0]
    assert section_a["limiting"] is True
    assert section_a["guidance"] == rubric_data["sections"][0]["guidance"]
    assert section_a["criteria"] == rubric_data["sections"][0]["criteria"]


def test_a_new_page_from_a_file_is_a_draft(home_page, rubric_data):
    page, _ = rubric_create(home_page, "Thematic audit rubric", rubric_data)
    page.refresh_from_db()
    assert not page.live
    assert page.live_revision is None
    assert page.get_parent().specific == home_page
    assert page.revisions.count() == 1
    assert latest(page)["sections"][1]["criteria"][0]["key"] == "J1"


def test_import_makes_a_draft_and_the_public_rubric_waits_for_publishing(client, rubric_page):
    before = rubric_export(rubric_page)
    live_revision = rubric_page.live_revision
    revisions = rubric_page.revisions.count()

    revision, unmatched = rubric_import(rubric_page, changed(before))

    rubric_page.refresh_from_db()
    assert unmatched == []
    assert rubric_page.revisions.count() == revisions + 1
    assert rubric_page.latest_revision == revision
    assert rubric_page.has_unpublished_changes
    assert rubric_page.live_revision == live_revision
    assert rubric_export(rubric_page) == before
    assert public_json(client, rubric_page)["sections"] == before["sections"]
    assert public_json(client, rubric_page)["thresholds"]["good"] == "0.65"
    assert [c["key"] for c in latest(rubric_page)["sections"][0]["criteria"]] == [
        "A1",
        "A2",
        "A3",
    ]

    revision.publish()
    rubric_page.refresh_from_db()
    now_public = public_json(client, rubric_page)
    assert now_public["thresholds"]["good"] == "0.7"
    assert now_public["sections"][1]["weight"] == 3


def test_an_import_leaves_the_live_page_in_hand_alone(client, rubric_page):
    # Code holding the live page (a workflow, another service) may save it afterwards: that
    # must not publish the imported draft without approval.
    before = rubric_export(rubric_page)
    rubric_import(rubric_page, changed(before))
    assert rubric_export(rubric_page) == before
    rubric_page.save()
    assert public_json(client, rubric_page)["sections"] == before["sections"]


def test_an_import_builds_on_the_latest_draft_not_the_live_page(rubric_page):
    first, _ = rubric_import(rubric_page, changed(rubric_export(rubric_page)))
    second_data = changed(rubric_export(rubric_page))
    second_data["sections"][0]["title"] = "Views, interests and aspirations (revised)"
    second, _ = rubric_import(rubric_page, second_data)
    rubric_page.refresh_from_db()
    assert rubric_page.latest_revision == second
    assert first.pk != second.pk
    assert latest(rubric_page)["sections"][0]["title"].endswith("(revised)")
    assert rubric_page.title == "Audit rubric"


def test_a_bad_import_changes_nothing_and_lists_every_problem(rubric_page):
    revisions = rubric_page.revisions.count()
    latest_revision = rubric_page.latest_revision

    with pytest.raises(RubricError) as caught:
        rubric_import(rubric_page, broken(rubric_export(rubric_page)))

    assert caught.value.messages == BROKEN_MESSAGES
    rubric_page.refresh_from_db()
    assert rubric_page.revisions.count() == revisions
    assert rubric_page.latest_revision == latest_revision


def test_a_bad_file_makes_no_new_page(home_page, rubric_data):
    with pytest.raises(RubricError):
        rubric_create(home_page, "Broken", broken(rubric_data))
    assert not RubricPage.objects.filter(title="Broken").exists()


def test_a_threshold_the_page_cannot_hold_is_refused_in_words(rubric_page):
    # This used to pass the rubric checks and then fail when the page was saved, with an
    # error the import screen did not catch.
    data = rubric_export(rubric_page)
    data["thresholds"]["good"] = "0.65432"
    revisions = rubric_page.revisions.count()
    with pytest.raises(RubricError) as caught:
        rubric_import(rubric_page, data)
    assert caught.value.messages == [THRESHOLD_TOO_PRECISE.format(grade="Good", value="0.65432")]
    assert rubric_page.revisions.count() == revisions


def test_exemplars_are_linked_when_they_exist_here_and_reported_when_not(rubric_page, exemplar):
    data = rubric_export(rubric_page)
    data["sections"][0]["exemplars"] = ["not-in-this-area", exemplar.slug]
    data["sections"][1]["exemplars"] = ["budget-example"]

    _, unmatched = rubric_import(rubric_page, data)

    assert unmatched == ["budget-example", "not-in-this-area"]
    rubric_page.refresh_from_db()
    draft = rubric_page.get_latest_revision_as_object()
    section_a, section_j = (child.value for child in draft.sections)
    assert [page.pk for page in section_a["exemplars"]] == [exemplar.pk]
    assert list(section_j["exemplars"]) == []


# --- the editor's own checks (the Wagtail edit form) ---------------------------------------


def edit(client, user, page, data, **extra):
    client.force_login(user)
    return client.post(
        reverse("wagtailadmin_pages:edit", args=[page.pk]),
        rubric_edit_form_data(page, data, **extra),
    )


def assert_refused(response, page, revisions, message):
    assert response.status_code == 200
    content = response.content.decode()
    assert "could not be saved" in content
    assert escape(message) in content
    page.refresh_from_db()
    assert page.revisions.count() == revisions


def test_saving_a_criterion_with_a_blank_key_gives_it_the_next_free_key(
    client, admin_user, rubric_page
):
    data = rubric_export(rubric_page)
    # A1 is deleted; A2 stays; a new criterion is added with no key.
    data["sections"][0]["criteria"] = [
        data["sections"][0]["criteria"][1],
        {
            "key": "",
            "text": "The child's hopes for adult life.",
            "weight": 1,
            "essential": False,
            "guidance": "",
        },
    ]
    data["sections"][1]["criteria"].append(
        {
            "key": " ",
            "text": "Direct payments are explained.",
            "weight": 1,
            "essential": False,
            "guidance": "",
        }
    )

    response = edit(client, admin_user, rubric_page, data)

    assert response.status_code == 302
    saved = latest(rubric_page)
    assert [c["key"] for c in saved["sections"][0]["criteria"]] == ["A2", "A3"]
    assert saved["sections"][0]["criteria"][1]["text"] == "The child's hopes for adult life."
    assert [c["key"] for c in saved["sections"][1]["criteria"]] == ["J1", "J2"]
    # A draft: the public rubric is unchanged.
    assert [c["key"] for c in public_json(client, rubric_page)["sections"][0]["criteria"]] == [
        "A1",
        "A2",
    ]


def test_the_editor_refuses_a_criterion_key_used_in_two_sections(client, admin_user, rubric_page):
    data = rubric_export(rubric_page)
    data["sections"][1]["criteria"][0]["key"] = "A2"
    revisions = rubric_page.revisions.count()

    response = edit(client, admin_user, rubric_page, data)

    assert_refused(response, rubric_page, revisions, DUPLICATE_CRITERION.format(key="A2"))


def test_the_editor_refuses_a_plan_section_listed_twice(client, admin_user, rubric_page):
    data = rubric_export(rubric_page)
    data["sections"][1]["key"] = "A"
    revisions = rubric_page.revisions.count()

    response = edit(client, admin_user, rubric_page, data)

    assert_refused(response, rubric_page, revisions, DUPLICATE_SECTION.format(key="A"))


def test_the_editor_refuses_thresholds_out_of_order(client, admin_user, rubric_page):
    data = rubric_export(rubric_page)
    data["thresholds"] = {"outstanding": "0.6", "good": "0.65", "requires_improvement": "0.4"}
    revisions = rubric_page.revisions.count()

    response = edit(client, admin_user, rubric_page, data)

    message = THRESHOLDS_OUT_OF_ORDER.format(
        **{grade: Decimal(value) for grade, value in data["thresholds"].items()}
    )
    assert_refused(response, rubric_page, revisions, message)


def test_the_editor_saves_a_correct_rubric_unchanged(client, admin_user, rubric_page):
    before = rubric_export(rubric_page)
    response = edit(client, admin_user, rubric_page, before)
    assert response.status_code == 302
    after = latest(rubric_page)
    assert after["sections"] == before["sections"]
    assert after["thresholds"] == before["thresholds"]


# --- admin screens -----------------------------------------------------------------------


def test_admin_export_downloads_the_latest_draft(client, admin_user, rubric_page):
    rubric_import(rubric_page, changed(rubric_export(rubric_page)))
    client.force_login(admin_user)

    for method in (client.get, client.post):
        response = method(reverse("rubric_export", args=[rubric_page.pk]))
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/json")
        assert response["Content-Disposition"] == 'attachment; filename="rubric-latest.json"'
        exported = json.loads(response.content)
        assert exported == latest(rubric_page)
        assert exported["thresholds"]["good"] == "0.7"


def test_admin_export_of_an_earlier_revision(client, admin_user, rubric_page):
    published = rubric_page.live_revision
    rubric_import(rubric_page, changed(rubric_export(rubric_page)))
    client.force_login(admin_user)

    response = client.get(
        reverse("rubric_export", args=[rubric_page.pk]), {"revision": published.pk}
    )

    assert response.status_code == 200
    assert f'filename="rubric-revision-{published.pk}.json"' in response["Content-Disposition"]
    exported = json.loads(response.content)
    assert exported["thresholds"]["good"] == "0.65"
    assert [c["key"] for c in exported["sections"][0]["criteria"]] == ["A1", "A2"]


def test_admin_export_refuses_a_revision_of_another_page(
    client, admin_user, rubric_page, home_page, rubric_data
):
    other, _ = rubric_create(home_page, "Other rubric", rubric_data)
    client.force_login(admin_user)
    url = reverse("rubric_export", args=[rubric_page.pk])
    assert client.get(url, {"revision": other.latest_revision.pk}).status_code == 404
    assert client.get(url, {"revision": "latest"}).status_code == 404


def test_admin_import_of_a_good_file_makes_a_draft_and_opens_the_editor(
    client, admin_user, rubric_page
):
    revisions = rubric_page.revisions.count()
    live_revision = rubric_page.live_revision
    client.force_login(admin_user)

    data = changed(rubric_export(rubric_page))
    data["sections"][0]["exemplars"] = ["from-another-area"]
    response = client.post(reverse("rubric_import", args=[rubric_page.pk]), {"file": upload(data)})

    assert response.status_code == 302
    assert response.url == reverse("wagtailadmin_pages:edit", args=[rubric_page.pk])
    rubric_page.refresh_from_db()
    assert rubric_page.revisions.count() == revisions + 1
    assert rubric_page.live_revision == live_revision
    assert latest(rubric_page)["thresholds"]["good"] == "0.7"
    assert rubric_page.latest_revision.user == admin_user
    notices = [str(message) for message in get_messages(response.wsgi_request)]
    assert notices == [
        IMPORTED_AS_DRAFT,
        UNMATCHED_EXEMPLARS.format(slugs="from-another-area"),
    ]


def test_admin_import_reads_a_file_with_a_byte_order_mark(client, admin_user, rubric_page):
    client.force_login(admin_user)
    data = changed(rubric_export(rubric_page))
    content = "\ufeff" + json.dumps(data, ensure_ascii=False)
    response = client.post(
        reverse("rubric_import", args=[rubric_page.pk]),
        {"file": upload(content.encode("utf-8"))},
    )
    assert response.status_code == 302
    assert latest(rubric_page)["thresholds"]["good"] == "0.7"


def test_admin_import_of_a_bad_file_shows_every_problem_and_saves_nothing(
    client, admin_user, rubric_page
):
    revisions = rubric_page.revisions.count()
    client.force_login(admin_user)

    response = client.post(
        reverse("rubric_import", args=[rubric_page.pk]),
        {"file": upload(broken(rubric_export(rubric_page)))},
    )

    assert response.status_code == 200
    content = response.content.decode()
    for message in BROKEN_MESSAGES:
        assert escape(message) in content
    rubric_page.refresh_from_db()
    assert rubric_page.revisions.count() == revisions


def test_admin_import_of_a_file_that_is_not_json(client, admin_user, rubric_page):
    revisions = rubric_page.revisions.count()
    client.force_login(admin_user)
    response = client.post(
        reverse("rubric_import", args=[rubric_page.pk]), {"file": upload(b"{'sections': []}")}
    )
    assert response.status_code == 200
    message = NOT_JSON.format(
        line=1, column=2, problem="Expecting property name enclosed in double quotes"
    )
    assert escape(message) in response.content.decode()
    assert rubric_page.revisions.count() == revisions


def test_admin_import_as_a_new_rubric_page(client, admin_user, home_page, rubric_data):
    client.force_login(admin_user)
    response = client.post(
        reverse("rubric_import_new"),
        {"title": "Post-16 transition rubric", "file": upload(rubric_data)},
    )
    page = RubricPage.objects.get(title="Post-16 transition rubric")
    assert response.status_code == 302
    assert response.url == reverse("wagtailadmin_pages:edit", args=[page.pk])
    assert not page.live
    assert page.get_parent().specific == home_page
    assert latest(page)["sections"][0]["criteria"] == rubric_data["sections"][0]["criteria"]


def test_admin_import_as_a_new_page_with_a_bad_file_creates_nothing(
    client, admin_user, home_page, rubric_data
):
    client.force_login(admin_user)
    pages = RubricPage.objects.count()
    response = client.post(
        reverse("rubric_import_new"),
        {"title": "Broken rubric", "file": upload(broken(rubric_data))},
    )
    assert response.status_code == 200
    for message in BROKEN_MESSAGES:
        assert escape(message) in response.content.decode()
    assert RubricPage.objects.count() == pages


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_auditor_cannot_use_the_rubric_screens(
    client, auditor, rubric_page, method, rubric_data
):
    client.force_login(auditor)
    revisions = Revision.page_revisions.count()
    pages = RubricPage.objects.count()
    urls = [
        reverse("rubric_export", args=[rubric_page.pk]),
        reverse("rubric_import", args=[rubric_page.pk]),
        reverse("rubric_import_new"),
    ]
    for url in urls:
        data = {"title": "Sneaky", "file": upload(changed(rubric_data))}
        response = getattr(client, method)(url, data if method == "post" else None)
        assert response.status_code in (302, 403), url
        if response.status_code == 302:
            assert response.url.startswith(reverse("wagtailadmin_login")), url
        assert not response.get("Content-Disposition"), url
    assert Revision.page_revisions.count() == revisions
    assert RubricPage.objects.count() == pages


def test_an_anonymous_visitor_is_sent_to_log_in(client, rubric_page):
    response = client.get(reverse("rubric_export", args=[rubric_page.pk]))
    assert response.status_code == 302
    assert response.url.startswith(reverse("wagtailadmin_login"))


# --- the public JSON ---------------------------------------------------------------------


def test_the_public_json_is_the_live_rubric(client, rubric_page):
    response = client.get(rubric_page.url + "rubric.json")
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == "application/json"
    assert "Content-Disposition" not in response
    assert json.loads(response.content) == rubric_export(rubric_page)


def test_an_unpublished_rubric_has_no_public_json(client, home_page, rubric_data):
    page, _ = rubric_create(home_page, "Draft rubric", rubric_data)
    page.refresh_from_db()
    assert client.get(f"/{page.slug}/rubric.json").status_code == 404


# Keys stay stable across revisions: a key once used is never handed to another question.


def _without_criterion(data, key):
    for section in data["sections"]:
        section["criteria"] = [c for c in section["criteria"] if c["key"] != key]
    return data


def test_a_new_criterion_never_gets_the_key_of_a_removed_one(rubric_page):
    # A2 is removed in one revision; a criterion added later gets A3, not A2 again.
    rubric_import(rubric_page, _without_criterion(rubric_export(rubric_page), "A2"))
    draft = RubricPage.objects.get(pk=rubric_page.pk).get_latest_revision_as_object()
    draft.sections[0].value["criteria"].append(
        {"key": "", "text": "A new question.", "weight": 1, "essential": False, "guidance": ""}
    )
    draft.full_clean()
    keys = [c["key"] for c in rubric_export(draft)["sections"][0]["criteria"]]
    assert keys == ["A1", "A3"]


def test_a_removed_key_cannot_be_given_to_a_different_question(rubric_page):
    rubric_import(rubric_page, _without_criterion(rubric_export(rubric_page), "A2"))
    data = rubric_export(RubricPage.objects.get(pk=rubric_page.pk).get_latest_revision_as_object())
    data["sections"][0]["criteria"].append(
        {"key": "A2", "text": "Something else entirely.", "weight": 1, "essential": False}
    )
    revisions = rubric_page.revisions.count()
    with pytest.raises(ValidationError) as refused:
        rubric_import(rubric_page, data)
    assert refused.value.messages == [
        RETIRED_KEY_REUSED.format(key="A2", old="Parents' views are recorded.")
    ]
    assert rubric_page.revisions.count() == revisions


def test_a_removed_criterion_can_come_back_unchanged(rubric_page):
    original = rubric_export(rubric_page)
    rubric_import(rubric_page, _without_criterion(rubric_export(rubric_page), "A2"))
    revision, _ = rubric_import(rubric_page, original)
    assert rubric_export(revision.as_object())["sections"] == original["sections"]


def test_the_import_screen_explains_a_reused_key(client, rubric_page, qa_lead):
    rubric_import(rubric_page, _without_criterion(rubric_export(rubric_page), "A2"))
    data = rubric_export(RubricPage.objects.get(pk=rubric_page.pk).get_latest_revision_as_object())
    data["sections"][0]["criteria"].append(
        {"key": "A2", "text": "Something else entirely.", "weight": 1, "essential": False}
    )
    client.force_login(qa_lead)
    upload = SimpleUploadedFile("rubric.json", json.dumps(data).encode(), "application/json")
    response = client.post(reverse("rubric_import", args=[rubric_page.pk]), {"file": upload})
    assert response.status_code == 200
    assert "Criterion key A2 belonged to a criterion removed" in response.content.decode()
