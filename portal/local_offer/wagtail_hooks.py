"""Admin hooks for the Local Offer app: the governance reports section is made private to
the QA leads and the Partnership Board as soon as it is created."""

from wagtail import hooks

from .governance import governance_index_restrict
from .models import GovernanceReportIndexPage


@hooks.register("after_create_page")
def restrict_governance_section(request, page):
    if isinstance(page, GovernanceReportIndexPage):
        governance_index_restrict(page)
