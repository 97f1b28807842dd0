"""Public pages on the Local Offer: the section root under which quality reports are published."""

from wagtail.admin.panels import FieldPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page
from wagtail.search import index

from portal.framework.blocks import ContentBlock


class LocalOfferIndexPage(Page):
    """The Local Offer section: what families can read about plan quality in the area."""

    introduction = RichTextField(features=["bold", "italic", "link", "ol", "ul"], blank=True)
    body = StreamField(ContentBlock(), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("introduction"), FieldPanel("body")]
    search_fields = [*Page.search_fields, index.SearchField("introduction")]
    parent_page_types = ["framework.HomePage"]
    # Quality summary and governance report pages join here when reporting is built.
    subpage_types = []
    max_count = 1

    class Meta:
        verbose_name = "Local Offer section"
