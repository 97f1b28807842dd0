from django.apps import AppConfig


class AuditsConfig(AppConfig):
    name = "portal.audits"
    label = "audits"
    verbose_name = "Audits"

    def ready(self):
        # Wagtail refuses log entries for actions nobody registered.
        from . import audit_log  # noqa: F401
