from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "loa.gateway"
    label = "gateway"
