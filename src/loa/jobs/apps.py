from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "loa.jobs"
    label = "jobs"
