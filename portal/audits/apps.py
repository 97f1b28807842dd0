from django.apps import AppConfig


class AuditsConfig(AppConfig):
    name = "portal.audits"
    label = "audits"
    verbose_name = "Audits"

    def ready(self):
        # Wagtail refuses log entries for actions nobody registered; moderation and facts
        # connect the receivers that queue submitted audits and keep report rows current.
        from . import audit_log, facts, moderation  # noqa: F401
