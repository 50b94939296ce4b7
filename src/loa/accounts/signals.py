"""Sign-ins, failed sign-ins and lockouts go to the audit log; tokens are revoked when credentials or rights change."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from loa.accounts.models import RoleAssignment
from loa.accounts.services import do_revoke_user_tokens
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


# ---- tokens die with the credentials and rights they were made under ------------------------------------
# Model signals, not only the services: the Django admin (password reset, deactivation, superuser, role inline)
# changes these rows too, and a token must be revoked whichever way the change came.

_WATCHED = ("password", "is_active", "is_superuser")


@receiver(pre_save, sender=settings.AUTH_USER_MODEL)
def _remember_credentials(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    if instance._state.adding or not instance.pk:
        return
    if update_fields is not None and not set(update_fields) & set(_WATCHED):
        return
    before = sender.objects.filter(pk=instance.pk).values(*_WATCHED).first()
    instance._loa_before = before


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def _revoke_tokens_on_user_change(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    before = instance.__dict__.pop("_loa_before", None)
    if created or not before:
        return
    if before["is_active"] and not instance.is_active:
        do_revoke_user_tokens(instance, reason="deactivated")
    elif not before["is_superuser"] and instance.is_superuser:
        do_revoke_user_tokens(instance, reason="rights_raised")
    elif getattr(instance, "_password", None) is not None and before["password"] != instance.password:
        # set_password() was called (a hash upgrade at sign-in leaves _password unset: not a new password)
        reason = getattr(instance, "_loa_credential_change", "password_reset")
        do_revoke_user_tokens(instance, reason=reason)


@receiver(post_save, sender=RoleAssignment)
def _revoke_tokens_on_grant(sender: Any, instance: RoleAssignment, created: bool, **kwargs: Any) -> None:
    if created:
        do_revoke_user_tokens(instance.user, reason="rights_raised", actor=instance.granted_by)
