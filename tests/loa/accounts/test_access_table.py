"""The role table, checked as a table: every role × every action × where the role is held."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from loa.accounts.access import access_system, access_units, can
from loa.accounts.models import User
from loa.accounts.roles import ACTIONS, ROLE_ACTIONS, TWO_FACTOR_ROLES, Role
from loa.units.models import Unit

SCOPED_ROLES = [r for r in Role if r != Role.SYSTEM_ADMIN]


@pytest.mark.parametrize("role", SCOPED_ROLES)
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_role_on_commune_a_covers_its_subtree_only(
    role: str, action: str, tree: dict[str, Unit], make_user: Callable[..., User]
) -> None:
    user = make_user("u", role, tree["a"])
    allowed = action in ROLE_ACTIONS[role]
    assert can(user, tree["a"], action) is allowed
    assert can(user, tree["zone_a"], action) is allowed
    assert can(user, tree["b"], action) is False
    assert can(user, tree["zone_b"], action) is False
    assert can(user, tree["province"], action) is False
    assert can(user, tree["other_commune"], action) is False
    codes = set(access_units(user, action).values_list("code", flat=True))
    assert codes == ({"06652", "06652.001"} if allowed else set())


@pytest.mark.parametrize("role", SCOPED_ROLES)
def test_role_on_province_covers_all_its_communes_but_not_another_province(
    role: str, tree: dict[str, Unit], make_user: Callable[..., User]
) -> None:
    user = make_user("u", role, tree["province"])
    assert can(user, tree["b"], "unit.view") and can(user, tree["zone_a"], "unit.view")
    assert not can(user, tree["other_commune"], "unit.view")
    with pytest.raises(Exception, match="quản trị hệ thống"):
        access_system(user, "settings.manage")


def test_system_admin_covers_everything(tree: dict[str, Unit], make_user: Callable[..., User]) -> None:
    user = make_user("root", Role.SYSTEM_ADMIN)
    assert all(can(user, u, a) for u in tree.values() for a in ACTIONS)
    access_system(user, "settings.manage")


def test_inactive_users_have_no_rights(tree: dict[str, Unit], make_user: Callable[..., User]) -> None:
    user = make_user("gone", Role.PROVINCE_ADMIN, tree["province"], is_active=False)
    assert not can(user, tree["a"], "unit.view")


def test_two_factor_roles() -> None:
    assert {Role.SYSTEM_ADMIN, Role.PROVINCE_ADMIN, Role.APPROVER} <= TWO_FACTOR_ROLES
