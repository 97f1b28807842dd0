from django.apps import AppConfig


class LocalOfferConfig(AppConfig):
    name = "portal.local_offer"
    label = "local_offer"
    verbose_name = "Local Offer"
