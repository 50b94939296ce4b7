from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "loa.accounts"
    verbose_name = "Tài khoản và phân quyền"
    label = "accounts"

    def ready(self) -> None:
        from loa.accounts import signals  # noqa: F401
