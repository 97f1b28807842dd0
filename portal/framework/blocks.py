"""StreamField blocks for the framework, standards, exemplars and rubric pages."""

import re

from wagtail import blocks
from wagtail.blocks.stream_block import StreamBlockValidationError

from .plan_sections import SECTION_CHOICES
from .rubric import DEFAULT_THRESHOLDS, RubricError, validate_rubric

RICH_TEXT_FEATURES = ["h3", "h4", "bold", "italic", "ol", "ul", "link", "document-link"]


class HeadingBlock(blocks.CharBlock):
    class Meta:
        icon = "title"
        template = "framework/blocks/heading.html"
        form_classname = "title"
        description = "A sub-heading within the page"
        preview_value = "What happens next"


class CalloutBlock(blocks.StructBlock):
    title = blocks.CharBlock()
    text = blocks.RichTextBlock(features=RICH_TEXT_FEATURES)

    class Meta:
        icon = "warning"
        template = "framework/blocks/callout.html"
        description = "A highlighted box for something readers must not miss"
        preview_value = {
            "title": "Plans are never uploaded here",
            "text": "<p>Auditors read plans in the case-management system.</p>",
        }


class ContentBlock(blocks.StreamBlock):
    heading = HeadingBlock()
    paragraph = blocks.RichTextBlock(
        features=RICH_TEXT_FEATURES,
        icon="pilcrow",
        template="framework/blocks/paragraph.html",
        description="Rich text: paragraphs, lists and links",
        preview_value="<p>Every plan is read against the same quality standards.</p>",
    )
    callout = CalloutBlock()


class TierBlock(blocks.StructBlock):
    name = blocks.CharBlock(help_text="For example “Multi-agency qualitative audits”.")
    purpose = blocks.TextBlock(help_text="One or two sentences: why this tier exists.")
    what_happens = blocks.RichTextBlock(features=RICH_TEXT_FEATURES)
    who = blocks.CharBlock(help_text="Who carries it out.")
    frequency = blocks.CharBlock(help_text="How often, for example “Monthly”.")

    class Meta:
        icon = "list-ol"
        template = "framework/blocks/tier.html"
        description = "One tier of the quality assurance framework"
        preview_value = {
            "name": "Compliance",
            "purpose": "Checks that every plan meets the legal requirements.",
            "what_happens": "<p>Every new plan is checked before it is issued.</p>",
            "who": "SEND service team managers",
            "frequency": "Every plan",
        }


class PrincipleBlock(blocks.StructBlock):
    title = blocks.CharBlock()
    text = blocks.TextBlock()

    class Meta:
        icon = "pick"
        template = "framework/blocks/principle.html"
        description = "A principle the partnership works to"
        preview_value = {
            "title": "Co-produced",
            "text": "Parents and young people helped write the standards.",
        }


class RoleBlock(blocks.StructBlock):
    role = blocks.CharBlock()
    agency = blocks.CharBlock(help_text="Education, health, social care, SEND service, …")
    responsibilities = blocks.TextBlock()

    class Meta:
        icon = "group"
        template = "framework/blocks/role.html"
        description = "Who does what in quality assurance"
        preview_value = {
            "role": "Auditor",
            "agency": "Education, health or social care",
            "responsibilities": "Audits the plans assigned to them against the rubric.",
        }


class ExcerptBlock(blocks.StructBlock):
    quality = blocks.ChoiceBlock(
        choices=[("good", "What good looks like"), ("weak", "Needs improvement")],
        default="good",
    )
    excerpt = blocks.TextBlock(
        help_text="Anonymised wording from a plan: no names, dates of birth, schools or places."
    )
    annotation = blocks.RichTextBlock(
        features=RICH_TEXT_FEATURES, help_text="Why this is good or weak, against the standards."
    )

    class Meta:
        icon = "openquote"
        template = "framework/blocks/excerpt.html"
        description = "An anonymised excerpt from a plan, annotated"
        preview_value = {
            "quality": "good",
            "excerpt": "By the end of Year 8, Sam will read aloud a short text to a familiar "
            "adult with 90% accuracy.",
            "annotation": "<p>Specific, measurable and time-bound.</p>",
        }


