"""Demo quality summaries on the Local Offer: two published periods of the demo cycle, the
later one showing the trend against the earlier, their figures frozen when published; and
one governance report for the Partnership Board, in its private section."""

import datetime

from django.utils import timezone

from .governance import governance_index_restrict
from .models import GovernanceReportIndexPage, GovernanceReportPage, QualitySummaryPage
from .snapshots import report_snapshot_take

SUMMARIES = [
    {
        "title": "Plan quality: September and October 2026",
        "slug": "september-october-2026",
        "period_start": datetime.date(2026, 9, 1),
        "period_end": datetime.date(2026, 10, 31),
        "summary": "What we found when we checked new plans issued this autumn, and what we "
        "are changing as a result.",
        "what_we_found": "<p>Most plans set out the child's views in their own words and "
        "describe their needs clearly. The weakest part of many plans was the provision in "
        "section F: it often said what support a child would have “access to” without "
        "saying how much, how often or who would give it.</p>",
        "what_we_are_doing": "<p>Plan writers have had a briefing on quantifying provision, "
        "and every plan graded below good has an action to amend it before it is issued. "
        "We will check these plans again next term.</p>",
    },
    {
        "title": "Plan quality: November 2026",
        "slug": "november-2026",
        "period_start": datetime.date(2026, 11, 1),
        "period_end": datetime.date(2026, 11, 30),
        "summary": "The latest checks of new plans, compared with September and October.",
        "what_we_found": "<p>Outcomes in section E are more often specific and time-bound "
        "than in the autumn. Health and social care advice is still missing from some "
        "plans.</p>",
        "what_we_are_doing": "<p>Health and social care services are reviewing how their "
        "advice reaches plan writers, with a deadline of the end of January.</p>",
    },
]
GRADES_MEAN = (
    "<p><strong>Outstanding</strong> and <strong>good</strong> plans do what the law "
    "asks: they describe your child, set out what they want to achieve and say exactly "
    "what help they will get. <strong>Requires improvement</strong> means parts of the plan "
    "need to be clearer or more specific. <strong>Inadequate</strong> means the plan needs "
    "to be rewritten.</p>"
)
FEEDBACK = (
    "<p>Tell us what you think of your child's plan, or of this summary, through the "
    "Parent Carer Forum or by emailing the SEND team. We read every message.</p>"
)


def load_demo_summaries(local_offer, publisher):
    """Create and publish the demo summaries (older first, so the newer shows the trend)
    unless there are summaries already. Returns a line for the report, or None."""
    if QualitySummaryPage.objects.exists():
        return None
    for data in SUMMARIES:
        if data["period_start"] > timezone.localdate():
            continue
        page = QualitySummaryPage(
            **data,
            show_key_stage=True,
            show_setting_type=True,
            what_the_grades_mean=GRADES_MEAN,
            feedback=FEEDBACK,
        )
        local_offer.add_child(instance=page)
        revision = page.save_revision(user=publisher)
        revision.publish(user=publisher)
        report_snapshot_take(revision)
    return f"Demo quality summaries: {QualitySummaryPage.objects.count()} published."


GOVERNANCE_REPORT = {
    "title": "Governance report: September to November 2026",
    "slug": "september-november-2026",
    "period_start": datetime.date(2026, 9, 1),
    "period_end": datetime.date(2026, 11, 30),
    "introduction": "<p>How the plans audited this autumn were graded, how far auditors and "
    "moderators agreed, and how the partnership's actions and training stand.</p>",
    "commentary": "<p>Plans are improving, most of all in section E. Section F is still "
    "the weakest part of plans: health and social care are reviewing how their advice "
    "reaches plan writers. Moderation changed fewer grades than in the summer, a sign "
    "that training is working; overdue actions sit mostly with one agency, which has "
    "agreed a recovery plan with the QA leads.</p>",
}


def load_demo_governance(home, publisher):
    """Create the governance reports section (private to the QA leads and the board) and
    publish one report with its figures, unless the section exists. Returns a line for the
    report, or None."""
    if GovernanceReportIndexPage.objects.exists():
        return None
    index = GovernanceReportIndexPage(
        title="Governance reports",
        slug="governance",
        introduction="<p>Reports to the SEND Partnership Board on the quality of plans.</p>",
    )
    home.add_child(instance=index)
    index.save_revision(user=publisher).publish(user=publisher)
    governance_index_restrict(index)
    report = GovernanceReportPage(**GOVERNANCE_REPORT)
    index.add_child(instance=report)
    revision = report.save_revision(user=publisher)
    revision.publish(user=publisher)
    report_snapshot_take(revision)
    return "Demo governance report: 1 published (QA leads and the Partnership Board only)."
