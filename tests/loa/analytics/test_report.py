"""The monthly XLSX report, read back with openpyxl: its figures equal a direct count of the raw rows, for the
province and for a commune; frozen headers; the commune cannot fetch another commune's report."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import Any

from openpyxl import load_workbook

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.analytics import rollup
from loa.broadcast import proof
from loa.content.models import Bulletin
from loa.fleet.models import Command, PlayLog
from loa.units.models import Unit
from tests.loa.analytics.conftest import DAYS, NOW, World, simulate  # type: ignore[import-not-found]


def figures(content: bytes) -> tuple[dict[tuple[str, str], Any], Any]:
    wb = load_workbook(io.BytesIO(content))
    assert wb.sheetnames[:5] == ["Thông tin", "Thiết bị", "Phát thanh", "Bản tin", "Phát khẩn cấp"]
    out: dict[tuple[str, str], Any] = {}
    for name in wb.sheetnames[1:5]:
        ws = wb[name]
        assert ws.freeze_panes == "A2"
        assert [c.value for c in ws[1]][:4] == ["Mã chỉ số", "Chỉ số", "Nhóm", "Giá trị"]
        for key, _name, part, value, *_rest in ws.iter_rows(min_row=2, values_only=True):
            out[(key, part or "")] = value
    return out, wb[wb.sheetnames[-1]]  # the drill-down is the last sheet


def raw_counts(unit: Unit) -> dict[str, float]:
    """The same figures counted straight from play logs, proof of play, bulletins and commands (December 2026)."""
    since, until = rollup.day_bounds(DAYS[1])[0], rollup.day_bounds(dt.date(2026, 12, 31))[1]
    logs = PlayLog.objects.filter(unit__path__startswith=unit.path, at__gte=since, at__lt=until)
    heard = sum(
        d or 0 for d in logs.filter(kind__in=("end", "interrupted")).values_list("duration_s", flat=True)
    )
    plays = proof.report(unit, since, until, now=NOW)
    return {
        "plays_planned": len(plays),
        "plays_played": sum(1 for p in plays if p.status == "played"),
        "airtime_total_h": round(heard / 3600, 3),
        "bulletins_published": Bulletin.objects.filter(
            origin_unit__path__startswith=unit.path, published_at__gte=since, published_at__lt=until
        ).count(),
        "commands": Command.objects.filter(
            unit__path__startswith=unit.path, issued_at__gte=since, issued_at__lt=until
        ).count(),
    }


def test_the_monthly_report_equals_the_raw_rows(
    world: World, make_user: Callable[..., User], client_for: Callable[[User], Any]
) -> None:
    simulate(world, incremental=True)
    province = client_for(make_user("tinh", Role.PROVINCE_ADMIN, world.tree["province"]))
    commune = client_for(make_user("xa_b", Role.COMMUNE_OPERATOR, world.tree["b"]))
    for client, unit in ((province, world.tree["province"]), (commune, world.tree["b"])):
        r = client.get(f"/analytics/units/{unit.code}/report.xlsx?month=2026-12")
        assert r.status_code == 200, r.content[:300]
        assert r["Content-Type"].startswith("application/vnd.openxmlformats")
        got, drill = figures(r.content)
        raw = raw_counts(unit)
        assert raw["plays_planned"] > 0
        for key in ("plays_planned", "plays_played", "airtime_total_h", "bulletins_published"):
            assert got[(key, "")] == raw[key], (unit.code, key)
        commands = sum(v for (k, _p), v in got.items() if k == "commands_by_action")
        assert commands == raw["commands"]
        assert isinstance(got[("plays_planned", "")], (int, float))  # a number, not text
        rows = list(drill.iter_rows(min_row=2, values_only=True))
        assert rows[-1][0] == "Tổng" and rows[-1][4] == f"=SUM(E2:E{len(rows)})"  # a formula
        assert sum(row[4] for row in rows[:-1]) == raw["plays_planned"]
    assert commune.get("/analytics/units/06652/report.xlsx?month=2026-12").status_code == 404
    # the province's workbook is the consolidation of its communes' (through the API too)
    planned = {
        code: figures(province.get(f"/api/v1/analytics/units/{code}/report.xlsx?month=2026-12").content)[0][
            ("plays_planned", "")
        ]
        for code in ("22", "06652", "06658")
    }
    assert planned == {"22": 9, "06652": 6, "06658": 3}
    bad = province.get("/api/v1/analytics/units/22/report.xlsx?month=2026-13")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "month_invalid"
