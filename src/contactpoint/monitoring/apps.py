from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "contactpoint.monitoring"
    label = "monitoring"
