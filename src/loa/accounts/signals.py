"""Sign-ins, failed sign-ins and lockouts go to the audit log."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from loa.audit.log import record


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record("auth.login", actor=user, request=request, obj=user, object_type="accounts.user")


@receiver(user_login_failed)
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    username = str(credentials.get("username", ""))[:150]
    record(
        "auth.login_failed",
        request=request,
        actor=None,
        data={"username": username},
        message=f"Đăng nhập sai: {username}",
    )


@receiver(user_locked_out)
def _locked_out(
    sender: Any, request: Any = None, username: str = "", ip_address: str = "", **kwargs: Any
) -> None:
    record(
        "auth.locked_out",
        request=request,
        actor=None,
        data={"username": username},
        message=f"Khóa tạm thời: {username}",
    )