class CriterionBlock(blocks.StructBlock):
    key = blocks.CharBlock(
        required=False,
        max_length=20,
        help_text="Stable key used in audits. Leave blank for a new criterion: the next free "
        "key is given on save. Never reuse a key for a different question.",
    )
    text = blocks.TextBlock(help_text="An objective question the auditor can tick yes to.")
    weight = blocks.IntegerBlock(min_value=1, default=1)
    essential = blocks.BooleanBlock(
        required=False,
        help_text="If not met, the section is at best Requires Improvement.",
    )
    guidance = blocks.TextBlock(required=False, help_text="What the auditor looks for.")

    class Meta:
        icon = "tick"
        form_classname = "rubric-criterion"
        description = "A criterion the auditor ticks when the plan meets it"


class RubricSectionBlock(blocks.StructBlock):
    key = blocks.ChoiceBlock(choices=SECTION_CHOICES)
    title = blocks.CharBlock()
    weight = blocks.IntegerBlock(min_value=1, default=1)
    limiting = blocks.BooleanBlock(
        required=False,
        help_text="If this section is Inadequate, the whole plan is at best Requires Improvement.",
    )
    may_be_not_applicable = blocks.BooleanBlock(
        required=False, help_text="Auditors may mark this section not applicable."
    )
    guidance = blocks.RichTextBlock(features=RICH_TEXT_FEATURES, required=False)
    exemplars = blocks.ListBlock(
        blocks.PageChooserBlock(page_type="framework.ExemplarPage"),
        default=[],
        min_num=0,
        label="Linked exemplars",
    )
    criteria = blocks.ListBlock(CriterionBlock(), min_num=1)

    class Meta:
        icon = "doc-full"
        template = "framework/blocks/rubric_section.html"
        description = "One plan section (A–K) of the rubric with its criteria"
        preview_value = {
            "key": "E",
            "title": "Outcomes",
            "weight": 3,
            "limiting": True,
            "may_be_not_applicable": False,
            "criteria": [
                {
                    "key": "E1",
                    "text": "Outcomes are specific, measurable, achievable, relevant and "
                    "time-bound.",
                    "weight": 3,
                    "essential": True,
                    "guidance": "",
                }
            ],
        }


class RubricSectionsBlock(blocks.StreamBlock):
    section = RubricSectionBlock()

    def clean(self, value):
        # Rules across sections (a section listed twice, a criterion key used in two
        # sections) are the interchange format's rules: check them with the same code.
        value = super().clean(value)
        sections = [section_value_to_dict(child.value) for child in value]
        # New criteria are left without a key here; the rubric page gives them one
        # (RubricPage.clean), knowing every key earlier revisions used.
        for number, criterion in enumerate(
            criterion for section in sections for criterion in section["criteria"]
        ):
            criterion["key"] = criterion["key"].strip() or f"new-{number}"
        try:
            validate_rubric({"thresholds": DEFAULT_THRESHOLDS, "sections": sections})
        except RubricError as error:
            raise StreamBlockValidationError(non_block_errors=error.messages) from error
        return value


# The rich text editor tags each paragraph with a block key of its own; it means nothing to
# another area importing the rubric, and would make every export differ.
EDITOR_BLOCK_KEY = re.compile(r'\sdata-block-key="[^"]*"')


EMPTY_RICH_TEXT = re.compile(r"^(\s*<p>\s*</p>)*\s*$")


def _clean_rich_text(value):
    html = EDITOR_BLOCK_KEY.sub("", value.source) if value else ""
    return "" if EMPTY_RICH_TEXT.match(html) else html


def section_value_to_dict(value):
    """A rubric section block's value in the interchange format."""
    return {
        "key": value["key"],
        "title": value["title"],
        "weight": value["weight"],
        "limiting": bool(value["limiting"]),
        "may_be_not_applicable": bool(value["may_be_not_applicable"]),
        "guidance": _clean_rich_text(value["guidance"]),
        "exemplars": [page.slug for page in value["exemplars"] if page],
        "criteria": [
            {
                "key": criterion["key"],
                "text": criterion["text"],
                "weight": criterion["weight"],
                "essential": bool(criterion["essential"]),
                "guidance": criterion["guidance"],
            }
            for criterion in value["criteria"]
        ],
    }
