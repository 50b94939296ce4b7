"""SIM and data-plan expiries coming up (issue 12): the KPI counts the active clusters whose SIM or data plan expired
before today or expires within the next 30, 60, 90 Vietnamese days (cumulative), and each line of it links to the
fleet list filtered to exactly those clusters. Expected lines are written out by hand from the table below."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from django.utils import timezone

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.analytics.kpis import BY_KEY, Period
from loa.broadcast.recurrence import LOCAL_TZ
from loa.fleet.models import Device
from loa.units.models import Unit

# (commune, days from today to the SIM's expiry, to the data plan's; None: not recorded), revoked?
DEVICES = [
    ("a", -1, None, False),  # SIM expired yesterday
    ("a", 0, 31, False),  # SIM expires today: within 30 days; plan in 31 days: within 60
    ("a", 30, 90, False),  # both on the edge of their bucket
    ("b", 91, 61, False),  # SIM not coming up; plan within 90
    ("b", None, -400, False),  # plan long expired
    ("b", -5, 5, True),  # revoked: not counted
]

# unit → the KPI's lines
EXPECTED = {
    "province": {
        "SIM đã hết hạn": 1,
        "SIM hết hạn trong 30 ngày tới": 2,
        "SIM hết hạn trong 60 ngày tới": 2,
        "SIM hết hạn trong 90 ngày tới": 2,
        "Gói cước đã hết hạn": 1,
        "Gói cước hết hạn trong 60 ngày tới": 1,
        "Gói cước hết hạn trong 90 ngày tới": 3,
    },
    "a": {
        "SIM đã hết hạn": 1,
        "SIM hết hạn trong 30 ngày tới": 2,
        "SIM hết hạn trong 60 ngày tới": 2,
        "SIM hết hạn trong 90 ngày tới": 2,
        "Gói cước hết hạn trong 60 ngày tới": 1,
        "Gói cước hết hạn trong 90 ngày tới": 2,
    },
    "b": {"Gói cước đã hết hạn": 1, "Gói cước hết hạn trong 90 ngày tới": 1},
}


def _seed(tree: dict[str, Unit], make_devices: Callable[[Unit, int], list[Device]]) -> dict[int, Device]:
    today = timezone.localdate(timezone=LOCAL_TZ)
    out = {}
    for i, (commune, sim, plan, revoked) in enumerate(DEVICES):
        d = make_devices(tree[commune], 1)[0]
        d.sim_expires = None if sim is None else today + dt.timedelta(days=sim)
        d.data_plan_expires = None if plan is None else today + dt.timedelta(days=plan)
        d.revoked_at = timezone.now() if revoked else None
        d.save()
        out[i] = d
    return out


def test_expiry_kpi_by_unit(tree: dict[str, Unit], make_devices: Callable[[Unit, int], list[Device]]) -> None:
    _seed(tree, make_devices)
    for unit, lines in EXPECTED.items():
        p = Period(tree[unit], dt.date(2026, 11, 1), dt.date(2026, 11, 30))
        assert BY_KEY["data_plans_expiring"].compute(p) == lines, unit


def test_each_line_links_to_its_clusters(
    tree: dict[str, Unit],
    make_devices: Callable[[Unit, int], list[Device]],
    make_user: Callable[..., User],
    client_for: Callable[[User], Any],
) -> None:
    devices = _seed(tree, make_devices)
    client = client_for(make_user("tinh", Role.PROVINCE_ADMIN, tree["province"]))
    page = client.get("/analytics/units/22/?from=2026-11-01&to=2026-11-30").content.decode()
    table = page[page.index('data-kpi="data_plans_expiring"') :].split("</table>", 1)[0]
    lines = re.findall(r'<th scope="row">([^<]+)</th><td[^>]*><a href="([^"]+)">([0-9.]+)</a>', table)
    assert {name: float(n) for name, _h, n in lines} == EXPECTED["province"]
    # the clusters behind each line, by index in DEVICES
    behind = {
        "SIM đã hết hạn": {0},
        "SIM hết hạn trong 30 ngày tới": {1, 2},
        "Gói cước hết hạn trong 60 ngày tới": {1},
        "Gói cước hết hạn trong 90 ngày tới": {1, 2, 3},
        "Gói cước đã hết hạn": {4},
    }
    for name, href, n in lines:
        if name not in behind:
            continue
        r = client.get(href.replace("&amp;", "&"))
        assert r.status_code == 302 and r["Location"].startswith("/fleet/?expiring="), r["Location"]
        listed = client.get(r["Location"]).content.decode()
        shown = {i for i, d in devices.items() if d.device_id in listed}
        assert shown == behind[name] and len(shown) == float(n), name
