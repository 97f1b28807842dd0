from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "portal.training"
    label = "training"
    verbose_name = "Training and accreditation"

    def ready(self):
        # Wagtail refuses log entries for actions nobody registered; services connects the
        # receiver that marks calibration attempts when their audit is submitted.
        from . import audit_log, services  # noqa: F401
