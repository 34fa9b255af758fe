from django.apps import AppConfig


class FeedsConfig(AppConfig):
    name = "contactpoint.feeds"
    label = "feeds"
