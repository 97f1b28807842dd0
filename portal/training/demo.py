"""Demo training: the training pages (modules with knowledge checks, calibration cases), the
QA lead's reference for each case recorded through the audit form's services, and demo
auditors in every state — new, in training, accredited (one expiring soon) and expired with
plans still to audit — all made through the real services, so the screens are populated on
first run."""

import datetime
import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.utils import timezone
from wagtail.models import PageViewRestriction

from portal.audits.cycles import assignment_create
from portal.audits.models import Plan
from portal.audits.recording import (
    audit_save_findings,
    audit_save_section,
    audit_start,
    audit_submit,
)
from portal.framework.models import ExemplarPage, FrameworkPage, StandardPage

from .models import (
    Accreditation,
    CalibrationAttempt,
    CalibrationCasePage,
    Invitation,
    TrainingIndexPage,
    TrainingModulePage,
)
from .services import (
    calibration_reference_start,
    calibration_start,
    invitation_create,
    knowledge_check_questions,
    knowledge_check_take,
    module_complete,
    staff_agency_set,
)

DATA = Path(__file__).resolve().parent / "demo" / "training.json"
AGENCIES = {
    "qalead": "send_service",
    "qalead2": "send_service",
    "auditor": "education",
    "auditor2": "health",
    "auditor3": "social_care",
    "newauditor": "social_care",
    "trainee": "health",
    "lapsed": "education",
    "moderator": "education",
    "actionowner": "health",
    "actionowner2": "education",
}
# Accredited through calibration before plans are assigned; "lapsed" then expires.
ACCREDITED = ["auditor", "auditor2", "auditor3", "lapsed"]
EXPIRES_SOON = "auditor3"
INVITED = ("Robin", "Ashworth", "robin.ashworth@demo.invalid", "health")


def _data():
    return json.loads(DATA.read_text(encoding="utf-8"))


def _publish(parent, page):
    parent.add_child(instance=page)
    page.save_revision().publish()
    return page


def _linked_page(slug):
    for model in (StandardPage, ExemplarPage, FrameworkPage):
        page = model.objects.filter(slug=slug).first()
        if page:
            return page
    raise ValueError(f"The demo training links to “{slug}”, which is not a demo page.")


def _body(blocks):
    stream = []
    for block in blocks:
        value = block["value"]
        if block["type"] == "related_page":
            value = {"page": _linked_page(value["slug"]), "why": value.get("why", "")}
        stream.append((block["type"], value))
    return stream


def load_demo_training_pages(home):
    """The training index (signed-in staff only), modules and calibration cases, unless
    already there; returns the titles of the pages created."""
    if TrainingIndexPage.objects.exists():
        return []
    data = _data()
    index = _publish(
        home,
        TrainingIndexPage(
            title=data["index"]["title"],
            slug=data["index"]["slug"],
            introduction=data["index"]["introduction"],
        ),
    )
    # Training is for the partnership's staff: signing in is needed to read it.
    PageViewRestriction.objects.create(page=index, restriction_type=PageViewRestriction.LOGIN)
    created = [index]
    for module in data["modules"]:
        created.append(
            _publish(
                index,
                TrainingModulePage(
                    title=module["title"],
                    slug=module["slug"],
                    summary=module["summary"],
                    duration_minutes=module["duration_minutes"],
                    audience=module["audience"],
                    required=module["required"],
                    body=_body(module["body"]),
                    questions=[("question", question) for question in module["questions"]],
                    pass_mark=module["pass_mark"],
                ),
            )
        )
    for case in data["cases"]:
        created.append(
            _publish(
                index,
                CalibrationCasePage(
                    title=case["title"],
                    slug=case["slug"],
                    summary=case["summary"],
                    plan_sections=[
                        ("section", {"section": section["section"], "text": section["text"]})
                        for section in case["sections"]
                    ],
                ),
            )
        )
    return [page.title for page in created]


