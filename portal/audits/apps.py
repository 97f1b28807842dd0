from django.apps import AppConfig


class AuditsConfig(AppConfig):
    name = "portal.audits"
    label = "audits"
    verbose_name = "Audits"
