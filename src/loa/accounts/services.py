"""Users, role assignments and API tokens: ``check_*`` validates, ``do_*`` changes state and audits."""

from __future__ import annotations

import re
import secrets
import time
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from loa.accounts.access import AccessDenied, access_system, access_units
from loa.accounts.models import ApiToken, RoleAssignment, User
from loa.accounts.roles import ACTIONS, Role
from loa.audit.log import record
from loa.errors import Refusal
from loa.units.models import Unit


class AccountError(Refusal):
    """A refused change to users, roles or API tokens."""


USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,62}$")


def one_time_password() -> str:
    """A random password to hand over once; the user must replace it at first sign-in."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


def visible_users(viewer: Any, token: ApiToken | None = None) -> QuerySet[User]:
    """Users holding a role somewhere in the viewer's ``user.view`` scope (and the viewer)."""
    users = get_user_model().objects.all()
    try:
        access_system(viewer, "user.view", token)
        return users
    except AccessDenied:
        pass
    units = access_units(viewer, "user.view", token)
    return users.filter(Q(role_assignments__unit__in=units) | Q(pk=viewer.pk)).distinct()


def check_username(username: str) -> str:
    username = (username or "").strip().lower()
    if not USERNAME_RE.match(username):
        raise AccountError(
            "username_invalid",
            "Tên đăng nhập cần 3–63 ký tự: chữ thường không dấu, số, dấu chấm, gạch dưới hoặc gạch ngang.",
        )
    if get_user_model().objects.filter(username=username).exists():
        raise AccountError("username_taken", f"Tên đăng nhập \u201c{username}\u201d đã có người dùng.")
    return username


def do_create_user(
    username: str, full_name: str, *, actor: Any, request: Any = None, email: str = ""
) -> tuple[User, str]:
    """Create a user with a one-time password (returned once, never stored in clear)."""
    username = check_username(username)
    password = one_time_password()
    with transaction.atomic():
        user = get_user_model().objects.create_user(
            username=username,
            password=password,
            email=email,
            full_name=full_name.strip()[:200],
            must_change_password=True,
        )
        record(
            "user.created",
            actor=actor,
            request=request,
            obj=user,
            object_type="accounts.user",
            message=f"Tạo người dùng {username}",
        )
    return user, password


def check_role(role: str) -> str:
    if role not in Role.values:
        allowed = ", ".join(Role.values)
        raise AccountError("role_invalid", f"Vai trò không hợp lệ. Chọn một trong: {allowed}.")
    return role


def do_assign_role(
    user: User,
    role: str,
    unit: Unit | None,
    *,
    actor: Any,
    request: Any = None,
    token: ApiToken | None = None,
) -> RoleAssignment:
    """Give ``user`` the role on ``unit``; the caller has authorised it with ``access_role_grant``."""
    role = check_role(role)
    if role == Role.SYSTEM_ADMIN:
        unit = None
    elif unit is None:
        raise AccountError("unit_required", "Vai trò này phải gắn với một đơn vị.")
    with transaction.atomic():
        assignment, created = RoleAssignment.objects.get_or_create(
            user=user, role=role, unit=unit, defaults={"granted_by": actor}
        )
        if created:
            record(
                "role.granted",
                actor=actor,
                request=request,
                unit=unit,
                object_type="accounts.user",
                object_id=user.pk,
                message=f"Gán vai trò {role} cho {user.username}",
                data={"user": user.username, "role": role, "unit": unit.code if unit else None},
            )
    return assignment


def do_revoke_role(
    assignment: RoleAssignment, *, actor: Any, request: Any = None, token: ApiToken | None = None
) -> None:
    """Revoke a role; the caller has authorised it with ``access_role_revoke``."""
    with transaction.atomic():
        data = {
            "user": assignment.user.username,
            "role": assignment.role,
            "unit": assignment.unit.code if assignment.unit else None,
        }
        record(
            "role.revoked",
            actor=actor,
            request=request,
            unit=assignment.unit,
            object_type="accounts.user",
            object_id=assignment.user_id,
            message=f"Thu hồi vai trò {assignment.role} của {assignment.user.username}",
            data=data,
        )
        assignment.delete()


def check_scopes(scopes: list[str]) -> list[str]:
    scopes = sorted({s.strip() for s in scopes if s.strip()})
    if not scopes:
        raise AccountError(
            "scopes_required", "Chọn ít nhất một phạm vi cho mã truy cập (hoặc \u201c*\u201d)."
        )
    unknown = [s for s in scopes if s != "*" and s not in ACTIONS]
    if unknown:
        raise AccountError("scope_invalid", f"Phạm vi không hợp lệ: {', '.join(unknown)}.")
    return scopes


def do_create_token(
    user: Any, name: str, scopes: list[str], expires_at: datetime | None, *, request: Any = None
) -> tuple[ApiToken, str]:
    name = " ".join((name or "").split())
    if not name or len(name) > 100:
        raise AccountError("token_name_invalid", "Đặt tên cho mã truy cập (tối đa 100 ký tự).")
    scopes = check_scopes(scopes)
    if expires_at is not None and expires_at <= timezone.now():
        raise AccountError("token_expiry_past", "Thời điểm hết hạn phải ở tương lai.")
    key = ApiToken.new_key()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=key[:8],
            key_hash=ApiToken.hash_key(key),
            scopes=scopes,
            expires_at=expires_at,
        )
        record(
            "token.created",
            actor=user,
            request=request,
            obj=token,
            object_type="accounts.apitoken",
            message=f"Tạo mã truy cập {name}",
            data={"scopes": scopes},
        )
    return token, key


