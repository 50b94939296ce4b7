from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "loa.api"
    label = "api"
