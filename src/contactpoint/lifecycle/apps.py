from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    name = "contactpoint.lifecycle"
    label = "lifecycle"
