"""The audit-log actions of the audits app, shown in Wagtail's history and reports."""

from wagtail import hooks

# Marks the label of an action the portal takes by itself (a rule or a scheduled job), whose
# log entries name no user.
AUTOMATIC = "(automatic)"

ACTIONS = {
    "portal.audit.start": ("Start audit", "Started the audit"),
    "portal.audit.save": ("Save audit", "Saved the audit"),
    "portal.audit.submit": ("Submit audit", "Submitted the audit"),
    "portal.cycle.draw_sample": ("Draw sample", "Drew the cycle's sample of plans"),
    "portal.assignment.create": ("Assign plan", "Assigned the plan to an auditor"),
    "portal.conflict.declare": ("Declare conflict", "Declared a conflict of interest"),
    "portal.moderation.queue": (
        f"Queue for moderation {AUTOMATIC}",
        "Queued the plan for moderation, as the moderation rules ask",
    ),
    "portal.moderation.audit_added": (
        f"Add audit to moderation {AUTOMATIC}",
        "Added another audit of the plan to its moderation case",
    ),
    "portal.moderation.record": ("Record moderation", "Recorded a draft moderation decision"),
    "portal.moderation.close": ("Close moderation", "Closed the moderation case"),
    "portal.action.raise": ("Raise action", "Raised the action"),
    "portal.action.update": ("Update action", "Updated the action"),
    "portal.action.reaudit_unassigned": (
        "Re-audit not assigned",
        "No auditor could be given the re-audit",
    ),
}


@hooks.register("register_log_actions")
def register_audit_log_actions(actions):
    for action, (label, message) in ACTIONS.items():
        actions.register_action(action, label, message)
    # Its message carries the run's counts, so it has a formatter of its own.
    from .retention import RETENTION_ACTION, RetentionLogFormatter

    actions.register_action(RETENTION_ACTION)(RetentionLogFormatter)
