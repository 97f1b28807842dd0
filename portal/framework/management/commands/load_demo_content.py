"""Load the demo framework (home, framework, standards, exemplars, rubric, Local Offer), demo
users for every role, and demo audits (a plan register, a cycle, assignments, audits across
every grade). Idempotent: what already exists is left as it is; the seed is fixed."""

import datetime
import json
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from wagtail.models import Page, Site

from portal.audits.demo import load_demo_audits, load_demo_moderation
from portal.framework.models import (
    AccessibilityStatementPage,
    ExemplarIndexPage,
    ExemplarPage,
    FrameworkPage,
    HomePage,
    PlanSection,
    RubricPage,
    StandardIndexPage,
    StandardPage,
)
from portal.framework.roles import (
    ACTION_OWNER,
    AUDITOR,
    MODERATOR,
    PARTNERSHIP_BOARD,
    QA_LEAD,
)
from portal.framework.services import rubric_import
from portal.local_offer.demo import load_demo_governance, load_demo_summaries
from portal.local_offer.models import LocalOfferIndexPage
from portal.training.demo import (
    expire_demo_lapsed,
    load_demo_training,
    load_demo_training_pages,
)

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - demo settings only; refused in production
DEMO_USERS = [
    # username, full name, roles, superuser
    ("admin", "Portal Administrator", [], True),
    ("qalead", "Quinn Adebayo", [QA_LEAD], False),
    ("qalead2", "Morgan Ellis", [QA_LEAD], False),
    ("auditor", "Priya Shah", [AUDITOR], False),
    ("auditor2", "Sam Okafor", [AUDITOR], False),
    ("auditor3", "Jo Brennan", [AUDITOR], False),
    ("newauditor", "Alex Rahman", [AUDITOR], False),
    ("trainee", "Chris Lowe", [AUDITOR], False),
    ("lapsed", "Dana Whitfield", [AUDITOR], False),
    ("moderator", "Tom Fletcher", [MODERATOR], False),
    ("actionowner", "Grace Obi", [ACTION_OWNER], False),
    ("actionowner2", "Ravi Patel", [ACTION_OWNER], False),
    ("board", "Helen Carter", [PARTNERSHIP_BOARD], False),
]
REFUSED = (
    "Demo content is not allowed with these settings (PORTAL_DEMO_CONTENT_ALLOWED is off, as "
    "in production). Demo users with known passwords must never exist on a live portal."
)


def _load(name):
    return json.loads((DEMO_DIR / f"{name}.json").read_text(encoding="utf-8"))


