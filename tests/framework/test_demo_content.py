"""The demo content command: a complete framework, users for every role, safe to rerun, and
never on production settings."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from wagtail.models import Site

from portal.audits.models import Assignment, Audit
from portal.framework.management.commands.load_demo_content import REFUSED
from portal.framework.models import (
    ExemplarPage,
    FrameworkPage,
    HomePage,
    PlanSection,
    RubricPage,
    StandardPage,
)
from portal.framework.roles import ROLES
from portal.framework.services import rubric_export

pytestmark = pytest.mark.django_db


def test_demo_content_loads_a_complete_framework(client):
    call_command("load_demo_content")

    home = HomePage.objects.get()
    assert Site.objects.get(is_default_site=True).root_page_id == home.pk
    framework = FrameworkPage.objects.live().get()
    assert len(framework.tiers) == 4
    assert StandardPage.objects.live().count() == 5
    for standard in StandardPage.objects.all():
        assert standard.sections.exists(), standard.title
        # Created and published once: one revision, holding the sections too.
        assert standard.revisions.count() == 1
        assert standard.live_revision.as_object().sections.exists()

    # An exemplar for every plan section, and every rubric section linked to one.
    exemplar_sections = set(ExemplarPage.objects.live().values_list("section__key", flat=True))
    assert exemplar_sections == set(PlanSection.objects.values_list("key", flat=True))
    rubric = rubric_export(RubricPage.objects.live().get())
    assert [s["key"] for s in rubric["sections"]] == list(
        PlanSection.objects.values_list("key", flat=True)
    )
    for section in rubric["sections"]:
        assert len(section["criteria"]) >= 4, section["key"]
        assert section["exemplars"], section["key"]
        assert any(criterion["essential"] for criterion in section["criteria"]), section["key"]
    assert any(section["limiting"] for section in rubric["sections"])
    assert any(section["may_be_not_applicable"] for section in rubric["sections"])

    # Every page a parent can reach from the home page answers.
    for page in home.get_descendants(inclusive=True).live().specific():
        assert client.get(page.url).status_code == 200, page.url


def test_demo_users_exist_for_every_role():
    call_command("load_demo_content")
    User = get_user_model()
    for role in ROLES:
        assert User.objects.filter(groups__name=role).exists(), role
    assert User.objects.filter(is_superuser=True).exists()


def test_demo_audits_cover_every_grade_and_re_derive():
    call_command("load_demo_content")
    grades = set(
        Audit.objects.filter(status=Audit.Status.SUBMITTED).values_list("overall_grade", flat=True)
    )
    assert grades == {"outstanding", "good", "requires_improvement", "inadequate"}
    assert Audit.objects.filter(status=Audit.Status.DRAFT).exists()
    # The demo auditor has plans still to start, and never one they declared a conflict on.
    auditor = get_user_model().objects.get(username="auditor")
    assert Assignment.objects.filter(auditor=auditor, audit__isnull=True).exists()
    assert not Assignment.objects.filter(auditor=auditor, plan__conflicts__auditor=auditor).exists()
    call_command("verify_grades")


def test_running_it_twice_changes_nothing():
    call_command("load_demo_content")
    counts = (
        HomePage.objects.count(),
        StandardPage.objects.count(),
        get_user_model().objects.count(),
        Audit.objects.count(),
    )
    revisions = RubricPage.objects.get().revisions.count()
    call_command("load_demo_content")
    assert counts == (
        HomePage.objects.count(),
        StandardPage.objects.count(),
        get_user_model().objects.count(),
        Audit.objects.count(),
    )
    assert RubricPage.objects.get().revisions.count() == revisions


def test_refused_where_demo_content_is_not_allowed(settings):
    settings.PORTAL_DEMO_CONTENT_ALLOWED = False
    with pytest.raises(CommandError) as refused:
        call_command("load_demo_content")
    assert str(refused.value) == REFUSED
    assert not get_user_model().objects.exists()
    assert not HomePage.objects.exists()
