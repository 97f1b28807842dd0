"""Where each kind of page may go, so QA leads cannot build a tree the site cannot show."""

from wagtail.models import Page
from wagtail.test.utils import WagtailPageTestCase

from portal.framework.models import (
    AccessibilityStatementPage,
    ExemplarIndexPage,
    ExemplarPage,
    FrameworkPage,
    HomePage,
    RubricPage,
    StandardIndexPage,
    StandardPage,
)
from portal.local_offer.models import (
    GovernanceReportIndexPage,
    GovernanceReportPage,
    LocalOfferIndexPage,
    QualitySummaryPage,
)
from portal.training.models import CalibrationCasePage, TrainingIndexPage, TrainingModulePage


class PageTreeRulesTests(WagtailPageTestCase):
    def test_home_page_holds_the_framework_sections(self):
        self.assertAllowedParentPageTypes(HomePage, {Page})
        self.assertAllowedSubpageTypes(
            HomePage,
            {
                FrameworkPage,
                StandardIndexPage,
                ExemplarIndexPage,
                RubricPage,
                TrainingIndexPage,
                LocalOfferIndexPage,
                GovernanceReportIndexPage,
                AccessibilityStatementPage,
            },
        )

    def test_the_accessibility_statement_is_one_page_under_home(self):
        self.assertAllowedParentPageTypes(AccessibilityStatementPage, {HomePage})
        self.assertAllowedSubpageTypes(AccessibilityStatementPage, set())
        self.assertEqual(AccessibilityStatementPage.max_count, 1)

    def test_quality_summaries_live_under_the_local_offer(self):
        self.assertAllowedSubpageTypes(LocalOfferIndexPage, {QualitySummaryPage})
        self.assertAllowedParentPageTypes(QualitySummaryPage, {LocalOfferIndexPage})
        self.assertAllowedSubpageTypes(QualitySummaryPage, set())

    def test_governance_reports_live_under_their_own_section_under_home(self):
        self.assertAllowedParentPageTypes(GovernanceReportIndexPage, {HomePage})
        self.assertAllowedSubpageTypes(GovernanceReportIndexPage, {GovernanceReportPage})
        self.assertAllowedParentPageTypes(GovernanceReportPage, {GovernanceReportIndexPage})
        self.assertAllowedSubpageTypes(GovernanceReportPage, set())
        self.assertCanNotCreateAt(LocalOfferIndexPage, GovernanceReportPage)

    def test_training_modules_and_cases_live_under_the_training_index(self):
        self.assertAllowedSubpageTypes(TrainingIndexPage, {TrainingModulePage, CalibrationCasePage})
        self.assertAllowedParentPageTypes(TrainingModulePage, {TrainingIndexPage})
        self.assertAllowedParentPageTypes(CalibrationCasePage, {TrainingIndexPage})
        self.assertAllowedSubpageTypes(TrainingModulePage, set())
        self.assertAllowedSubpageTypes(CalibrationCasePage, set())

    def test_standards_live_under_their_index(self):
        self.assertAllowedSubpageTypes(StandardIndexPage, {StandardPage})
        self.assertAllowedParentPageTypes(StandardPage, {StandardIndexPage})
        self.assertAllowedSubpageTypes(StandardPage, set())

    def test_exemplars_live_under_their_index(self):
        self.assertAllowedSubpageTypes(ExemplarIndexPage, {ExemplarPage})
        self.assertAllowedParentPageTypes(ExemplarPage, {ExemplarIndexPage})
        self.assertAllowedSubpageTypes(ExemplarPage, set())

    def test_framework_rubric_and_local_offer_sit_under_home(self):
        for page_type in (FrameworkPage, RubricPage, LocalOfferIndexPage):
            self.assertAllowedParentPageTypes(page_type, {HomePage})
        self.assertCanNotCreateAt(Page, StandardPage)
        self.assertCanNotCreateAt(HomePage, ExemplarPage)
        self.assertCanNotCreateAt(RubricPage, StandardPage)


class SingletonSectionTests(WagtailPageTestCase):
    """The framework, the standards and exemplar indexes and the Local Offer root exist once:
    once there is one, the admin offers no second."""

    def test_a_second_framework_page_cannot_be_created(self):
        root = Page.get_first_root_node()
        home = root.add_child(instance=HomePage(title="Home", slug="home-tree"))
        self.assertTrue(FrameworkPage.can_create_at(home))
        home.add_child(instance=FrameworkPage(title="Framework", introduction="<p>x</p>"))
        self.assertFalse(FrameworkPage.can_create_at(home))
        # A thematic audit may need a rubric of its own: rubrics are not limited to one.
        self.assertTrue(RubricPage.can_create_at(home))

    def test_a_second_governance_section_cannot_be_created(self):
        root = Page.get_first_root_node()
        home = root.add_child(instance=HomePage(title="Home", slug="home-governance"))
        self.assertTrue(GovernanceReportIndexPage.can_create_at(home))
        home.add_child(instance=GovernanceReportIndexPage(title="Governance reports"))
        self.assertFalse(GovernanceReportIndexPage.can_create_at(home))
