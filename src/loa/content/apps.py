from django.apps import AppConfig


class ContentConfig(AppConfig):
    name = "loa.content"
    label = "content"
