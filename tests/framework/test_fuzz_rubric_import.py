"""Fuzzing the rubric import with hypothesis: any JSON, a valid rubric with parts changed to
the wrong type, missing, huge, zero, negative or out of order, and bytes that are not even
UTF-8 or JSON. The import either makes one draft revision or refuses with the rubric rules'
own sentences and saves nothing, in the service, the admin screen and the command."""

import json
import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import transaction
from django.forms import Field, FileField
from django.urls import reverse
from django.utils.html import escape
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from wagtail.models import Revision

from portal.framework import rubric as rules
from portal.framework.management.commands.import_rubric import NOT_IMPORTED
from portal.framework.models import RubricPage
from portal.framework.rubric import RubricError, rubric_from_bytes
from portal.framework.services import IMPORTED_AS_DRAFT, rubric_import

from ..conftest import SMALL_RUBRIC

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Every sentence a rubric may be refused with (rubric.py), including the page's own check
# of keys that earlier revisions used.
MESSAGES = [
    rules.NOT_AN_OBJECT,
    rules.NO_SECTIONS,
    rules.THRESHOLD_MISSING,
    rules.THRESHOLD_NOT_A_NUMBER,
    rules.THRESHOLD_TOO_PRECISE,
    rules.THRESHOLDS_OUT_OF_ORDER,
    rules.UNKNOWN_SECTION,
    rules.DUPLICATE_SECTION,
    rules.SECTION_TITLE_MISSING,
    rules.SECTION_NO_CRITERIA,
    rules.BAD_WEIGHT,
    rules.BAD_FLAG,
    rules.EXEMPLARS_NOT_A_LIST,
    rules.CRITERION_KEY_MISSING,
    rules.CRITERION_KEY_FORMAT,
    rules.DUPLICATE_CRITERION,
    rules.CRITERION_TEXT_MISSING,
    rules.FILE_TOO_LARGE,
    rules.NOT_UTF8,
    rules.NOT_JSON,
    rules.NUMBER_TOO_LONG,
    rules.NESTED_TOO_DEEPLY,
    rules.UNSTORABLE_TEXT,
    rules.RETIRED_KEY_REUSED,
]


def template_pattern(template):
    parts = re.split(r"\{[^{}]*\}|%\([a-z_]+\)[sd]", template)
    return re.compile(".*?".join(re.escape(part) for part in parts), re.DOTALL)


PATTERNS = [template_pattern(message) for message in MESSAGES]
# Django's own sentences for an upload that is no file at all (empty, or not sent).
UPLOAD_PATTERNS = [
    *PATTERNS,
    *(template_pattern(str(message)) for message in FileField.default_error_messages.values()),
    template_pattern(str(Field.default_error_messages["required"])),
]


def assert_readable(messages, patterns=PATTERNS):
    assert messages
    for message in messages:
        assert isinstance(message, str) and message.strip()
        assert any(pattern.fullmatch(message) for pattern in patterns), message


def revisions_of(page):
    return list(
        Revision.page_revisions.filter(object_id=str(page.pk)).order_by("pk").values_list("pk")
    )


# Strategies

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
ODD_VALUES = st.one_of(
    JSON,
    st.sampled_from(
        [
            0,
            -1,
            1.5,
            "2",
            True,
            None,
            "",
            [],
            {},
            10**30,
            10**400,
            -(10**30),
            1e308,
            "NaN",
            "Infinity",
            "-0",
            "1e-9",
            "0.00001",
            "1.5",
            "0",
            "0.9999",
            "\x00",
            "A\x00",
            "\ud800",
            "x" * 10_000,
            "Z",
            "H1",
            "a" * 21,
            "J1",
            "A1",
        ]
    ),
)


