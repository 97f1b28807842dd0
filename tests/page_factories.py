"""Factories for the public pages, and one realistic published site built from them."""

from types import SimpleNamespace

import factory
import wagtail_factories

from portal.framework import models
from portal.framework.services import rubric_import
from portal.local_offer.models import LocalOfferIndexPage

from .factories import ExemplarIndexPageFactory, ExemplarPageFactory, RubricPageFactory


def _section(key):
    return models.PlanSection.objects.get(key=key)


class FrameworkPageFactory(wagtail_factories.PageFactory):
    class Meta:
        model = models.FrameworkPage

    title = "Quality Assurance Framework"
    show_in_menus = True
    introduction = "<p>How the partnership checks that plans are good enough for children.</p>"
    tiers = factory.LazyFunction(
        lambda: [
            (
                "tier",
                {
                    "name": "Compliance checks",
                    "purpose": "Checks every new plan meets the legal requirements.",
                    "what_happens": "<p>A team manager checks each draft before it is issued.</p>",
                    "who": "SEND team managers",
                    "frequency": "Every new plan",
                },
            ),
            (
                "tier",
                {
                    "name": "Multi-agency qualitative audits",
                    "purpose": "Judges how well plans describe and meet children's needs.",
                    "what_happens": "<p>Auditors from education, health and social care read a "
                    "sample of plans against the rubric.</p>",
                    "who": "Accredited auditors",
                    "frequency": "Monthly",
                },
            ),
        ]
    )
    principles = factory.LazyFunction(
        lambda: [
            (
                "principle",
                {
                    "title": "Co-produced",
                    "text": "Parents and young people helped write the standards.",
                },
            )
        ]
    )
    roles = factory.LazyFunction(
        lambda: [
            (
                "role",
                {
                    "role": "Auditor",
                    "agency": "Education, health or social care",
                    "responsibilities": "Audits the plans assigned to them against the rubric.",
                },
            ),
            (
                "role",
                {
                    "role": "Moderator",
                    "agency": "SEND service",
                    "responsibilities": "Reviews weak and sampled audits and agrees grades.",
                },
            ),
        ]
    )
    body = factory.LazyFunction(
        lambda: [
            ("heading", "What happens next"),
            ("paragraph", "<p>Findings go to the SEND Partnership Board each term.</p>"),
        ]
    )


class StandardIndexPageFactory(wagtail_factories.PageFactory):
    class Meta:
        model = models.StandardIndexPage

    title = "Quality standards"
    show_in_menus = True
    introduction = "<p>What every Education, Health and Care plan in the area should do.</p>"


class StandardPageFactory(wagtail_factories.PageFactory):
    class Meta:
        model = models.StandardPage
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Standard {n}")
    number = factory.Sequence(lambda n: n + 1)
    summary = "Outcomes are specific, measurable and matter to the child."
    body = factory.LazyFunction(
        lambda: [
            (
                "callout",
                {
                    "title": "Why this matters",
                    "text": "<p>Good outcomes let everyone see whether support is working.</p>",
                },
            )
        ]
    )

    @factory.post_generation
    def sections(self, create, extracted, **kwargs):
        if create and extracted:
            self.sections.set(_section(key) for key in extracted)
            self.save()


class LocalOfferIndexPageFactory(wagtail_factories.PageFactory):
    class Meta:
        model = LocalOfferIndexPage

    title = "Plan quality in our area"
    show_in_menus = True
    introduction = "<p>What we found when we checked the quality of plans.</p>"
    body = factory.LazyFunction(
        lambda: [("paragraph", "<p>The first quality summary is published in spring.</p>")]
    )


