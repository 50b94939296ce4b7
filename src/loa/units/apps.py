from django.apps import AppConfig


class UnitsConfig(AppConfig):
    name = "loa.units"
    verbose_name = "Đơn vị hành chính"
    label = "units"
