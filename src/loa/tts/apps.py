from django.apps import AppConfig


class TtsConfig(AppConfig):
    name = "loa.tts"
    label = "tts"
