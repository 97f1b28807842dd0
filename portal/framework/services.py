"""Writes and conversions of framework content: rubric export and import."""

import uuid

from django.db import transaction

from .blocks import section_value_to_dict
from .models import ExemplarPage, RubricPage
from .rubric import THRESHOLD_GRADES, validate_rubric

FORMAT_VERSION = 1
IMPORTED_AS_DRAFT = (
    "Imported as a draft revision. Check it, then submit it for approval by another QA lead."
)
UNMATCHED_EXEMPLARS = "These linked exemplars were not found here and were left out: {slugs}."


def rubric_export(rubric):
    """The rubric (a RubricPage, live or from a revision) in the interchange format."""
    return {
        "format": "ehcp-qa-rubric",
        "version": FORMAT_VERSION,
        "title": rubric.title,
        "thresholds": {
            grade: str(getattr(rubric, f"threshold_{grade}").normalize())
            for grade in THRESHOLD_GRADES
        },
        "sections": [section_value_to_dict(child.value) for child in rubric.sections],
    }


def _list_item(value):
    return {"type": "item", "value": value, "id": str(uuid.uuid4())}


def _section_raw(section, exemplar_ids):
    return {
        "type": "section",
        "id": str(uuid.uuid4()),
        "value": {
            "key": section["key"],
            "title": section["title"],
            "weight": section["weight"],
            "limiting": section["limiting"],
            "may_be_not_applicable": section["may_be_not_applicable"],
            "guidance": section["guidance"],
            "exemplars": [
                _list_item(exemplar_ids[slug])
                for slug in section["exemplars"]
                if slug in exemplar_ids
            ],
            "criteria": [_list_item(criterion) for criterion in section["criteria"]],
        },
    }


def _apply(rubric, data):
    """Set the rubric page's thresholds and sections from validated interchange data; return
    the exemplar slugs that match no exemplar page here."""
    slugs = {slug for section in data["sections"] for slug in section["exemplars"]}
    exemplar_ids = dict(ExemplarPage.objects.filter(slug__in=slugs).values_list("slug", "pk"))
    for grade in THRESHOLD_GRADES:
        setattr(rubric, f"threshold_{grade}", data["thresholds"][grade])
    rubric.sections = [_section_raw(section, exemplar_ids) for section in data["sections"]]
    return sorted(slugs - exemplar_ids.keys())


@transaction.atomic
def rubric_import(rubric, data, user=None):
    """Save the imported rubric as a new draft revision of an existing rubric page, ready to
    be submitted for approval. Returns (revision, exemplar slugs not found here).
    Raises RubricError (a ValueError) listing every problem; nothing is saved then."""
    data = validate_rubric(data)
    # A fresh copy: with no unpublished changes Wagtail hands back the page object itself,
    # and the caller's (live) page must not be left holding the imported draft.
    rubric = RubricPage.objects.get(pk=rubric.pk).get_latest_revision_as_object()
    unmatched = _apply(rubric, data)
    rubric.full_clean()
    revision = rubric.save_revision(user=user, log_action=True)
    return revision, unmatched


@transaction.atomic
def rubric_create(parent, title, data, user=None):
    """Create a new draft rubric page under `parent` from interchange data.
    Returns (page, exemplar slugs not found here)."""
    data = validate_rubric(data)
    rubric = RubricPage(title=title, live=False)
    unmatched = _apply(rubric, data)
    parent.add_child(instance=rubric)
    rubric.save_revision(user=user, log_action=True)
    return rubric, unmatched
