"""POST data for Wagtail's page edit form, built the way the admin's JavaScript builds it."""

from wagtail.test.utils.form_data import inline_formset, nested_form_data, rich_text, streamfield


def _list_block(items):
    data = {
        str(index): {"value": value, "deleted": "", "order": str(index), "id": ""}
        for index, value in enumerate(items)
    }
    data["count"] = str(len(items))
    return data


def _section(section, exemplar_ids):
    return {
        "key": section["key"],
        "title": section["title"],
        "weight": str(section["weight"]),
        **({"limiting": "on"} if section["limiting"] else {}),
        **({"may_be_not_applicable": "on"} if section["may_be_not_applicable"] else {}),
        "guidance": rich_text(section["guidance"]),
        "exemplars": _list_block([exemplar_ids[slug] for slug in section["exemplars"]]),
        "criteria": _list_block(
            [
                {
                    "key": criterion["key"],
                    "text": criterion["text"],
                    "weight": str(criterion["weight"]),
                    **({"essential": "on"} if criterion["essential"] else {}),
                    "guidance": criterion["guidance"],
                }
                for criterion in section["criteria"]
            ]
        ),
    }


def rubric_edit_form_data(page, data, action=None, exemplar_ids=None, **extra):
    """Edit-form POST data for a rubric page holding `data` (interchange format).
    `action` is the button pressed: "action-submit", "action-publish" or None (save draft)."""
    form = {
        "title": page.title,
        "slug": page.slug,
        "introduction": rich_text(page.introduction),
        "threshold_outstanding": str(data["thresholds"]["outstanding"]),
        "threshold_good": str(data["thresholds"]["good"]),
        "threshold_requires_improvement": str(data["thresholds"]["requires_improvement"]),
        "sections": streamfield(
            [("section", _section(section, exemplar_ids or {})) for section in data["sections"]]
        ),
        "comments": inline_formset([]),
        "seo_title": "",
        "search_description": "",
        "go_live_at": "",
        "expire_at": "",
    }
    form.update(extra)
    post = nested_form_data(form)
    if action:
        post[action] = action
    return post
