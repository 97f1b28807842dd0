from django.apps import AppConfig


class FrameworkConfig(AppConfig):
    name = "portal.framework"
    label = "framework"
    verbose_name = "Quality Assurance Framework"

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import security  # noqa: F401 - connects the sign-in log, registers its check
        from .roles import roles_sync_after_migrate

        post_migrate.connect(roles_sync_after_migrate, sender=self)
