from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "loa.console"
    label = "console"
