"""The sections of an EHC plan (SEND Code of Practice 2015, paragraph 9.62)."""

from collections import namedtuple

PlanSection = namedtuple("PlanSection", "key title statutory_description")

PLAN_SECTIONS = (
    PlanSection(
        "A",
        "Views, interests and aspirations",
        "The views, interests and aspirations of the child and their parents, or of the young "
        "person.",
    ),
    PlanSection(
        "B", "Special educational needs", "The child or young person's special educational needs."
    ),
    PlanSection(
        "C",
        "Health needs",
        "The child or young person's health needs which are related to their SEN.",
    ),
    PlanSection(
        "D",
        "Social care needs",
        "The child or young person's social care needs which are related to their SEN or to a "
        "disability.",
    ),
    PlanSection("E", "Outcomes", "The outcomes sought for the child or the young person."),
    PlanSection(
        "F",
        "Special educational provision",
        "The special educational provision required by the child or the young person.",
    ),
    PlanSection(
        "G",
        "Health provision",
        "Any health provision reasonably required by the learning difficulties or disabilities "
        "which result in the child or young person having SEN.",
    ),
    PlanSection(
        "H1",
        "Social care provision under section 2 CSDPA 1970",
        "Any social care provision which must be made for a child or young person under 18 "
        "resulting from section 2 of the Chronically Sick and Disabled Persons Act 1970.",
    ),
    PlanSection(
        "H2",
        "Other social care provision",
        "Any other social care provision reasonably required by the learning difficulties or "
        "disabilities which result in the child or young person having SEN.",
    ),
    PlanSection(
        "I",
        "Placement",
        "The name and type of the school, maintained nursery school, post-16 institution or "
        "other institution to be attended, or the type of placement.",
    ),
    PlanSection(
        "J",
        "Personal budget",
        "Where there is a Personal Budget, the details of how it will support particular "
        "outcomes, the provision it will be used for and the arrangements for direct payments.",
    ),
    PlanSection(
        "K",
        "Advice and information",
        "The advice and information gathered during the EHC needs assessment.",
    ),
)

SECTION_KEYS = tuple(section.key for section in PLAN_SECTIONS)
SECTION_CHOICES = tuple((s.key, f"{s.key}: {s.title}") for s in PLAN_SECTIONS)
SECTIONS_BY_KEY = {section.key: section for section in PLAN_SECTIONS}