def paths(value, prefix=()):
    """Every place in a JSON value a mutation can change: dict keys and list positions."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths(child, (*prefix, index))


@st.composite
def mutated_rubrics(draw):
    """The small valid rubric with one to four parts replaced, removed, swapped or added."""
    data = json.loads(json.dumps(SMALL_RUBRIC))
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(list(paths(data))))
        if not path:
            continue
        *parents, last = path
        parent = data
        for step in parents:
            parent = parent[step]
        change = draw(st.sampled_from(["replace", "replace", "delete", "duplicate", "add"]))
        if change == "replace":
            parent[last] = draw(ODD_VALUES)
        elif change == "delete":
            del parent[last]
        elif change == "duplicate" and isinstance(parent, list):
            parent.append(json.loads(json.dumps(parent[last])))
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(ODD_VALUES)
    if draw(st.booleans()):
        # Thresholds drawn anyhow: out of order, equal, above one, with too many places.
        data["thresholds"] = {
            grade: draw(
                st.one_of(
                    st.decimals(-2, 2, places=draw(st.integers(0, 6))).map(str),
                    ODD_VALUES,
                )
            )
            for grade in ("outstanding", "good", "requires_improvement")
        }
    return data


def as_bytes(data):
    """JSON text as a file, with lone surrogates written as escapes, as another tool might."""
    return json.dumps(data, ensure_ascii=True).encode()


@st.composite
def rubric_files(draw):
    """Bytes of a rubric file: a mutated rubric, any JSON, or text that is not JSON at all."""
    kind = draw(st.sampled_from(["rubric", "rubric", "json", "mangled", "bytes", "special"]))
    if kind == "rubric":
        return as_bytes(draw(mutated_rubrics()))
    if kind == "json":
        return as_bytes(draw(JSON))
    if kind == "mangled":
        content = bytearray(as_bytes(draw(mutated_rubrics())))
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(content) - 1))
            change = draw(st.sampled_from(["flip", "cut", "insert"]))
            if change == "flip":
                content[at] = draw(st.integers(0, 255))
            elif change == "cut":
                del content[at:]
                if not content:
                    break
            else:
                content[at:at] = draw(
                    st.sampled_from([b"\xef\xbb\xbf", b"\xe9", b"\x00", b"{", b'"', b",", b"]"])
                )
        return bytes(content)
    if kind == "bytes":
        return draw(st.binary(max_size=500))
    return draw(
        st.sampled_from(
            [
                b"",
                b"\xef\xbb\xbf" + as_bytes(SMALL_RUBRIC),
                as_bytes(SMALL_RUBRIC).decode().replace("é", "e").encode("utf-16"),
                json.dumps(SMALL_RUBRIC, ensure_ascii=False).replace("'", "’").encode("cp1252"),
                b"1" * 5000,  # a number longer than Python reads by default
                b'{"thresholds": ' + b"9" * 4400 + b', "sections": []}',
                b"[" * 50_000 + b"]" * 50_000,  # nested deeper than the parser recurses
                b'{"a":' * 5000 + b"1" + b"}" * 5000,
                # Nested as deep as the parser allows, where a section key is read as text.
                as_bytes(SMALL_RUBRIC).replace(b'"key": "A"', b'"key": ' + b"[" * 900 + b"]" * 900),
                # The same field twice: the last one wins, as in every JSON reader.
                as_bytes(SMALL_RUBRIC).replace(b'"weight": 2,', b'"weight": 0, "weight": 2,'),
                as_bytes(SMALL_RUBRIC).replace(b'"weight": 2,', b'"weight": 2, "weight": 0,'),
                b'{"thresholds": NaN, "sections": Infinity}',
                b"x" * (rules.MAX_RUBRIC_BYTES + 1),
            ]
        )
    )


# The service


def check_service(page, data):
    """Import `data` into the page inside a transaction rolled back afterwards."""
    with transaction.atomic():
        before = revisions_of(page)
        live = RubricPage.objects.get(pk=page.pk).live_revision_id
        try:
            revision, _ = rubric_import(page, data)
        except RubricError as error:
            event("refused by the rubric rules")
            assert_readable(error.messages)
            assert revisions_of(page) == before
        except ValidationError as error:
            event("refused by the page")
            # The page's own checks (keys of removed criteria), in the same words.
            assert_readable(error.messages)
            assert revisions_of(page) == before
        else:
            event("imported as a draft")
            assert revisions_of(page) == [*before, (revision.pk,)]
        # Importing never publishes: the public rubric is the one it was.
        assert RubricPage.objects.get(pk=page.pk).live_revision_id == live
        transaction.set_rollback(True)


@FUZZ
@given(data=st.one_of(mutated_rubrics(), JSON))
def test_any_rubric_data_makes_one_draft_or_is_refused_in_words(rubric_page, data):
    check_service(rubric_page, data)


@FUZZ
@given(content=rubric_files())
def test_any_rubric_file_is_read_or_refused_in_words(rubric_page, content):
    try:
        data = rubric_from_bytes(content)
    except RubricError as error:
        assert_readable(error.messages)
        return
    check_service(rubric_page, data)


# The admin screen and the command


@settings(FUZZ, max_examples=40)
@given(content=rubric_files(), new_page=st.booleans())
def test_the_import_screen_never_fails_and_saves_nothing_it_refuses(
    client, qa_lead, rubric_page, content, new_page
):
    client.force_login(qa_lead)
    upload = SimpleUploadedFile("rubric.json", content, "application/json")
    with transaction.atomic():
        before = revisions_of(rubric_page)
        pages = RubricPage.objects.count()
        if new_page:
            url = reverse("rubric_import_new")
            response = client.post(url, {"title": "Shared rubric", "file": upload})
        else:
            url = reverse("rubric_import", args=[rubric_page.pk])
            response = client.post(url, {"file": upload})

        event(f"answered {response.status_code}")
        if response.status_code == 302:
            assert RubricPage.objects.count() == pages + new_page
            assert len(revisions_of(rubric_page)) == len(before) + (not new_page)
            page = client.get(response.url)
            assert escape(IMPORTED_AS_DRAFT) in page.content.decode()
        else:
            assert response.status_code == 200
            form = response.context["form"]
            messages = [message for errors in form.errors.values() for message in errors]
            assert_readable(messages, UPLOAD_PATTERNS)
            body = response.content.decode()
            for message in messages:
                assert escape(message) in body
            assert revisions_of(rubric_page) == before
            assert RubricPage.objects.count() == pages
        transaction.set_rollback(True)


@settings(FUZZ, max_examples=25)
@given(content=rubric_files())
def test_the_import_command_refuses_in_words_or_makes_a_draft(rubric_page, content, tmp_path):
    path = Path(tmp_path) / "rubric.json"
    path.write_bytes(content)
    with transaction.atomic():
        before = revisions_of(rubric_page)
        try:
            call_command("import_rubric", str(path), "--page", str(rubric_page.pk), stdout=None)
        except CommandError as error:
            first, *problems = str(error).split("\n")
            assert first == NOT_IMPORTED.format(path=path)
            assert_readable(problems)
            assert revisions_of(rubric_page) == before
        else:
            assert len(revisions_of(rubric_page)) == len(before) + 1
        transaction.set_rollback(True)


# Regressions found by the fuzzing above


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"1" * 5000, rules.NUMBER_TOO_LONG),
        (b'{"sections": [' + b"9" * 4400 + b"]}", rules.NUMBER_TOO_LONG),
        (b"[" * 50_000 + b"]" * 50_000, rules.NESTED_TOO_DEEPLY),
    ],
)
def test_json_python_cannot_read_is_refused_in_words(
    client, qa_lead, rubric_page, content, message
):
    # These escaped as ValueError and RecursionError: an error page on the import screen.
    with pytest.raises(RubricError) as caught:
        rubric_from_bytes(content)
    assert caught.value.messages == [message]

    client.force_login(qa_lead)
    upload = SimpleUploadedFile("rubric.json", content, "application/json")
    response = client.post(reverse("rubric_import", args=[rubric_page.pk]), {"file": upload})
    assert response.status_code == 200
    assert escape(message) in response.content.decode()


@pytest.mark.parametrize(
    ("where", "text", "shown"),
    [
        ("title", "Views\x00", "Views␀"),
        ("criterion", "The child's views\x00 are recorded.", "The child's views␀ are recorded."),
        ("exemplar", "own-words\x00", "own-words␀"),
        ("title", "Views \ud800", "Views �"),
    ],
)
def test_text_a_database_cannot_store_is_refused_in_words(rubric_page, where, text, shown):
    # PostgreSQL cannot store a NUL or half a surrogate pair in JSON or text: the import
    # failed with a DataError (an error page) after the rubric had passed its checks.
    data = json.loads(json.dumps(SMALL_RUBRIC))
    if where == "title":
        data["sections"][0]["title"] = text
    elif where == "criterion":
        data["sections"][0]["criteria"][0]["text"] = text
    else:
        data["sections"][0]["exemplars"] = [text]
    before = revisions_of(rubric_page)

    with pytest.raises(RubricError) as caught:
        rubric_import(rubric_page, data)

    assert caught.value.messages == [rules.UNSTORABLE_TEXT.format(text=shown)]
    assert revisions_of(rubric_page) == before
