"""The console shows every refusal in one place (loa.console.refusals): the Vietnamese message on the page or as a
flash, and one log line — never a traceback or a server error."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from django.test import Client

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.units.models import Unit


def _records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.INFO and r.name.startswith(("loa", "django"))]


def test_access_denied_is_the_403_page_and_one_log_line_without_traceback(
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    caplog: pytest.LogCaptureFixture,
) -> None:
    viewer = client_for(make_user("xem", Role.VIEWER, tree["a"]))
    with caplog.at_level(logging.INFO):
        r = viewer.post("/units/06652/zones/", {"name": "Thôn 3", "kind": "thon"})
    assert r.status_code == 403 and "không có quyền" in r.content.decode()
    records = _records(caplog)
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].exc_info is None, "a refusal is logged without a traceback"
    assert "permission_denied" in records[0].getMessage()


def test_a_refused_form_post_flashes_the_message_on_the_page_it_came_from(
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    caplog: pytest.LogCaptureFixture,
) -> None:
    admin = make_user("quantri", Role.SYSTEM_ADMIN)
    person = make_user("canbo", Role.VIEWER, tree["a"])
    console = client_for(admin)
    page = f"/users/{person.pk}/"
    with caplog.at_level(logging.INFO):
        r = console.post(
            f"/users/{person.pk}/roles/",
            {"role": "khong-co-vai-tro-nay", "unit": "06652"},
            HTTP_REFERER=f"http://testserver{page}",
        )
    assert r.status_code == 302 and r["Location"].endswith(page)
    records = _records(caplog)
    assert len(records) == 1 and records[0].exc_info is None, [r.getMessage() for r in records]
    shown = console.get(page).content.decode()
    assert "Vai trò" in shown and "không hợp lệ" in shown


def test_a_refused_htmx_post_is_sent_back_with_the_message(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    manager = client_for(make_user("vanhanh", Role.COMMUNE_OPERATOR, tree["a"]))
    r = manager.post(
        "/units/06652/deactivate/", HTTP_HX_REQUEST="true", HTTP_REFERER="http://testserver/units/06652/"
    )
    assert r.status_code == 204 and r["HX-Redirect"] == "http://testserver/units/06652/"
    assert "Chỉ xóa được thôn/bản/tổ dân phố." in manager.get("/units/06652/").content.decode()
