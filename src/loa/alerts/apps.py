from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "loa.alerts"
    label = "alerts"
