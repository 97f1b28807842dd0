"""The action screens with the real action services: raising from a moderation case and from
an audit's recommendations, owners and their agency following actions to done (history,
stale and tampered posts refused with nothing changed), the re-audit loop closed with a new
assignment, and the QA leads' filtered list and its CSV/XLSX download."""

import csv
import datetime
import io

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from portal.audits import actions as services
from portal.audits.action_forms import DUE_DATE_MISSING, DUE_DATE_NOT_REAL, OWNER_MISSING
from portal.audits.action_resources import COLUMNS
from portal.audits.action_views import NOT_A_QA_LEAD, RAISED, REAUDIT_ASSIGNED
from portal.audits.models import Action, ActionUpdate, Assignment, AuditCycle, ModerationCase
from portal.audits.recording import audit_save_findings, audit_start

from ..factories import UserFactory
from ..training.factories import audit_complete
from .factories import AssignmentFactory, ConflictDeclarationFactory, PlanFactory

pytestmark = pytest.mark.django_db

RECOMMENDATIONS = "Record the parents' views in section A, in their own words."
GOOD_TICKS = {"A": ["A1", "A2"], "J": None}
WEAK_TICKS = {"A": [], "J": []}
HEADERS = list(COLUMNS.values())


def today():
    return timezone.localdate()


def in_days(days):
    return today() + datetime.timedelta(days=days)


def long_date(day):
    return f"{day.day} {day:%B %Y}"


@pytest.fixture
def cycle(rubric_page):
    return AuditCycle.objects.create(
        name="Cycle 1: new plans",
        tier=AuditCycle.Tier.NEW_PLANS,
        starts_on=datetime.date(2026, 1, 1),
        ends_on=datetime.date(2026, 3, 31),
        rubric=rubric_page,
        sample_size=3,
    )


@pytest.fixture
def other_cycle(rubric_page):
    return AuditCycle.objects.create(
        name="Cycle 2: annual reviews",
        tier=AuditCycle.Tier.ANNUAL_REVIEWS,
        starts_on=datetime.date(2026, 4, 1),
        ends_on=datetime.date(2026, 6, 30),
        rubric=rubric_page,
        sample_size=3,
    )


def submitted_audit(cycle, auditor, system_id, ticks, recommendations=RECOMMENDATIONS):
    """An audit of a new plan, recorded and submitted through the audit services."""
    assignment = AssignmentFactory(
        plan=PlanFactory(system_id=system_id), cycle=cycle, auditor=auditor
    )
    audit = audit_start(assignment, auditor)
    audit_save_findings(
        audit,
        auditor,
        audit.version,
        strengths="Clear outcomes.",
        recommendations=recommendations,
        summary="A sound plan.",
    )
    return audit_complete(assignment, auditor, ticks)


@pytest.fixture
def auditor(db):
    return UserFactory(username="auditor1", first_name="Priya", last_name="Shah", roles=["Auditor"])


@pytest.fixture
def audit(cycle, auditor):
    """A good audit: not moderated, its recommendations for a QA lead to convert."""
    return submitted_audit(cycle, auditor, "EHC-000101", GOOD_TICKS)


@pytest.fixture
def case(cycle, auditor):
    """The moderation case a weakly graded audit put its plan in."""
    audit = submitted_audit(
        cycle, auditor, "EHC-000202", WEAK_TICKS, recommendations="Rewrite the outcomes."
    )
    return ModerationCase.objects.get(audits=audit)


@pytest.fixture
def owner(db):
    return UserFactory(
        username="owner1",
        first_name="Olu",
        last_name="Adeyemi",
        roles=["Action owner"],
        agency="health",
    )


@pytest.fixture
def colleague(db):
    return UserFactory(username="colleague1", roles=["Action owner"], agency="health")


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider1", roles=["Action owner"], agency="education")


@pytest.fixture
def moderator(db):
    return UserFactory(username="moderator1", roles=["Moderator"])