TWO_FACTOR_FOR_TOKENS = (
    "Vai trò của bạn bắt buộc xác thực hai bước nhưng tài khoản chưa có ứng dụng xác thực (TOTP) đã xác nhận. "
    "Hãy đăng nhập bảng điều khiển, bật xác thực hai bước rồi tạo mã truy cập mới."
)


def check_token_second_factor(user: Any) -> None:
    """One rule for sessions and tokens: a user whose roles require two-factor must have a confirmed TOTP device.

    A session proves the second factor at sign-in (:class:`loa.accounts.middleware.TwoFactorRequiredMiddleware`);
    a token cannot, so it is refused outright while its user holds such a role without a confirmed device (for
    instance after a promotion: the grant also revoked the user's tokens, see :func:`do_revoke_user_tokens`).
    """
    if not getattr(user, "needs_two_factor", False):
        return
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise AccountError("two_factor_required", TWO_FACTOR_FOR_TOKENS, 403)


# Why every token of a user is revoked (the audit entry says which).
TOKEN_REVOCATION_REASONS = {
    "password_changed": "đổi mật khẩu",
    "password_reset": "đặt lại mật khẩu",
    "deactivated": "khóa tài khoản",
    "rights_raised": "được cấp thêm quyền",
}


def do_revoke_user_tokens(user: Any, *, reason: str, actor: Any = None, request: Any = None) -> int:
    """Revoke every usable token of ``user`` (password change or reset, deactivation, a grant that raises rights).

    A token an attacker made with a stolen session must not outlive the recovery step, and a token made before a
    promotion must not carry the new rights past the new role's two-factor requirement. Audited when any was
    revoked; the number revoked."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            ApiToken.objects.filter(user_id=user.pk, revoked_at__isnull=True).values_list("pk", flat=True)
        )
        if not ids:
            return 0
        ApiToken.objects.filter(pk__in=ids).update(revoked_at=now)
        why = TOKEN_REVOCATION_REASONS.get(reason, reason)
        record(
            "token.revoked_all",
            actor=actor,
            request=request,
            obj=user,
            object_type="accounts.user",
            message=f"Thu hồi {len(ids)} mã truy cập API của {user.username} do {why}",
            data={"user": user.username, "reason": reason, "tokens": ids},
        )
    return len(ids)


def do_change_password(user: Any, new_password: str, *, request: Any = None) -> None:
    """The user's own new password (checked by the form: the current one, or the forced first change).

    Every API token of the user is revoked in the same transaction (the signal on the user's save)."""
    with transaction.atomic():
        forced = bool(user.must_change_password)
        user.set_password(new_password)
        user.must_change_password = False
        user._loa_credential_change = "password_changed"
        user.save(update_fields=["password", "must_change_password"])
        record(
            "auth.password_changed",
            actor=user,
            request=request,
            obj=user,
            object_type="accounts.user",
            data={"first_change": forced},
        )


def do_revoke_token(token: ApiToken, *, actor: Any, request: Any = None) -> None:
    """Revoke an API token; the caller has found it among the actor's own tokens."""
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record(
            "token.revoked",
            actor=actor,
            request=request,
            obj=token,
            object_type="accounts.apitoken",
            message=f"Thu hồi mã truy cập {token.name}",
        )


# ---- two-factor enrolment --------------------------------------------------------------------------------

RECOVERY_CODES = 10
TOTP_NAME = "Ứng dụng xác thực"


def enrolment_device(user: Any, key_hex: str) -> TOTPDevice:
    """The authenticator app being enrolled, without saving anything: the unconfirmed device an earlier attempt
    saved (it keeps the throttle of wrong codes), else a new one with ``key_hex`` (the key the page showed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice(user=user, key=key_hex, name=TOTP_NAME, confirmed=False)


def check_code_already_used(devices: Any, token: str) -> bool:
    """True when ``token`` is a code one of ``devices`` has already accepted: the same 30-second code typed a
    second time (on another screen, or after signing out and in again). django-otp refuses it as it refuses any
    wrong code — rightly, a code is good once — so the page must not say the code is wrong or blame the phone."""
    token = token.strip()
    if not (token.isdecimal() and len(token) <= 8):
        return False
    for device in devices:
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        totp.time = time.time()
        base = totp.drift
        for offset in range(-device.tolerance, device.tolerance + 1):
            totp.drift = base + offset
            if totp.t() <= device.last_t and totp.token() == int(token):
                return True
    return False


def do_confirm_totp(device: TOTPDevice, token: str, *, request: Any = None) -> list[str] | None:
    """Check one code of the app being enrolled. The first attempt saves the unconfirmed device (so wrong codes
    are throttled); the right code confirms it, replaces the recovery codes and is audited. Returns the recovery
    codes (to show once), or None for a wrong code."""
    if device.pk is None:
        device.save()
    if not device.verify_token(token):  # saves the throttle of a wrong code
        return None
    user = device.user
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        static, _created = StaticDevice.objects.get_or_create(user=user, name="Mã khôi phục")
        static.token_set.all().delete()
        codes = [StaticToken.random_token() for _i in range(RECOVERY_CODES)]
        for code in codes:
            static.token_set.create(token=code)
        record("auth.2fa_enrolled", actor=user, request=request, obj=user, object_type="accounts.user")
    return codes
