from django.apps import AppConfig


class BestviewConfig(AppConfig):
    name = "contactpoint.bestview"
    label = "bestview"