def _record(assignment, user, ticks, notes=None, findings=None):
    """Complete and submit the assignment's audit with `ticks` (interchange format)."""
    audit = audit_start(assignment, user)
    for key, section in ticks["sections"].items():
        audit = audit_save_section(
            audit,
            user,
            audit.version,
            key,
            met=section.get("met", []),
            not_applicable=bool(section.get("not_applicable")),
            note=(notes or {}).get(key, ""),
        )
    if findings:
        audit = audit_save_findings(audit, user, audit.version, **findings)
    return audit_submit(audit, user, audit.version)


def _answers(module, right=True):
    """Every question answered with its correct options, or with its first wrong one."""
    return {
        question["id"]: [
            i for i, option in enumerate(question["options"]) if option["correct"] == right
        ][: None if right else 1]
        for question in knowledge_check_questions(module)
    }


def _complete_modules(user, modules):
    for module in modules:
        if module.has_knowledge_check:
            knowledge_check_take(module, user, _answers(module))
        else:
            module_complete(module, user)


def _wrong_ticks(ticks):
    """A learner's weaker reading of a case: only the first criterion met in each section."""
    return {
        "sections": {
            key: section if section.get("not_applicable") else {"met": section["met"][:1]}
            for key, section in ticks["sections"].items()
        }
    }


def load_demo_training(qa_lead):
    """References for the demo cases and demo auditors in every state (before plans are
    assigned). Returns a line for the command's report, or None if already loaded."""
    if CalibrationAttempt.objects.exists():
        return None
    User = get_user_model()
    users = {user.username: user for user in User.objects.filter(username__in=AGENCIES)}
    for username, agency in AGENCIES.items():
        if username in users:
            staff_agency_set(users[username], agency)

    data = _data()
    cases = {case.slug: case for case in CalibrationCasePage.objects.live()}
    for case in data["cases"]:
        reference = calibration_reference_start(cases[case["slug"]], qa_lead)
        _record(
            reference.assignment,
            qa_lead,
            case["reference_ticks"],
            notes=case["reference_notes"],
            findings={
                "strengths": "Reference audit for calibration.",
                "recommendations": "",
                "summary": f"Expected grade: {case['expected_grade'].replace('_', ' ')}.",
            },
        )
    ticks_by_case = {case["slug"]: case["reference_ticks"] for case in data["cases"]}

    modules = list(TrainingModulePage.objects.live().filter(required=True).order_by("path"))
    for username in ACCREDITED:
        user = users[username]
        _complete_modules(user, modules)
        attempt = calibration_start(user)
        if username == EXPIRES_SOON:
            # A first try that misses criteria, then a pass on the other case.
            _record(attempt.assignment, user, _wrong_ticks(ticks_by_case[attempt.case.slug]))
            attempt = calibration_start(user)
        _record(attempt.assignment, user, ticks_by_case[attempt.case.slug])

    today = timezone.localdate()
    Accreditation.objects.filter(auditor=users[EXPIRES_SOON]).update(
        expires_on=today + datetime.timedelta(days=20)
    )
    # In training: the first module passed after a failed knowledge check.
    trainee, first = users["trainee"], modules[0]
    knowledge_check_take(first, trainee, _answers(first, right=False))
    knowledge_check_take(first, trainee, _answers(first))
    first_name, last_name, email, agency = INVITED
    if not Invitation.objects.filter(email=email).exists():
        invitation_create(
            email=email,
            first_name=first_name,
            last_name=last_name,
            agency=agency,
            invited_by=qa_lead,
        )
    return (
        "Demo training: references for both calibration cases; auditor, auditor2, auditor3 "
        "(expires in 20 days) accredited; trainee in training; newauditor not started; lapsed "
        "expired with plans to audit."
    )


def expire_demo_lapsed(qa_lead):
    """The "lapsed" auditor was given two more plans while accredited; their accreditation
    then ran out ten days ago with those plans still to audit."""
    lapsed = get_user_model().objects.get(username="lapsed")
    today = timezone.localdate()
    for plan in Plan.objects.filter(assignments__isnull=True).order_by("system_id")[:2]:
        assignment_create(plan, lapsed, today + datetime.timedelta(days=14), qa_lead)
    Accreditation.objects.filter(auditor=lapsed).update(
        expires_on=today - datetime.timedelta(days=10)
    )
