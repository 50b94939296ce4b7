"""Broadcast console pages on bad input: a 400 with the Vietnamese message and the typed text, never a 500.

"²" passes ``str.isdigit()`` but ``int()`` refuses it; a date at the end of the calendar overflows when a day
is added: both were server errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.broadcast.models import Programme, Schedule
from loa.units.models import Unit


@pytest.fixture
def console(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> Client:
    client = client_for(make_user("tinh", Role.PROVINCE_ADMIN, tree["province"]))
    client.post("/pick-unit/", {"unit": "06652"})
    return client


def test_programme_form(console: Client) -> None:
    response = console.post("/broadcast/programmes/new/", {"title": "Bản tin sáng", "relay_source": "²"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Chương trình cần ít nhất một mục." in page and 'value="Bản tin sáng"' in page
    assert not Programme.objects.exists()


def test_schedule_form(console: Client, tree: dict[str, Unit]) -> None:
    programme = Programme.objects.create(unit=tree["a"], title="Chương trình")
    form = {"programme": programme.pk, "title": "Lịch sáng", "kind": "daily", "times": "25:99"}
    response = console.post("/broadcast/schedules/new/", form)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Giờ “25:99” không hợp lệ" in page and "Lịch sáng" in page and "25:99" in page
    response = console.post("/broadcast/schedules/new/", form | {"programme": "²"})
    assert response.status_code == 400 and "Chọn một chương trình." in response.content.decode()
    assert not Schedule.objects.exists()


def test_emergency_form(console: Client) -> None:
    response = console.post("/broadcast/emergency/", {"unit": "06652", "text": "Lũ về", "bulletin": "²"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "TOTP" in page and "Lũ về" in page


@pytest.mark.parametrize("query", ["since=9999-12-31", "since=0001-01-01&until=0001-01-02", "schedule=²"])
def test_proof_page_odd_queries(console: Client, query: str) -> None:
    assert console.get(f"/broadcast/proof/?{query}").status_code == 200