def raise_action(qa_lead, owner, **fields):
    values = {
        "description": "Add the parents' views to section A.",
        "kind": Action.Kind.AMEND_PLAN,
        "agency": "health",
        "owner": owner,
        "due_on": in_days(30),
    }
    values.update(fields)
    return services.action_raise(raised_by=qa_lead, **values)


@pytest.fixture
def action(qa_lead, owner, audit):
    return raise_action(qa_lead, owner, audit=audit)


def signed_in(client, user):
    client.force_login(user)
    return client


def raise_post(person, due_on=None, **fields):
    """The raise form as posted, for `person` to own by `due_on`; `fields` override it."""
    due_on = due_on or in_days(21)
    data = {
        "description": "Add the parents' views to section A.",
        "kind": Action.Kind.AMEND_PLAN,
        "agency": "health",
        "owner": person.pk,
        "due_on_day": due_on.day,
        "due_on_month": due_on.month,
        "due_on_year": due_on.year,
    }
    data.update(fields)
    return data


def update_post(action, status, note="", cancel_reason=""):
    return {
        "version": action.version,
        "status": status,
        "note": note,
        "cancel_reason": cancel_reason,
    }


def detail_url(action):
    return reverse("action_detail", args=[action.pk])


def snapshot(action):
    action.refresh_from_db()
    return (action.status, action.version, action.cancel_reason, action.updates.count())


def text(response):
    return response.content.decode()


# Raising


def test_a_qa_lead_converts_an_auditors_recommendations_into_an_action(
    client, qa_lead, owner, audit
):
    signed_in(client, qa_lead)
    address = reverse("action_raise") + f"?audit={audit.pk}"

    form = client.get(address)

    assert form.status_code == 200
    page = text(form)
    assert "EHC-000101" in page
    assert "Audit by Priya Shah" in page
    assert form.context["form"]["description"].value() == RECOMMENDATIONS
    assert "Olu Adeyemi (Health)" in page  # owners are offered as "Name (agency)"

    due_on = in_days(21)
    response = client.post(
        address,
        raise_post(owner, due_on, description=RECOMMENDATIONS, kind=Action.Kind.AMEND_PLAN),
    )

    action = Action.objects.get()
    assert response.status_code == 302
    assert response.url == detail_url(action)
    assert (action.description, action.owner, action.agency, action.due_on) == (
        RECOMMENDATIONS,
        owner,
        "health",
        due_on,
    )
    assert (action.audit, action.plan.system_id, action.raised_by) == (audit, "EHC-000101", qa_lead)
    page = text(client.get(response.url))
    assert RAISED.format(
        reference=action.reference, owner="Olu Adeyemi", due=long_date(due_on)
    ) in (page)
    assert "Audit by Priya Shah" in page


def test_a_moderator_raises_an_action_from_a_moderation_case(client, moderator, owner, case):
    signed_in(client, moderator)
    address = reverse("action_raise") + f"?case={case.pk}"

    form = client.get(address)

    assert form.status_code == 200
    page = text(form)
    assert "Moderation of plan EHC-000202" in page
    assert "Rewrite the outcomes." in page  # the auditors' recommendations, to convert
    response = client.post(
        address, raise_post(owner, description="Rewrite outcomes E1–E3.", kind="reaudit")
    )

    action = Action.objects.get()
    assert response.status_code == 302
    assert (action.moderation_case, action.plan, action.kind) == (case, case.plan, "reaudit")
    # The moderator lands on the action and may follow it, but it is the owner's to update.
    assert response.url == detail_url(action)
    page = client.get(detail_url(action))
    assert page.status_code == 200
    assert 'name="version"' not in page.content.decode()


