"""StreamField blocks for training modules (their content and knowledge check) and for
calibration cases (the anonymised plan, section by section)."""

from django.core.exceptions import ValidationError
from wagtail import blocks
from wagtail.blocks.struct_block import StructBlockValidationError
from wagtail.documents.blocks import DocumentChooserBlock
from wagtail.embeds.blocks import EmbedBlock

from portal.framework.blocks import RICH_TEXT_FEATURES, ContentBlock
from portal.framework.plan_sections import SECTION_CHOICES

OPTIONS_TOO_FEW = "Give at least two options to choose from."
NO_CORRECT_OPTION = "Mark at least one option as correct."
NOT_ALL_CORRECT = "At least one option must be wrong, or the question tests nothing."


class VideoBlock(blocks.StructBlock):
    video = EmbedBlock(help_text="A link to the video, for example on YouTube or Vimeo.")
    title = blocks.CharBlock(help_text="What the video is about, read out by screen readers.")
    transcript = blocks.RichTextBlock(
        features=RICH_TEXT_FEATURES,
        required=False,
        help_text="A transcript or summary, for anyone who cannot watch or hear it.",
    )

    class Meta:
        icon = "media"
        template = "training/blocks/video.html"
        description = "An embedded video with its title and transcript"


class DocumentBlock(blocks.StructBlock):
    document = DocumentChooserBlock()
    description = blocks.CharBlock(required=False, help_text="What the document is for.")

    class Meta:
        icon = "doc-full"
        template = "training/blocks/document.html"
        description = "A document to download, such as a template or a handout"


class RelatedPageBlock(blocks.StructBlock):
    page = blocks.PageChooserBlock(
        page_type=["framework.StandardPage", "framework.ExemplarPage", "framework.FrameworkPage"]
    )
    why = blocks.CharBlock(required=False, help_text="Why the learner should read it.")

    class Meta:
        icon = "link"
        template = "training/blocks/related_page.html"
        description = "A link to a quality standard, an exemplar or the framework"


class ModuleContentBlock(ContentBlock):
    video = VideoBlock()
    document = DocumentBlock()
    related_page = RelatedPageBlock()


class OptionBlock(blocks.StructBlock):
    text = blocks.CharBlock()
    correct = blocks.BooleanBlock(required=False)

    class Meta:
        icon = "tick"


class QuestionBlock(blocks.StructBlock):
    question = blocks.CharBlock()
    options = blocks.ListBlock(OptionBlock(), min_num=2)
    explanation = blocks.TextBlock(
        required=False, help_text="Shown after the check: why the right answer is right."
    )

    class Meta:
        icon = "help"
        template = "training/blocks/question.html"
        description = (
            "A question with options; the learner must choose every correct option and no other"
        )

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context)
        context["several"] = sum(bool(option["correct"]) for option in value["options"]) > 1
        return context

    def clean(self, value):
        value = super().clean(value)
        options = list(value["options"])
        correct = [option for option in options if option["correct"]]
        problem = None
        if len(options) < 2:
            problem = OPTIONS_TOO_FEW
        elif not correct:
            problem = NO_CORRECT_OPTION
        elif len(correct) == len(options):
            problem = NOT_ALL_CORRECT
        if problem:
            raise StructBlockValidationError(block_errors={"options": ValidationError(problem)})
        return value


class CaseSectionBlock(blocks.StructBlock):
    section = blocks.ChoiceBlock(choices=SECTION_CHOICES)
    text = blocks.RichTextBlock(
        features=["h3", "h4", "bold", "italic", "ol", "ul"],
        help_text="The section as the plan's writer wrote it. Invented: no real child.",
    )

    class Meta:
        icon = "doc-full"
        template = "training/blocks/case_section.html"
        description = "One section of the anonymised plan"
