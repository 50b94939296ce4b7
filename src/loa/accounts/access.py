"""The permission chokepoints. Every view and API endpoint authorises through these ``access_*`` functions.

``access_unit`` guards one unit (and objects that belong to it); ``access_units`` gives the units a user may
act on, for lists and pickers; ``access_system`` guards actions that belong to no unit.
A unit the user may not even view answers "not found", so that other communes' existence does not leak.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from loa.accounts.roles import ROLE_ACTIONS, VIEW, Role
from loa.accounts.system import SystemActor
from loa.errors import Refusal
from loa.units.models import Unit, UnitQuerySet

if TYPE_CHECKING:
    from loa.accounts.models import ApiToken


class AccessDenied(Refusal, PermissionDenied):
    """The user may see the object but may not do this action: 403 (Django's PermissionDenied for the console)."""

    status = 403

    def __init__(
        self, message: str = "Bạn không có quyền thực hiện thao tác này.", code: str = "permission_denied"
    ) -> None:
        super().__init__(code, message)


class UnitNotFound(Refusal, Http404):
    """The unit (or an object of it) does not exist or is outside the user's scope: 404 (Django's Http404)."""

    status = 404

    def __init__(
        self,
        message: str = "Không tìm thấy đơn vị, hoặc đơn vị nằm ngoài phạm vi của bạn.",
        code: str = "unit_not_found",
    ) -> None:
        super().__init__(code, message)


@dataclass(frozen=True)
class Grant:
    role: str
    path: str | None  # None: the whole system


def grants(user: Any) -> list[Grant]:
    """The user's role assignments, read once per request and cached on the user object. The system actor
    (:data:`loa.accounts.system.SYSTEM`, background jobs) holds the system-wide grant."""
    if isinstance(user, SystemActor):
        return [Grant(role=Role.SYSTEM_ADMIN, path=None)]
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cached = getattr(user, "_loa_grants", None)
    if cached is None:
        cached = [
            Grant(role=ra.role, path=ra.unit.path if ra.unit_id else None)
            for ra in user.role_assignments.select_related("unit")
        ]
        if user.is_superuser and not any(g.role == Role.SYSTEM_ADMIN for g in cached):
            cached.append(Grant(role=Role.SYSTEM_ADMIN, path=None))
        user._loa_grants = cached
    return cached


def _token_allows(token: ApiToken | None, action: str) -> bool:
    return token is None or token.allows(action)


def _grants_for(user: Any, action: str, token: ApiToken | None) -> list[Grant]:
    if not _token_allows(token, action):
        return []
    return [g for g in grants(user) if action in ROLE_ACTIONS.get(g.role, frozenset())]


def can(user: Any, unit: Unit, action: str, token: ApiToken | None = None) -> bool:
    return any(g.path is None or unit.path.startswith(g.path) for g in _grants_for(user, action, token))


def access_unit(user: Any, unit: Unit | None, action: str, token: ApiToken | None = None) -> Unit:
    """Allow ``action`` on ``unit`` or raise: 404 when the unit is outside every scope, 403 otherwise."""
    if unit is None or not can(user, unit, VIEW, None):
        raise UnitNotFound()
    if not can(user, unit, action, token):
        raise AccessDenied()
    return unit


def access_unit_code(user: Any, code: str, action: str, token: ApiToken | None = None) -> Unit:
    """Like :func:`access_unit`, from a unit code typed by a person or sent by a client."""
    unit = Unit.objects.filter(code=str(code).strip()).select_related("parent").first()
    return access_unit(user, unit, action, token)


def access_units(user: Any, action: str, token: ApiToken | None = None) -> UnitQuerySet:
    """The units on which ``user`` may do ``action``: one query, whatever the number of grants."""
    relevant = _grants_for(user, action, token)
    if any(g.path is None for g in relevant):
        return Unit.objects.all()
    if not relevant:
        return Unit.objects.none()
    condition = Q()
    for g in relevant:
        condition |= Q(path__startswith=g.path)
    return Unit.objects.filter(condition)


def access_system(user: Any, action: str, token: ApiToken | None = None) -> None:
    """Allow an action that belongs to no unit (system settings, the unit import) to system admins only."""
    if not any(g.path is None for g in _grants_for(user, action, token)):
        raise AccessDenied("Chỉ quản trị hệ thống mới được thực hiện thao tác này.")


def scope_roots(user: Any, action: str = VIEW) -> list[Unit]:
    """The top units of the user's scope for ``action`` (for the unit picker)."""
    relevant = _grants_for(user, action, None)
    if any(g.path is None for g in relevant):
        return list(Unit.objects.provinces())
    paths = sorted({g.path for g in relevant if g.path})
    roots = [p for p in paths if not any(p != q and p.startswith(q) for q in paths)]
    return list(Unit.objects.filter(path__in=roots))


def access_anywhere(user: Any, action: str, token: ApiToken | None = None) -> None:
    """Allow an action about the user's own things (their API tokens) if any of their roles grants it."""
    if not _grants_for(user, action, token):
        raise AccessDenied()


def is_system_admin(user: Any) -> bool:
    return any(g.path is None for g in grants(user))


def access_role_grant(
    user: Any, grantee: Any, role: str, unit: Unit | None, token: ApiToken | None = None
) -> Any:
    """May ``user`` give ``grantee`` the role ``role`` on ``unit``? Returns the unit the role will apply to (None:
    the whole system) or refuses: the system-admin role only by a system admin, any other role with ``user.manage``
    on the unit, and nobody grants a role to themselves."""
    if role == Role.SYSTEM_ADMIN:
        access_system(user, "user.manage", token)
        unit = None
    elif unit is not None:
        access_unit(user, unit, "user.manage", token)
    if getattr(user, "pk", None) is not None and getattr(user, "pk", None) == getattr(grantee, "pk", None):
        raise Refusal("self_grant", "Không thể tự gán vai trò cho chính mình.", 400)
    return unit


def access_role_revoke(user: Any, assignment: Any, token: ApiToken | None = None) -> Any:
    """The role assignment, if ``user`` may revoke it (as :func:`access_role_grant` for giving it)."""
    if assignment.role == Role.SYSTEM_ADMIN:
        access_system(user, "user.manage", token)
    else:
        access_unit(user, assignment.unit, "user.manage", token)
    return assignment
