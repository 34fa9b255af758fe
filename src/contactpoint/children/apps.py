from django.apps import AppConfig


class ChildrenConfig(AppConfig):
    name = "contactpoint.children"
    label = "children"
