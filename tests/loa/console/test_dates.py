"""One date format in the console (issue 19, item 9): days are typed as dd/mm/yyyy (a moment as dd/mm/yyyy hh:mm)
on the bulletin editor, the library filter and a device's dates, and shown back the same way; ISO still reads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.test import Client
from django.utils import timezone

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.console.dates import day_text, moment_text, parse_day, parse_moment
from loa.content.models import Bulletin
from loa.fleet.models import Device
from loa.units.models import Unit


def test_the_console_reads_and_writes_one_format() -> None:
    assert parse_day("05/12/2026") == parse_day("2026-12-05") == dt.date(2026, 12, 5)
    assert parse_day("31/02/2026") is None and parse_day("") is None and parse_day("hôm qua") is None
    assert (
        parse_moment("06/12/2026 07:30")
        == parse_moment("2026-12-06T07:30")
        == dt.datetime(2026, 12, 6, 7, 30)
    )
    assert parse_moment("06/12/2026") == dt.datetime(2026, 12, 6)
    assert (
        day_text(dt.date(2026, 1, 2)) == "02/01/2026"
        and moment_text(dt.datetime(2026, 1, 2, 7, 5)) == "02/01/2026 07:05"
    )


def test_editor_library_and_device_take_dd_mm_yyyy(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client], db: Any
) -> None:
    operator = client_for(make_user("op", Role.COMMUNE_OPERATOR, tree["a"]))
    form = {"title": "Thông báo họp tổ", "body": "Mời các hộ dự họp.", "field": "4", "content_type": "1",
            "priority": "3", "language": "vie", "receivers": [tree["a"].code],
            "valid_from": "06/12/2030 07:30", "valid_until": "07/12/2030 17:00"}  # fmt: skip
    assert operator.post("/bulletins/new/", form).status_code == 302
    b = Bulletin.objects.get(title="Thông báo họp tổ")
    assert timezone.localtime(b.valid_from).strftime("%d/%m/%Y %H:%M") == "06/12/2030 07:30"
    page = operator.get(f"/bulletins/{b.pk}/edit/").content.decode()
    assert 'value="06/12/2030 07:30"' in page and 'value="07/12/2030 17:00"' in page
    today = timezone.localdate()
    after = (today + dt.timedelta(days=1)).strftime("%d/%m/%Y")
    assert (
        "Thông báo họp tổ"
        in operator.get("/bulletins/", {"date_from": today.strftime("%d/%m/%Y")}).content.decode()
    )
    assert "Thông báo họp tổ" not in operator.get("/bulletins/", {"date_from": after}).content.decode()

    technician = client_for(make_user("kt", Role.TECHNICIAN, tree["a"]))
    device = Device.objects.create(device_id="loa-00000000a0a1", unit=tree["a"], serial="A-1")
    technician.post(f"/fleet/d/{device.device_id}/edit/", {"warranty_until": "31/12/2027"})
    device.refresh_from_db()
    assert device.warranty_until == dt.date(2027, 12, 31)
    assert 'value="31/12/2027"' in technician.get(f"/fleet/d/{device.device_id}/").content.decode()