@pytest.mark.parametrize(
    "fields, errors",
    [
        (
            {
                "description": "  ",
                "kind": "",
                "agency": "",
                "owner": "",
                "due_on_day": "",
                "due_on_month": "",
                "due_on_year": "",
            },
            [
                services.DESCRIPTION_MISSING,
                services.UNKNOWN_KIND,
                services.UNKNOWN_AGENCY,
                OWNER_MISSING,
                DUE_DATE_MISSING,
            ],
        ),
        ({"due_on_day": "31", "due_on_month": "2", "due_on_year": "2030"}, [DUE_DATE_NOT_REAL]),
        (
            {"due_on_day": "1", "due_on_month": "1", "due_on_year": "2020"},
            [services.DUE_IN_THE_PAST],
        ),
        ({"kind": "reaudit"}, [services.REAUDIT_NEEDS_PLAN]),
        ({"kind": "sooner"}, [services.UNKNOWN_KIND]),
    ],
)
def test_a_general_action_with_problems_is_refused_with_the_reasons_on_its_fields(
    client, qa_lead, owner, fields, errors
):
    signed_in(client, qa_lead)

    response = client.post(reverse("action_raise"), raise_post(owner, **fields))

    assert response.status_code == 400
    page = text(response)
    assert "There is a problem" in page
    for error in errors:
        assert error in response.context["form"].errors.as_text()
        assert page.count(error.replace("'", "&#x27;")) == 2  # in the summary and on the field
    assert not Action.objects.exists()


def test_an_owner_who_may_not_own_actions_is_refused(client, qa_lead, auditor):
    signed_in(client, qa_lead)
    response = client.post(reverse("action_raise"), raise_post(auditor))
    assert response.status_code == 400
    assert services.OWNER_NOT_ELIGIBLE in text(response)
    assert not Action.objects.exists()


def test_a_general_action_is_raised_from_the_all_actions_page(client, qa_lead, owner):
    signed_in(client, qa_lead)
    assert 'href="/actions/raise/"' in text(client.get(reverse("all_actions")))

    response = client.post(
        reverse("action_raise"),
        raise_post(
            owner, description="Review the plan template's section E.", kind="review_process"
        ),
    )

    action = Action.objects.get()
    assert response.url == detail_url(action)
    assert (action.plan, action.audit, action.moderation_case) == (None, None, None)
    assert "Not about one plan" in text(client.get(response.url))


@pytest.mark.parametrize("query", ["?case=999", "?audit=999", "?audit=abc", "?case=1x"])
def test_an_unknown_case_or_audit_is_not_found(client, qa_lead, owner, query):
    signed_in(client, qa_lead)
    assert client.get(reverse("action_raise") + query).status_code == 404
    assert client.post(reverse("action_raise") + query, raise_post(owner)).status_code == 404
    assert not Action.objects.exists()


def test_a_draft_audit_cannot_be_raised_from(client, qa_lead, cycle, auditor):
    assignment = AssignmentFactory(cycle=cycle, auditor=auditor)
    draft = audit_start(assignment, auditor)
    signed_in(client, qa_lead)
    assert client.get(reverse("action_raise") + f"?audit={draft.pk}").status_code == 404


def test_a_moderator_sees_only_audits_in_moderation(client, moderator, audit, case):
    signed_in(client, moderator)
    assert client.get(reverse("action_raise") + f"?audit={audit.pk}").status_code == 404
    moderated = case.audits.get()
    assert client.get(reverse("action_raise") + f"?audit={moderated.pk}").status_code == 200


@pytest.mark.parametrize("role", ["Action owner", "Auditor"])
def test_only_qa_leads_and_moderators_may_raise_actions(client, owner, case, role):
    signed_in(client, UserFactory(roles=[role], agency="health"))
    address = reverse("action_raise") + f"?case={case.pk}"

    assert client.get(address).status_code == 403
    response = client.post(address, raise_post(owner))

    assert response.status_code == 403
    assert services.NOT_ALLOWED_TO_RAISE in text(response)
    assert not Action.objects.exists()


# My actions