def _stream(blocks):
    return [(block["type"], block["value"]) for block in blocks]


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-users", action="store_true", help="Load pages only, without demo users."
        )

    def handle(self, *args, no_users=False, **options):
        if not settings.PORTAL_DEMO_CONTENT_ALLOWED:
            raise CommandError(REFUSED)
        self.created = []
        with transaction.atomic():
            home = self.home_page()
            self.framework(home)
            self.standards(home)
            exemplar_index = self.exemplars(home)
            self.rubric(home, exemplar_index)
            self.local_offer(home)
            self.accessibility_statement(home)
            self.created += load_demo_training_pages(home)
            users = [] if no_users else self.users()
            training = None if no_users else self.training()
            audits = None if no_users else self.audits()
            if training:
                expire_demo_lapsed(get_user_model().objects.get(username="qalead"))
            moderation = None if no_users else self.moderation()
            reports = None if no_users else self.reports()
            governance = None if no_users else self.governance(home)
        self.report(users)
        for line in (training, audits, moderation, reports, governance):
            if line:
                self.stdout.write(line)

    def child(self, parent, model, slug, **fields):
        """The live child page with this slug, created and published if missing."""
        existing = parent.get_children().filter(slug=slug).specific().first()
        if existing is not None:
            return existing, False
        page = model(slug=slug, **fields)
        parent.add_child(instance=page)
        page.save_revision().publish()
        self.created.append(page.title)
        return page, True

    def home_page(self):
        data = _load("home")
        home = HomePage.objects.first()
        if home is not None:
            return home
        root = Page.get_first_root_node()
        # Wagtail's placeholder "Welcome" page holds the slug "home" and the default site.
        placeholder = (
            root.get_children()
            .filter(slug="home", content_type__model="page", content_type__app_label="wagtailcore")
            .first()
        )
        if placeholder is not None:
            placeholder.slug = "wagtail-welcome-placeholder"
            placeholder.save()
        home, _ = self.child(
            root,
            HomePage,
            "home",
            title=data["title"],
            introduction=data["introduction"],
            body=_stream(data["body"]),
        )
        site = Site.objects.filter(is_default_site=True).first() or Site(is_default_site=True)
        site.hostname = site.hostname or "localhost"
        site.root_page = home
        site.site_name = settings.WAGTAIL_SITE_NAME
        site.save()
        if placeholder is not None:
            placeholder.delete()
        return home

    def framework(self, home):
        data = _load("framework")
        self.child(
            home,
            FrameworkPage,
            data["slug"],
            title=data["title"],
            show_in_menus=True,
            introduction=data["introduction"],
            tiers=[("tier", tier) for tier in data["tiers"]],
            principles=[("principle", principle) for principle in data["principles"]],
            roles=[("role", role) for role in data["roles"]],
            body=_stream(data["body"]),
        )

    def standards(self, home):
        data = _load("standards")
        index, _ = self.child(
            home,
            StandardIndexPage,
            data["index"]["slug"],
            title=data["index"]["title"],
            show_in_menus=True,
            introduction=data["index"]["introduction"],
        )
        sections = {section.key: section for section in PlanSection.objects.all()}
        for standard in data["standards"]:
            self.child(
                index,
                StandardPage,
                standard["slug"],
                title=standard["title"],
                number=standard["number"],
                summary=standard["summary"],
                body=_stream(standard["body"]),
                sections=[sections[key] for key in standard["sections"]],
            )

    def exemplars(self, home):
        data = _load("exemplars")
        index, _ = self.child(
            home,
            ExemplarIndexPage,
            data["index"]["slug"],
            title=data["index"]["title"],
            show_in_menus=True,
            introduction=data["index"]["introduction"],
        )
        sections = {section.key: section for section in PlanSection.objects.all()}
        for exemplar in data["exemplars"]:
            self.child(
                index,
                ExemplarPage,
                exemplar["slug"],
                title=exemplar["title"],
                section=sections[exemplar["section"]],
                summary=exemplar["summary"],
                excerpts=[("excerpt", excerpt) for excerpt in exemplar["excerpts"]],
                body=_stream(exemplar["body"]),
            )
        return index

    def rubric(self, home, exemplar_index):
        data = _load("rubric")
        page, created = self.child(
            home,
            RubricPage,
            "rubric",
            title=data["title"],
            show_in_menus=True,
            introduction=data["introduction"],
        )
        if created:
            revision, unmatched = rubric_import(page, data)
            if unmatched:
                raise CommandError(f"Demo rubric links missing exemplars: {unmatched}")
            revision.publish()

    def local_offer(self, home):
        data = _load("local_offer")
        self.child(
            home,
            LocalOfferIndexPage,
            data["slug"],
            title=data["title"],
            show_in_menus=True,
            introduction=data["introduction"],
            body=_stream(data["body"]),
        )

    def accessibility_statement(self, home):
        data = _load("accessibility")
        self.child(
            home,
            AccessibilityStatementPage,
            data["slug"],
            title=data["title"],
            introduction=data["introduction"],
            body=_stream(data["body"]),
            prepared_on=datetime.date.fromisoformat(data["prepared_on"]),
            reviewed_on=datetime.date.fromisoformat(data["reviewed_on"]),
        )

    def users(self):
        User = get_user_model()
        users = []
        for username, full_name, roles, superuser in DEMO_USERS:
            first_name, last_name = full_name.split(" ", 1)
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first_name,
                    "last_name": last_name,
                    "email": f"{username}@demo.invalid",
                    "is_superuser": superuser,
                    "is_staff": superuser,
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            user.groups.add(*Group.objects.filter(name__in=roles))
            users.append((username, roles or ["administrator"]))
        return users

    def training(self):
        """References for the calibration cases, and demo auditors in every state of
        training (needs the users and the rubric)."""
        return load_demo_training(get_user_model().objects.get(username="qalead"))

    def audits(self):
        """Plans, a cycle, assignments and audits across every grade, shared between the
        accredited auditors (needs the users and their training)."""
        User = get_user_model()
        auditors = list(
            User.objects.filter(
                groups__name=AUDITOR, accreditations__expires_on__gte=timezone.localdate()
            )
            .distinct()
            .order_by("username")
        )
        return load_demo_audits(auditors, User.objects.get(username="qalead"))

    def moderation(self):
        """Moderation cases in every state and actions in every status (needs the audits)."""
        User = get_user_model()
        return load_demo_moderation(
            User.objects.get(username="moderator"),
            {
                "health": User.objects.get(username="actionowner"),
                "education": User.objects.get(username="actionowner2"),
            },
            User.objects.get(username="qalead"),
        )

    def reports(self):
        """Quality summaries on the Local Offer (needs the audits and their moderation)."""
        return load_demo_summaries(
            LocalOfferIndexPage.objects.get(), get_user_model().objects.get(username="admin")
        )

    def governance(self, home):
        """The governance section (QA leads and the Partnership Board only) and a report."""
        return load_demo_governance(home, get_user_model().objects.get(username="admin"))

    def report(self, users):
        write = self.stdout.write
        if self.created:
            write(self.style.SUCCESS(f"Created {len(self.created)} demo pages."))
        else:
            write("Demo pages already present; nothing changed.")
        if users:
            write("")
            write(f"Demo sign-ins (password for all: {DEMO_PASSWORD})")
            for username, roles in users:
                write(f"  {username:<12} {', '.join(roles)}")
            write("")
            write("Public site:  http://127.0.0.1:8000/")
            write("Staff admin:  http://127.0.0.1:8000/admin/  (QA leads: qalead, qalead2)")
