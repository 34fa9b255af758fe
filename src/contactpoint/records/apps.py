from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "contactpoint.records"
    label = "records"
