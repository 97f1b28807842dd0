"""Signals other apps listen to. audit_submitted is sent inside audit_submit's transaction,
so a receiver's writes (training marking a calibration attempt) stand or fall with it."""

from django.dispatch import Signal

# Sent with `audit` (submitted, grades recorded) and `user`.
audit_submitted = Signal()
# Sent with `case` when a moderation case closes with its moderated grade.
moderation_closed = Signal()
