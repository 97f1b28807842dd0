"""The audit-log actions of the Local Offer app, shown in Wagtail's history and reports.
Publishing a page is logged by Wagtail itself; these are what the portal then does alone."""

from wagtail import hooks

from portal.audits.audit_log import AUTOMATIC

REPORT_SNAPSHOT_ACTION = "portal.report.snapshot"
GOVERNANCE_DRAFT_ACTION = "portal.governance.draft"

ACTIONS = {
    REPORT_SNAPSHOT_ACTION: (
        f"Take report figures {AUTOMATIC}",
        "Took and froze the figures of the published report",
    ),
    GOVERNANCE_DRAFT_ACTION: (
        f"Draft governance report {AUTOMATIC}",
        "Drafted the next governance report for QA leads to review",
    ),
}


@hooks.register("register_log_actions")
def register_local_offer_log_actions(actions):
    for action, (label, message) in ACTIONS.items():
        actions.register_action(action, label, message)
