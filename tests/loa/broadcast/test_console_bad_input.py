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
    programme = Programme.objects.create(unit=tree["a"], title="Chương trình", state=Programme.State.APPROVED)
    form = {"source": f"programme:{programme.pk}", "title": "Lịch sáng", "when": "daily", "times": "25:99"}
    response = console.post("/broadcast/schedules/new/", form)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Giờ “25:99” không hợp lệ" in page and "Lịch sáng" in page and "25:99" in page
    response = console.post("/broadcast/schedules/new/", form | {"source": "programme:²"})
    assert response.status_code == 400 and "Chọn nội dung phát" in response.content.decode()
    for bad in ({"valid_from": "31/02/2026"}, {"plays": "²"}, {"adv_volume": "x"}):
        response = console.post("/broadcast/schedules/new/", form | {"times": "06:00"} | bad)
        assert response.status_code == 400, bad
    # it is in the dd/mm/yyyy form; the day is not in the calendar (review 2026-12-05 item 3)
    response = console.post(
        "/broadcast/schedules/new/", form | {"times": "06:00", "valid_from": "31/02/2026"}
    )
    page = response.content.decode()
    assert "Ngày 31/02/2026 không có trong lịch" in page and "không phải ngày dạng" not in page
    assert not Schedule.objects.exists()


def test_emergency_form(console: Client) -> None:
    form = {"unit": "06652", "text": "Lũ về", "bulletin": "²"}
    response = console.post("/broadcast/emergency/", form)  # the confirmation, naming what it reaches
    assert response.status_code == 200
    assert "1 xã/phường, 0 cụm loa" in response.content.decode()
    response = console.post("/broadcast/emergency/", form | {"step": "confirm", "devices": "0"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "TOTP" in page and "Lũ về" in page


@pytest.mark.parametrize("query", ["since=9999-12-31", "since=0001-01-01&until=0001-01-02", "schedule=²"])
def test_proof_page_odd_queries(console: Client, query: str) -> None:
    assert console.get(f"/broadcast/proof/?{query}").status_code == 200
