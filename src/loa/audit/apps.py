from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "loa.audit"
    verbose_name = "Nhật ký kiểm toán"
    label = "audit"
