from django.apps import AppConfig


class CitizenConfig(AppConfig):
    name = "loa.citizen"
    label = "citizen"
