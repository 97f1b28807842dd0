from django.apps import AppConfig


class AuditsConfig(AppConfig):
    name = "portal.audits"
    label = "audits"
    verbose_name = "Audits"

    def ready(self):
        # Wagtail refuses log entries for actions nobody registered; moderation connects
        # the receiver that queues submitted audits for moderation.
        from . import audit_log, moderation  # noqa: F401