def _rubric_data(exemplar_slugs):
    return {
        "thresholds": {"outstanding": "0.85", "good": "0.65", "requires_improvement": "0.40"},
        "sections": [
            {
                "key": "A",
                "title": "Views, interests and aspirations",
                "weight": 2,
                "limiting": True,
                "may_be_not_applicable": False,
                "guidance": "<p>Look for the child's own voice.</p>",
                "exemplars": exemplar_slugs,
                "criteria": [
                    {
                        "key": "A1",
                        "text": "The child's views are in their own words.",
                        "weight": 3,
                        "essential": True,
                        "guidance": "Quotes, drawings, recordings.",
                    },
                    {
                        "key": "A2",
                        "text": "Parents' views are recorded.",
                        "weight": 1,
                        "essential": False,
                        "guidance": "",
                    },
                ],
            },
            {
                "key": "E",
                "title": "Outcomes",
                "weight": 3,
                "limiting": True,
                "may_be_not_applicable": False,
                "guidance": "",
                "exemplars": [],
                "criteria": [
                    {
                        "key": "E1",
                        "text": "Outcomes are specific, measurable and time-bound.",
                        "weight": 3,
                        "essential": True,
                        "guidance": "Each outcome says by when and how progress is measured.",
                    },
                ],
            },
            {
                "key": "J",
                "title": "Personal budget",
                "weight": 1,
                "limiting": False,
                "may_be_not_applicable": True,
                "guidance": "",
                "exemplars": [],
                "criteria": [
                    {
                        "key": "J1",
                        "text": "The budget's use is set out.",
                        "weight": 1,
                        "essential": False,
                        "guidance": "",
                    }
                ],
            },
        ],
    }


def public_site(home):
    """One published page of every public type under `home`, with realistic content: the
    framework, two standards, exemplars for sections A and E, the rubric and the Local Offer."""
    home.introduction = (
        "<p>How education, health and social care check that Education, Health and Care "
        "plans are good, and what we do when they are not.</p>"
    )
    home.body = [("paragraph", "<p>No child's plan or personal details are shown here.</p>")]
    home.save_revision().publish()
    framework = FrameworkPageFactory(parent=home, slug="framework")
    standards = StandardIndexPageFactory(parent=home, slug="standards")
    outcomes = StandardPageFactory(
        parent=standards,
        slug="outcomes",
        title="Outcomes are SMART",
        number=2,
        sections=["E"],
    )
    voice = StandardPageFactory(
        parent=standards,
        slug="child-voice",
        title="The child's voice is heard",
        number=1,
        summary="The plan is written with the child, in their own words.",
        sections=["A"],
    )
    exemplars = ExemplarIndexPageFactory(parent=home, slug="exemplars", show_in_menus=True)
    views = ExemplarPageFactory(
        parent=exemplars, slug="views-in-own-words", title="Views in the child's own words"
    )
    outcomes_exemplar = ExemplarPageFactory(
        parent=exemplars,
        slug="smart-outcomes",
        title="SMART outcomes",
        section=_section("E"),
        summary="A good outcome says what will change, by when, and how we will know.",
        excerpts=[
            (
                "excerpt",
                {
                    "quality": "weak",
                    "excerpt": "Sam will make progress with reading.",
                    "annotation": "<p>Not measurable and has no date.</p>",
                },
            ),
            (
                "excerpt",
                {
                    "quality": "good",
                    "excerpt": "By the end of Year 8, Sam will read a short text aloud to a "
                    "familiar adult with 90% accuracy.",
                    "annotation": "<p>Specific, measurable and time-bound.</p>",
                },
            ),
        ],
    )
    rubric = RubricPageFactory(
        parent=home,
        slug="rubric",
        show_in_menus=True,
        introduction="<p>What auditors check in every section of a plan.</p>",
    )
    revision, _ = rubric_import(rubric, _rubric_data([views.slug]))
    revision.publish()
    rubric.refresh_from_db()
    local_offer = LocalOfferIndexPageFactory(parent=home, slug="local-offer")
    return SimpleNamespace(
        home=home,
        framework=framework,
        standards=standards,
        outcomes=outcomes,
        voice=voice,
        exemplars=exemplars,
        views=views,
        outcomes_exemplar=outcomes_exemplar,
        rubric=rubric,
        local_offer=local_offer,
    )
