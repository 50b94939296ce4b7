"""Users, role assignments and API tokens: ``check_*`` validates, ``do_*`` changes state and audits."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from loa.accounts.access import AccessDenied, access_system, access_unit, access_units
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
    role = check_role(role)
    if role == Role.SYSTEM_ADMIN:
        access_system(actor, "user.manage", token)
        unit = None
    else:
        if unit is None:
            raise AccountError("unit_required", "Vai trò này phải gắn với một đơn vị.")
        access_unit(actor, unit, "user.manage", token)
    if actor is not None and getattr(actor, "pk", None) == user.pk:
        raise AccountError("self_grant", "Không thể tự gán vai trò cho chính mình.")
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
    if assignment.role == Role.SYSTEM_ADMIN:
        access_system(actor, "user.manage", token)
    else:
        access_unit(actor, assignment.unit, "user.manage", token)
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


def do_revoke_token(token: ApiToken, *, actor: Any, request: Any = None) -> None:
    if token.user_id != getattr(actor, "pk", None):
        raise AccessDenied("Chỉ người tạo mới thu hồi được mã truy cập này.")
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