def test_my_actions_lists_the_owners_and_their_agencys_actions_open_first(
    client, qa_lead, owner, colleague, outsider, audit
):
    mine = raise_action(qa_lead, owner, audit=audit, due_on=in_days(10))
    agencys = raise_action(qa_lead, colleague, kind="training", due_on=in_days(5))
    late = raise_action(qa_lead, owner, kind="review_process", due_on=in_days(1))
    Action.objects.filter(pk=late.pk).update(due_on=in_days(-3))  # time has passed
    finished = raise_action(qa_lead, owner, due_on=in_days(2))
    services.action_update(finished, owner, finished.version, status="done")
    someone_elses = raise_action(qa_lead, outsider, agency="education")

    response = signed_in(client, owner).get(reverse("my_actions"))

    assert response.status_code == 200
    listed = [action.reference for action in response.context["actions"]]
    assert listed == [late.reference, agencys.reference, mine.reference, finished.reference]
    page = text(response)
    assert someone_elses.reference not in page
    assert page.count("Overdue</strong>") == 1
    assert long_date(in_days(-3)) in page
    assert "EHC-000101" in page
    assert "Amend the plan before it is issued" in page
    assert "Health" in page


def test_my_actions_says_when_there_are_none(client, outsider):
    page = text(signed_in(client, outsider).get(reverse("my_actions")))
    assert "You have no actions at the moment." in page


