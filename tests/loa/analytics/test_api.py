"""The analytics API: KPIs and drill-down of a unit and a period, scoped by unit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loa.accounts.models import User
from loa.accounts.roles import Role
from tests.loa.analytics.conftest import World, simulate  # type: ignore[import-not-found]

PERIOD = "?from=2026-11-30&to=2026-12-02"


def kpis(body: dict[str, Any]) -> dict[str, Any]:
    return {k["key"]: k for k in body["kpis"]}


def test_the_province_sees_the_sum_and_a_commune_only_itself(
    world: World, make_user: Callable[..., User], client_for: Callable[[User], Any]
) -> None:
    simulate(world, incremental=True)
    province = client_for(make_user("tinh", Role.PROVINCE_ADMIN, world.tree["province"]))
    commune = client_for(make_user("xa_a", Role.COMMUNE_OPERATOR, world.tree["a"]))
    whole = province.get(f"/api/v1/analytics/units/22/kpis{PERIOD}")
    assert whole.status_code == 200, whole.content
    p = kpis(whole.json())
    assert p["plays_planned"]["value"] == 9
    assert p["plays_missed_by_reason"]["breakdown"] == {
        "ngoài khung giờ cho phép": 1,
        "không có nhật ký phát": 1,
    }
    assert p["availability"]["unit"] == "%" and p["availability"]["name"] == "Tỷ lệ sẵn sàng hoạt động"
    a = kpis(commune.get(f"/api/v1/analytics/units/06652/kpis{PERIOD}").json())
    b = kpis(province.get(f"/api/v1/analytics/units/06658/kpis{PERIOD}").json())
    assert p["plays_planned"]["value"] == a["plays_planned"]["value"] + b["plays_planned"]["value"]
    # commune A asks for commune B, or for the province: not found, and nothing of B in the answer
    for code in ("06658", "22"):
        for path in ("kpis", "drill-down"):
            r = commune.get(f"/api/v1/analytics/units/{code}/{path}{PERIOD}")
            assert r.status_code == 404, (code, path)
            assert "Cao Xanh" not in r.content.decode()
    rows = province.get(f"/api/v1/analytics/units/22/drill-down{PERIOD}").json()
    assert {r["code"]: r["planned"] for r in rows} == {"06652": 6, "06658": 3}
    devices = commune.get(f"/api/v1/analytics/units/06652/drill-down{PERIOD}").json()
    assert [(r["code"], r["is_device"]) for r in devices] == [
        ("06652.001", False),
        (world.a1.device_id, True),
    ]


def test_a_reversed_or_endless_period_is_refused(
    world: World, make_user: Callable[..., User], client_for: Callable[[User], Any]
) -> None:
    client = client_for(make_user("tinh", Role.PROVINCE_ADMIN, world.tree["province"]))
    r = client.get("/api/v1/analytics/units/22/kpis?from=2026-12-02&to=2026-11-30")
    assert r.status_code == 400 and r.json()["error"]["code"] == "period_reversed"
    r = client.get("/api/v1/analytics/units/22/kpis?from=2024-01-01&to=2026-11-30")
    assert r.status_code == 400 and r.json()["error"]["code"] == "period_too_long"
    assert client.get("/api/v1/analytics/units/22/kpis").status_code == 200  # this month by default
