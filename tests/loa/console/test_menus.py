"""Each role sees its own console (issue 19, item 8): the menu comes from the checks the pages make, offers no
module that is not built, and no menu link of any role ends on a refusal (403) or a not-found (404) page."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.units.models import Unit

NAV = re.compile(r'<nav id="nav".*?</nav>', re.S)
LINK = re.compile(r'<a href="([^"]+)"[^>]*>([^<]+)</a>')
CARD = re.compile(r'<a class="card" href="([^"]+)">')
TABS = re.compile(r'<(?:nav class="crumbs" aria-label="Cụm loa"|p class="tabs")>.*?</(?:nav|p)>', re.S)


def _menu(client: Client) -> dict[str, str]:
    page = client.get("/")
    assert page.status_code == 200
    nav = NAV.search(page.content.decode())
    assert nav is not None
    return {label.strip(): href for href, label in LINK.findall(nav.group(0))}


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_menu_link_of_every_role_opens(
    role: str, tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    unit = (
        None
        if role == Role.SYSTEM_ADMIN
        else (tree["province"] if role != Role.COMMUNE_OPERATOR else tree["a"])
    )
    client = client_for(make_user(f"u-{role}", role, unit))
    menu = _menu(client)
    assert menu, role
    for label, href in menu.items():
        status = client.get(href).status_code
        assert status not in (403, 404), f"{role}: menu link {label} ({href}) answers {status}"
    # boards (issue 9) are built and in the menu; a module joins the menu only once its pages exist
    assert not {"Người dân", "Báo cáo"} & set(menu), "modules not built are not in the menu"


def test_menus_differ_by_role(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    def menu(role: str, unit: Any) -> set[str]:
        return set(_menu(client_for(make_user(f"m-{role}", role, unit))))

    viewer, technician = menu(Role.VIEWER, tree["a"]), menu(Role.TECHNICIAN, tree["a"])
    auditor, operator = menu(Role.AUDITOR, tree["province"]), menu(Role.COMMUNE_OPERATOR, tree["a"])
    assert "Nhật ký" in auditor and "Nhật ký" not in operator
    assert "Người dùng" not in viewer and "Mã truy cập API" not in viewer
    assert "Bản tin" not in technician and "Cụm loa" in technician
    assert "Chờ duyệt" not in operator and "Chờ duyệt" in menu(Role.APPROVER, tree["a"])
