from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "loa.analytics"
    label = "analytics"
