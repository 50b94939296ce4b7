from django.apps import AppConfig


class BroadcastConfig(AppConfig):
    name = "loa.broadcast"
    label = "broadcast"
