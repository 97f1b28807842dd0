from django.apps import AppConfig


class LocalOfferConfig(AppConfig):
    name = "portal.local_offer"
    label = "local_offer"
    verbose_name = "Local Offer"

    def ready(self):
        # Publishing a report page takes its figures.
        from . import signals  # noqa: F401
