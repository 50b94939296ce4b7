"""Error pages speak Vietnamese and never leak a stack trace."""

from __future__ import annotations

from collections.abc import Callable

from django.test import Client

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.units.models import Unit


def test_not_found_and_forbidden_pages(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    viewer = client_for(make_user("xem", Role.VIEWER, tree["a"]))
    r = viewer.get("/units/khong-co-ma-nay/")
    assert r.status_code == 404 and "Không tìm thấy trang này" in r.content.decode()
    r = viewer.post("/units/06652/zones/", {"name": "Thôn 3", "kind": "thon"})
    assert r.status_code == 403 and "không có quyền" in r.content.decode()


def test_csrf_failure_is_explained(tree: dict[str, Unit], make_user: Callable[..., User]) -> None:
    client = Client(enforce_csrf_checks=True)
    r = client.post("/accounts/login/", {"username": "a", "password": "b"})
    assert r.status_code == 403 and "Hãy tải lại trang" in r.content.decode()
