from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "contactpoint.audit"
    label = "audit"
