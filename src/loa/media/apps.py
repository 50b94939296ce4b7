from django.apps import AppConfig


class MediaConfig(AppConfig):
    name = "loa.media"
    label = "media"
