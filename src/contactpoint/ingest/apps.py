from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "contactpoint.ingest"
    label = "ingest"
