"""Factories for test data: users in each role and framework pages."""

import datetime

import factory
import wagtail_factories
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from portal.framework import models
from portal.framework.roles import AUDITOR
from portal.training.models import Accreditation
from portal.training.services import staff_agency_set

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.gov.uk")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(*(Group.objects.get(name=name) for name in extracted))
        if create:
            self.save()

    @factory.post_generation
    def agency(self, create, extracted, **kwargs):
        if create and extracted:
            staff_agency_set(self, extracted)

    @factory.post_generation
    def accredited(self, create, extracted, **kwargs):
        """Auditors come accredited for a year (as if carried over from earlier records)
        unless accredited=False, so tests of assigning plans need not train them first."""
        if create and extracted is not False and self.groups.filter(name=AUDITOR).exists():
            Accreditation.objects.create(
                auditor=self, expires_on=timezone.localdate() + datetime.timedelta(days=365)
            )


class HomePageFactory(wagtail_factories.PageFactory):
    class Meta:
        model = models.HomePage

    title = "EHCP quality assurance"


class RubricPageFactory(wagtail_factories.PageFactory):
    class Meta:
        model = models.RubricPage

    title = "Audit rubric"


class ExemplarIndexPageFactory(wagtail_factories.PageFactory):
    class Meta:
        model = models.ExemplarIndexPage

    title = "What good looks like"


class ExemplarPageFactory(wagtail_factories.PageFactory):
    class Meta:
        model = models.ExemplarPage

    title = factory.Sequence(lambda n: f"Exemplar {n}")
    section = factory.LazyFunction(lambda: models.PlanSection.objects.get(key="A"))
    summary = "A good section A gives the child's own words."
    excerpts = factory.LazyFunction(
        lambda: [
            (
                "excerpt",
                {
                    "quality": "good",
                    "excerpt": "I like drawing trains and I want to work at the station.",
                    "annotation": "<p>The child's own words, not a summary.</p>",
                },
            )
        ]
    )
