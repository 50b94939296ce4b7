from django.apps import AppConfig


class PollsConfig(AppConfig):
    name = "loa.citizen.polls"
    label = "polls"
