"""The analytics dashboard in the console: menu entry, KPI figures, drill-down, scope, CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from loa.accounts.models import User
from loa.accounts.roles import Role
from tests.loa.analytics.conftest import World, simulate  # type: ignore[import-not-found]

PERIOD = "?from=30/11/2026&to=02/12/2026"


def test_the_province_dashboard_drills_down_to_communes_and_clusters(
    world: World, make_user: Callable[..., User], client_for: Callable[[User], Any]
) -> None:
    simulate(world, incremental=True)
    client = client_for(make_user("tinh", Role.PROVINCE_ADMIN, world.tree["province"]))
    home = client.get("/").content.decode()
    assert 'href="/analytics/"' in home  # in the menu
    page = client.get(f"/analytics/units/22/{PERIOD}")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-kpi="plays_planned"' in html and ">9<" in html
    assert 'href="/analytics/units/06652/?from=2026-11-30&amp;to=2026-12-02"' in html  # drill into commune A
    assert "ngoài khung giờ cho phép" in html
    commune = client.get("/analytics/units/06652/?from=2026-11-30&to=2026-12-02").content.decode()
    table = commune[commune.index('<table class="table drill-down">') :]
    assert f'href="/fleet/d/{world.a1.device_id}/"' in table and "Cao Xanh" not in table
    # how fresh the figures are: the rollup's period, from the periodic job's own definition
    assert "được tổng hợp 15 phút một lần" in html
    with_english = client.get(f"/analytics/units/22/{PERIOD}", HTTP_ACCEPT_LANGUAGE="en")
    assert with_english.status_code == 200
    assert "rolled up every 15 minutes" in with_english.content.decode()


def test_a_commune_sees_only_its_own_figures(
    world: World, make_user: Callable[..., User], client_for: Callable[[User], Any]
) -> None:
    simulate(world, incremental=False)
    client = client_for(make_user("xa_a", Role.COMMUNE_OPERATOR, world.tree["a"]))
    assert client.get(f"/analytics/units/06652/{PERIOD}").status_code == 200
    for url in ("/analytics/units/06658/", "/analytics/units/22/", "/analytics/units/06658/drill-down.csv"):
        r = client.get(url + PERIOD)
        assert r.status_code == 404, url
        assert "Cao Xanh" not in r.content.decode()
    overview = client.get("/analytics/")
    assert overview.status_code == 302 and overview["Location"] == "/analytics/units/06652/"


def test_the_csv_export_neutralises_formulas(
    world: World, make_user: Callable[..., User], client_for: Callable[[User], Any]
) -> None:
    simulate(world, incremental=True)
    world.a1.name = '=HYPERLINK("http://evil.example","Bấm vào đây")'
    world.a1.save(update_fields=["name"])
    client = client_for(make_user("xa_a", Role.COMMUNE_OPERATOR, world.tree["a"]))
    r = client.get(f"/analytics/units/06652/drill-down.csv{PERIOD}")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Mã", "Tên", "Số cụm loa"]
    by_code = {row[0]: row for row in rows[1:]}
    assert by_code[world.a1.device_id][1].startswith("'=HYPERLINK")
    assert by_code[world.a1.device_id][4:6] == ["3", "3"]
    assert by_code["06652.001"][4:6] == ["3", "2"]  # the zone, with a2
