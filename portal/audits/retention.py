"""Data retention (docs/data-protection.md): plans with no activity for PORTAL_RETENTION_YEARS,
and their audits, moderation and actions, are anonymised rather than deleted, so every grade
and breakdown that reports count stays exactly as it was while nothing that could point to a
child remains. Published report snapshots are never touched. One transaction per run, logged
with counts (never identities) in Wagtail's audit log."""

import datetime
import re
import secrets
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Case, Exists, OuterRef, Q, Value, When
from django.utils import timezone
from django.utils.formats import date_format
from wagtail.log_actions import LogFormatter, log
from wagtail.models import ModelLogEntry

from .models import (
    Action,
    ActionUpdate,
    Assignment,
    Audit,
    ConflictDeclaration,
    ModerationCase,
    Plan,
    PlanImport,
    SampledPlan,
)

YEARS_SETTING = "PORTAL_RETENTION_YEARS"
YEARS_DEFAULT = 6
RETENTION_ACTION = "portal.retention.apply"
# A run is about the whole register, not one plan. It is logged under the Plan type, so that QA
# leads (who may view plans) see it in Wagtail's Site history, with an ID no plan ever has.
REGISTER_LOG_ID = 0
# An anonymised plan's system ID: the register rules never accept a colon, so no import can
# ever match (and so update) an anonymised plan, or bring one back under a real ID.
ANONYMOUS_ID_PREFIX = "anon:"
# What replaces the text of a required field (an action's description) and a cancel reason.
REMOVED = "Removed under the data retention policy."
# A register upload's row details quote cells (system IDs, localities); its counts stay.
IMPORT_DETAIL_KEYS = ("sample", "errors")

BEFORE_INSIDE_PERIOD = (
    "{before} is inside the retention period: records active on or after {cutoff} are kept "
    "for {years} years ({setting}). Anonymising them cannot be undone; run again with --force "
    "only if the retention policy itself says so."
)
YEARS_INVALID = "{setting} must be a whole number of years, at least 1 (it is “{value}”)."

# Counts in the order the command prints them, with what was done to each.
COUNTED = {
    "plans": "plans: system ID replaced by a token, date issued kept to the month",
    "audits": "audits: section notes, strengths, recommendations and summary removed",
    "moderation_cases": "moderation cases: rationale removed",
    "actions": "actions: description and cancel reason removed",
    "action_updates": "action history entries: notes removed",
    "log_entries": "audit log entries: plan system IDs replaced by the tokens",
    "plan_imports": "register uploads: stored file and row details removed",
}
LOG_MESSAGE = "Applied the data retention policy to records last active before {before}: {summary}."


def retention_years():
    """The retention period in whole years (PORTAL_RETENTION_YEARS), at least 1."""
    value = getattr(settings, YEARS_SETTING, YEARS_DEFAULT)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(YEARS_INVALID.format(setting=YEARS_SETTING, value=value))
    return value


