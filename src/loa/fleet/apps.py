from django.apps import AppConfig


class FleetConfig(AppConfig):
    name = "loa.fleet"
    label = "fleet"
