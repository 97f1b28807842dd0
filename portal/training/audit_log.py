"""The audit-log actions of the training app, shown in Wagtail's history and reports."""

from wagtail import hooks

from portal.audits.audit_log import AUTOMATIC

ACTIONS = {
    "portal.training.module_complete": ("Complete module", "Completed a training module"),
    "portal.training.knowledge_check": ("Take knowledge check", "Took a knowledge check"),
    "portal.training.reference_start": (
        "Start calibration reference",
        "Started recording a calibration case's reference",
    ),
    "portal.training.reference_record": (
        "Record calibration reference",
        "Recorded a calibration case's reference",
    ),
    "portal.training.calibration_start": ("Start calibration", "Started a calibration case"),
    "portal.training.calibration_assign": (
        "Give calibration case",
        "Gave a calibration case to audit, for a reference or an attempt",
    ),
    "portal.training.calibration_mark": ("Mark calibration", "Calibration compared"),
    "portal.training.accredit": ("Accredit auditor", "Accredited the auditor"),
    "portal.training.reminder": (
        f"Remind of expiry {AUTOMATIC}",
        "Reminded the auditor of expiry",
    ),
    "portal.training.reminder_not_needed": (
        f"Skip expiry reminder {AUTOMATIC}",
        "No reminder sent: renewed, account switched off or no email address",
    ),
    "portal.training.lapse": (
        f"Report lapse {AUTOMATIC}",
        "Reported a lapsed accreditation to QA leads",
    ),
    "portal.training.lapse_noted": (
        f"Note lapse {AUTOMATIC}",
        "Noted a lapsed accreditation: renewed, or no open audits to report",
    ),
    "portal.training.invite": ("Invite auditor", "Invited an auditor"),
    "portal.training.invitation_accept": ("Accept invitation", "Accepted the invitation"),
}


@hooks.register("register_log_actions")
def register_training_log_actions(actions):
    for action, (label, message) in ACTIONS.items():
        actions.register_action(action, label, message)