def retention_cutoff(today=None, years=None):
    """The first day inside the retention period: records last active before it are past it.
    29 February counts back to 28 February in a year without one."""
    today = today or timezone.localdate()
    years = retention_years() if years is None else years
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def _start_of(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def plans_past_retention(before):
    """Plans in the register with nothing on or after `before`: not issued, changed by an
    import, sampled into a cycle still running, assigned, audited, moderated, acted on or
    declared a conflict on since. Calibration cases are not plans and never appear here."""
    since = _start_of(before)
    plan = OuterRef("pk")
    recent = [
        SampledPlan.objects.filter(plan=plan, cycle__ends_on__gte=before),
        Assignment.objects.filter(plan=plan, created_at__gte=since),
        Audit.objects.filter(assignment__plan=plan, updated_at__gte=since),
        ModerationCase.objects.filter(plan=plan, updated_at__gte=since),
        Action.objects.filter(
            Q(plan=plan) | Q(audit__assignment__plan=plan) | Q(moderation_case__plan=plan),
            updated_at__gte=since,
        ),
        ConflictDeclaration.objects.filter(plan=plan, declared_at__gte=since),
    ]
    plans = Plan.objects.filter(date_issued__lt=before, updated_at__lt=since)
    for activity in recent:
        plans = plans.exclude(Exists(activity))
    return plans


@dataclass
class RetentionResult:
    """What a run found past the period and anonymised (or, on a dry run, would have)."""

    before: datetime.date
    years: int
    dry_run: bool
    forced: bool = False
    counts: dict = field(default_factory=lambda: dict.fromkeys(COUNTED, 0))

    @property
    def changed(self):
        return any(self.counts.values())


def _anonymous_id():
    return f"{ANONYMOUS_ID_PREFIX}{secrets.token_hex(8)}"


def _plans_anonymise(plan_ids, batch_size=1000):
    """Give each plan not yet anonymised an opaque token for its system ID and keep only the
    month of its issue date; returns {old system ID: token}."""
    tokens = {}
    plans = Plan.objects.filter(pk__in=plan_ids).exclude(system_id__startswith=ANONYMOUS_ID_PREFIX)
    batch = []
    for plan in plans.order_by("pk").iterator(chunk_size=batch_size):
        token = _anonymous_id()
        tokens[plan.system_id] = token
        plan.system_id = token
        plan.date_issued = plan.date_issued.replace(day=1)
        batch.append(plan)
        if len(batch) >= batch_size:
            Plan.objects.bulk_update(batch, ["system_id", "date_issued"])
            batch = []
    Plan.objects.bulk_update(batch, ["system_id", "date_issued"])
    return tokens


def _id_pattern(system_ids):
    """One expression matching any of the IDs as a whole word (EHC-1 but not EHC-10)."""
    longest_first = sorted(system_ids, key=len, reverse=True)
    alternatives = "|".join(re.escape(system_id) for system_id in longest_first)
    return re.compile(rf"(?<![A-Za-z0-9._/-])(?:{alternatives})(?![A-Za-z0-9._/-])")


def _replaced(value, tokens, pattern):
    """A log entry's data with every plan ID in it replaced by the plan's token."""
    if isinstance(value, str):
        return pattern.sub(lambda match: tokens[match.group()], value)
    if isinstance(value, list):
        return [_replaced(item, tokens, pattern) for item in value]
    if isinstance(value, dict):
        return {key: _replaced(item, tokens, pattern) for key, item in value.items()}
    return value


def _log_entries_anonymise(plan_ids, tokens, batch_size=1000):
    """Replace the old system IDs in the titles and data of the log entries of the plans'
    assignments, audits, moderation cases, actions and conflict declarations."""
    if not tokens:
        return 0
    pattern = _id_pattern(tokens)
    related = {
        Assignment: Assignment.objects.filter(plan__in=plan_ids),
        Audit: Audit.objects.filter(assignment__plan__in=plan_ids),
        ModerationCase: ModerationCase.objects.filter(plan__in=plan_ids),
        Action: _actions_of(plan_ids),
        ConflictDeclaration: ConflictDeclaration.objects.filter(plan__in=plan_ids),
    }
    changed = 0
    for model, objects in related.items():
        object_ids = [str(pk) for pk in objects.values_list("pk", flat=True)]
        content_type = ContentType.objects.get_for_model(model)
        for start in range(0, len(object_ids), batch_size):
            entries = ModelLogEntry.objects.filter(
                content_type=content_type, object_id__in=object_ids[start : start + batch_size]
            )
            batch = []
            for entry in entries:
                label = pattern.sub(lambda match: tokens[match.group()], entry.label)
                data = _replaced(entry.data, tokens, pattern)
                if (label, data) != (entry.label, entry.data):
                    entry.label, entry.data = label, data
                    batch.append(entry)
            ModelLogEntry.objects.bulk_update(batch, ["label", "data"])
            changed += len(batch)
    return changed


def _actions_of(plan_ids):
    return Action.objects.filter(
        Q(plan__in=plan_ids)
        | Q(audit__assignment__plan__in=plan_ids)
        | Q(moderation_case__plan__in=plan_ids)
    )


def _plan_imports_anonymise(before):
    """Drop the stored files and row details of register uploads made before `before`; the
    record of who imported what when, and the counts, stay. Files go once the run commits."""
    uploads = PlanImport.objects.filter(
        uploaded_at__lt=_start_of(before),
        status__in=[PlanImport.Status.DONE, PlanImport.Status.FAILED],
    )
    changed = 0
    # A few uploads a month: read in Python rather than query inside their JSON.
    for upload in uploads.order_by("pk"):
        if not upload.file and not any(upload.result.get(key) for key in IMPORT_DETAIL_KEYS):
            continue
        if upload.file:
            storage, name = upload.file.storage, upload.file.name
            transaction.on_commit(lambda storage=storage, name=name: storage.delete(name))
        upload.file = ""
        upload.result = {
            **upload.result,
            **{key: [] for key in IMPORT_DETAIL_KEYS if key in upload.result},
        }
        upload.save(update_fields=["file", "result"])
        changed += 1
    return changed


def _anonymise(before, result):
    plan_ids = list(plans_past_retention(before).values_list("pk", flat=True))
    counts = result.counts
    tokens = _plans_anonymise(plan_ids)
    counts["plans"] = len(tokens)
    counts["audits"] = (
        Audit.objects.filter(assignment__plan__in=plan_ids)
        .filter(~Q(strengths="") | ~Q(recommendations="") | ~Q(summary="") | ~Q(section_notes={}))
        .update(strengths="", recommendations="", summary="", section_notes={})
    )
    counts["moderation_cases"] = (
        ModerationCase.objects.filter(plan__in=plan_ids).exclude(rationale="").update(rationale="")
    )
    actions = _actions_of(plan_ids)
    counts["actions"] = (
        Action.objects.filter(pk__in=actions.values("pk"))
        .filter(~Q(description=REMOVED) | ~Q(cancel_reason__in=["", REMOVED]))
        .update(
            description=REMOVED,
            cancel_reason=Case(When(cancel_reason="", then=Value("")), default=Value(REMOVED)),
        )
    )
    counts["action_updates"] = (
        ActionUpdate.objects.filter(action__in=actions.values("pk"))
        .exclude(note="")
        .update(note="")
    )
    counts["log_entries"] = _log_entries_anonymise(plan_ids, tokens)
    counts["plan_imports"] = _plan_imports_anonymise(before)


def retention_apply(*, before=None, dry_run=False, force=False, user=None, today=None):
    """Anonymise everything past the retention period (last active before `before`, by
    default the start of the period) in one transaction, and log the counts. A dry run does
    the same work and rolls it back, so its counts are exactly what a real run would change.
    Raises ValueError (BEFORE_INSIDE_PERIOD) for a `before` inside the period unless forced:
    anonymising cannot be undone."""
    years = retention_years()
    cutoff = retention_cutoff(today, years)
    before = before or cutoff
    if before > cutoff and not force:
        raise ValueError(
            BEFORE_INSIDE_PERIOD.format(
                before=before.isoformat(),
                cutoff=cutoff.isoformat(),
                years=years,
                setting=YEARS_SETTING,
            )
        )
    result = RetentionResult(before=before, years=years, dry_run=dry_run, forced=before > cutoff)
    with transaction.atomic():
        _anonymise(before, result)
        if dry_run:
            transaction.set_rollback(True)
        elif result.changed:
            log(
                instance=Plan(pk=REGISTER_LOG_ID),
                action=RETENTION_ACTION,
                user=user,
                title="Plan register",
                data={
                    "before": before.isoformat(),
                    "years": years,
                    "forced": result.forced,
                    "counts": result.counts,
                },
            )
    return result


def retention_summary(counts):
    """The counts in words, as the log and the command show them."""
    return "; ".join(f"{counts.get(name, 0)} {COUNTED[name]}" for name in COUNTED)


class RetentionLogFormatter(LogFormatter):
    """Shows a retention run in Wagtail's history with its counts."""

    label = "Apply data retention"

    def format_message(self, log_entry):
        data = log_entry.data
        before = datetime.date.fromisoformat(data["before"])
        return LOG_MESSAGE.format(
            before=date_format(before, "j F Y"), summary=retention_summary(data["counts"])
        )