def test_my_actions_needs_signing_in(client):
    response = client.get(reverse("my_actions"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_header_offers_my_actions_to_action_owners_and_qa_leads_only(
    client, owner, qa_lead, auditor
):
    link = f'href="{reverse("my_actions")}"'
    assert link in text(signed_in(client, owner).get(reverse("my_audits")))
    assert link in text(signed_in(client, qa_lead).get(reverse("my_audits")))
    assert link not in text(signed_in(client, auditor).get(reverse("my_audits")))
    # On My actions itself, the item is marked as the current page.
    page = text(signed_in(client, owner).get(reverse("my_actions")))
    assert f'{link} aria-current="page">My actions' in page


# One action


def test_the_owner_opens_the_action_and_sees_everything_about_it(client, owner, action):
    response = signed_in(client, owner).get(detail_url(action))

    assert response.status_code == 200
    page = text(response)
    for shown in (
        f"Action {action.reference}",
        "Add the parents&#x27; views to section A.",
        "Amend the plan before it is issued",
        "Olu Adeyemi",
        "Health",
        long_date(action.due_on),
        "EHC-000101",
        "Audit by Priya Shah",
        "Save update",
    ):
        assert shown in page
    assert 'href="/admin/audits/inspect/' not in page  # owners do not see audits


def test_the_owner_moves_the_action_on_and_the_history_shows_each_step(client, owner, action):
    signed_in(client, owner)

    response = client.post(
        detail_url(action), update_post(action, "in_progress", note="Called the SENCo.")
    )
    assert response.status_code == 302
    action.refresh_from_db()
    response = client.post(
        detail_url(action), update_post(action, "done", note="Plan amended and reissued.")
    )
    assert response.status_code == 302

    page = client.get(detail_url(action))
    action.refresh_from_db()
    assert action.status == "done"
    assert action.closed_at is not None
    history = list(page.context["history"])
    assert [(entry.status, entry.note, entry.author) for entry in history[1:]] == [
        ("in_progress", "Called the SENCo.", owner),
        ("done", "Plan amended and reissued.", owner),
    ]
    body = text(page)
    assert body.index("Called the SENCo.") < body.index("Plan amended and reissued.")
    assert body.count(f"{long_date(timezone.localtime().date())}, ") == 3  # dated entries
    assert "This action is done, so it can no longer be changed." in body
    assert "Save update" not in body


def test_a_note_alone_is_added_to_the_history(client, owner, action):
    response = signed_in(client, owner).post(
        detail_url(action), update_post(action, "open", note="Waiting for the school."), follow=True
    )
    assert "Your note was added to action" in text(response)
    assert action.updates.last().note == "Waiting for the school."


def test_an_owner_of_another_agency_cannot_find_the_action_and_their_post_changes_nothing(
    client, outsider, action
):
    signed_in(client, outsider)
    before = snapshot(action)

    assert client.get(detail_url(action)).status_code == 404
    response = client.post(detail_url(action), update_post(action, "done", note="Mine now."))

    assert response.status_code == 404
    assert snapshot(action) == before
    assert action.reference not in text(client.get(reverse("my_actions")))


def test_a_colleague_in_the_owning_agency_sees_and_updates_the_action(client, colleague, action):
    signed_in(client, colleague)
    assert action.reference in text(client.get(reverse("my_actions")))

    response = client.post(
        detail_url(action), update_post(action, "in_progress", note="Olu is away; I have it.")
    )

    assert response.status_code == 302
    entry = action.updates.last()
    assert (entry.author, entry.status) == (colleague, "in_progress")


def test_cancelling_needs_a_reason_and_nothing_changes_without_one(client, owner, action):
    signed_in(client, owner)
    before = snapshot(action)

    response = client.post(detail_url(action), update_post(action, "cancelled", note="Not needed."))

    assert response.status_code == 400
    assert snapshot(action) == before
    page = text(response)
    assert services.CANCEL_REASON_MISSING in page
    assert 'href="#cancel_reason"' in page
    assert "Not needed." in page  # what was typed is kept
    assert 'value="cancelled" checked' in page

    response = client.post(
        detail_url(action),
        update_post(action, "cancelled", cancel_reason="The plan was withdrawn."),
        follow=True,
    )
    action.refresh_from_db()
    assert action.status == "cancelled"
    page = text(response)
    assert "Why it was cancelled" in page
    assert "The plan was withdrawn." in page


def test_a_stale_form_is_refused_keeping_what_was_typed(client, owner, colleague, action):
    stale_version = action.version
    services.action_update(action, colleague, action.version, status="in_progress", note="Mine.")
    before = snapshot(action)
    signed_in(client, owner)

    response = client.post(
        detail_url(action),
        {"version": stale_version, "status": "done", "note": "All finished.", "cancel_reason": ""},
    )

    assert response.status_code == 409
    assert snapshot(action) == before
    page = text(response)
    assert services.ACTION_CHANGED.replace("'", "&#x27;") in page
    assert "All finished." in page
    assert "Open the latest saved version" in page


def test_saving_with_nothing_changed_is_refused(client, owner, action):
    before = snapshot(action)
    response = signed_in(client, owner).post(detail_url(action), update_post(action, "open"))
    assert response.status_code == 400
    assert services.NOTHING_CHANGED in text(response)
    assert snapshot(action) == before


def test_a_done_action_has_no_form_and_a_tampered_post_is_refused(client, owner, action):
    services.action_update(action, owner, action.version, status="done", note="Done.")
    before = snapshot(action)
    signed_in(client, owner)

    assert "Save update" not in text(client.get(detail_url(action)))
    response = client.post(
        detail_url(action), update_post(action, "open", note="Reopening it myself.")
    )

    assert response.status_code == 403
    assert services.ACTION_CLOSED in text(response)
    assert snapshot(action) == before


def test_a_done_reaudit_action_gives_the_plan_to_its_auditor_again(
    client, qa_lead, owner, auditor, audit
):
    action = raise_action(qa_lead, owner, audit=audit, kind="reaudit", due_on=in_days(30))
    signed_in(client, owner)

    response = client.post(
        detail_url(action), update_post(action, "done", note="Plan rewritten."), follow=True
    )

    reaudit = Assignment.objects.get(plan=audit.assignment.plan, audit__isnull=True)
    assert (reaudit.auditor, reaudit.due_on) == (auditor, in_days(30))
    page = text(response)
    assert (
        REAUDIT_ASSIGNED.format(
            system_id="EHC-000101", auditor="Priya Shah", due=long_date(in_days(30))
        )
        in page
    )
    assert "Audited again by" in page


def test_a_reaudit_nobody_can_take_is_reported_as_a_warning(client, qa_lead, owner, auditor, audit):
    ConflictDeclarationFactory(auditor=auditor, plan=audit.assignment.plan)
    action = raise_action(qa_lead, owner, audit=audit, kind="reaudit")
    signed_in(client, owner)

    response = client.post(detail_url(action), update_post(action, "done"), follow=True)

    page = text(response)
    assert services.NO_REAUDITOR.format(system_id="EHC-000101") in page
    assert "govuk-notification-banner__title" in page and "Important" in page
    assert not Assignment.objects.filter(plan=audit.assignment.plan, audit__isnull=True).exists()


def test_qa_leads_follow_every_action_to_its_audit(client, qa_lead, second_qa_lead, action):
    page = text(signed_in(client, second_qa_lead).get(detail_url(action)))
    assert f'href="/admin/audits/inspect/{action.audit_id}/"' in page
    assert "Save update" in page


# All actions


@pytest.fixture
def several(qa_lead, owner, outsider, audit, case, cycle, other_cycle, auditor):
    """Actions of each agency, kind and status, of two cycles."""
    later = submitted_audit(other_cycle, auditor, "EHC-000303", GOOD_TICKS)
    actions = {
        "amend": raise_action(qa_lead, owner, audit=audit),
        "reaudit": raise_action(
            qa_lead, owner, moderation_case=case, kind="reaudit", due_on=in_days(40)
        ),
        "training": raise_action(
            qa_lead, outsider, agency="education", kind="training", audit=later
        ),
        "late": raise_action(qa_lead, outsider, agency="education", kind="review_process"),
        "done": raise_action(qa_lead, owner, kind="other"),
    }
    Action.objects.filter(pk=actions["late"].pk).update(due_on=in_days(-2))
    done = actions["done"]
    services.action_update(done, owner, done.version, status="done")
    Action.objects.filter(pk=done.pk).update(due_on=in_days(-5))  # closed: never overdue
    return actions


def listed(response):
    return {action.reference for action in response.context["actions"]}


@pytest.mark.parametrize(
    "query, expected",
    [
        ({}, {"amend", "reaudit", "training", "late", "done"}),
        ({"agency": "education"}, {"training", "late"}),
        ({"kind": "reaudit"}, {"reaudit"}),
        ({"status": "done"}, {"done"}),
        ({"overdue": "on"}, {"late"}),
        ({"cycle": "first"}, {"amend", "reaudit"}),
        ({"cycle": "second"}, {"training"}),
        ({"agency": "health", "status": "open"}, {"amend", "reaudit"}),
    ],
)
def test_all_actions_filters_narrow_the_list(
    client, qa_lead, several, cycle, other_cycle, query, expected
):
    cycles = {"first": cycle.pk, "second": other_cycle.pk}
    if "cycle" in query:
        query = {**query, "cycle": cycles[query["cycle"]]}

    response = signed_in(client, qa_lead).get(reverse("all_actions"), query)

    assert response.status_code == 200
    assert listed(response) == {several[name].reference for name in expected}


def test_all_actions_counts_open_and_overdue_by_agency(client, qa_lead, several):
    response = signed_in(client, qa_lead).get(reverse("all_actions"))

    counts = response.context["counts"]
    assert (counts["open"], counts["overdue"]) == (4, 1)
    by_agency = {row["label"]: (row["open"], row["overdue"]) for row in counts["agencies"]}
    assert by_agency == {
        "Education": (2, 1),
        "Health": (2, 0),
        "Social care": (0, 0),
        "SEND service (local authority)": (0, 0),
    }
    page = text(response)
    assert "<strong>4 open</strong>, of which <strong>1 overdue</strong>" in page
    assert page.count("Overdue</strong>") == 1


def test_an_unknown_filter_is_reported_and_the_others_still_apply(client, qa_lead, several):
    response = signed_in(client, qa_lead).get(
        reverse("all_actions"), {"agency": "police", "kind": "training"}
    )
    assert response.status_code == 400
    assert "There is a problem" in text(response)
    assert listed(response) == {several["training"].reference}


def csv_rows(response):
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


def xlsx_rows(response):
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    return [
        ["" if value is None else value for value in row]
        for row in sheet.iter_rows(values_only=True)
    ]


@pytest.mark.parametrize("file_format, read", [("csv", csv_rows), ("xlsx", xlsx_rows)])
def test_the_download_holds_exactly_the_filtered_actions(
    client, qa_lead, owner, several, file_format, read
):
    signed_in(client, qa_lead)
    page = text(client.get(reverse("all_actions"), {"agency": "health", "status": "open"}))
    link = reverse("actions_export", args=[file_format]) + "?agency=health&amp;status=open"
    assert f'href="{link}"' in page

    response = client.get(
        reverse("actions_export", args=[file_format]), {"agency": "health", "status": "open"}
    )

    assert response.status_code == 200
    assert f".{file_format}" in response["Content-Disposition"]
    rows = read(response)
    assert rows[0] == HEADERS
    amend, reaudit = several["amend"], several["reaudit"]
    assert sorted(rows[1:]) == sorted(
        [
            [
                amend.reference,
                "Add the parents' views to section A.",
                "Amend the plan before it is issued",
                "Health",
                "Olu Adeyemi",
                f"{in_days(30):%Y-%m-%d}",
                "Open",
                "No",
                "EHC-000101",
                qa_lead.get_full_name(),
                f"{today():%Y-%m-%d}",
                "",
            ],
            [
                reaudit.reference,
                "Add the parents' views to section A.",
                "Audit the plan again later",
                "Health",
                "Olu Adeyemi",
                f"{in_days(40):%Y-%m-%d}",
                "Open",
                "No",
                "EHC-000202",
                qa_lead.get_full_name(),
                f"{today():%Y-%m-%d}",
                "",
            ],
        ]
    )


def test_the_download_marks_overdue_and_closed_actions(client, qa_lead, several):
    response = signed_in(client, qa_lead).get(
        reverse("actions_export", args=["csv"]), {"agency": "education", "overdue": "on"}
    )
    rows = csv_rows(response)
    assert [(row[0], row[6], row[7]) for row in rows[1:]] == [
        (several["late"].reference, "Open", "Yes")
    ]
    rows = csv_rows(client.get(reverse("actions_export", args=["csv"]), {"status": "done"}))
    assert [(row[6], row[7], row[11]) for row in rows[1:]] == [
        ("Done", "No", f"{today():%Y-%m-%d}")
    ]


def test_a_description_that_looks_like_a_formula_is_not_one_in_the_workbook(client, qa_lead, owner):
    raise_action(qa_lead, owner, description='=HYPERLINK("http://example.com")')
    response = signed_in(client, qa_lead).get(reverse("actions_export", args=["xlsx"]))
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet["B2"].data_type == "s"


def test_an_unknown_download_format_is_not_found(client, qa_lead):
    assert (
        signed_in(client, qa_lead).get(reverse("actions_export", args=["pdf"])).status_code == 404
    )


@pytest.mark.parametrize("role", ["Action owner", "Moderator", "Auditor"])
def test_only_qa_leads_see_every_action(client, action, role):
    signed_in(client, UserFactory(roles=[role], agency="health"))

    response = client.get(reverse("all_actions"))
    assert response.status_code == 403
    assert NOT_A_QA_LEAD in text(response)
    assert client.get(reverse("actions_export", args=["csv"])).status_code == 403


def test_all_actions_needs_signing_in(client):
    response = client.get(reverse("all_actions"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_updates_are_recorded_only_through_the_form_fields(client, owner, action):
    """Fields not on the form (owner, due date, agency) cannot be changed by posting them."""
    signed_in(client, owner)
    client.post(
        detail_url(action),
        {**update_post(action, "in_progress"), "agency": "education", "due_on": "2030-01-01"},
    )
    action.refresh_from_db()
    assert (action.status, action.agency, action.due_on) == ("in_progress", "health", in_days(30))
    assert ActionUpdate.objects.filter(action=action).count() == 2
