"""Every dashboard figure links to the rows behind it (proof of play, clusters, commands, bulletins) on the figure's
unit and period; the map coloured by a chosen KPI; the CSV of the KPI table."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.analytics.kpis import Period, drill_down
from loa.fleet.models import Device
from tests.loa.analytics.conftest import DAYS, World, simulate  # type: ignore[import-not-found]

QUERY = "from=2026-11-30&to=2026-12-02"


def test_every_figure_links_to_its_rows(
    world: World, make_user: Callable[..., User], client_for: Callable[[User], Any]
) -> None:
    simulate(world, incremental=True)
    province = client_for(make_user("tinh", Role.PROVINCE_ADMIN, world.tree["province"]))
    page = province.get(f"/analytics/units/22/?{QUERY}").content.decode()
    cards = re.findall(r'<div class="card" data-kpi="([a-z0-9_]+)"', page)
    links = re.findall(r'<a class="num" data-rows="([a-z]+)" href="([^"]+)"', page)
    assert cards and len(links) == len(cards)  # every figure card is a link
    kinds = {k for k, _h in links}
    assert {"plays", "devices", "offline", "bulletins"} <= kinds
    href = dict((k, h) for k, h in links)
    # the plays behind a figure: the proof-of-play page of that unit and period
    r = province.get(href["plays"].replace("&amp;", "&"))
    assert r.status_code == 302 and r["Location"] == "/broadcast/proof/?since=2026-11-30&until=2026-12-02"
    assert province.session["loa_unit"] == "22"
    assert province.get(r["Location"]).status_code == 200
    # a commune's figure in the drill-down opens that commune's rows
    assert f'href="/analytics/units/06658/rows/plays/?{QUERY.replace("&", "&amp;")}"' in page
    r = province.get(f"/analytics/units/06658/rows/bulletins/?{QUERY}")
    assert r.status_code == 302 and r["Location"].startswith("/bulletins/?origin=06658&state=published")
    assert province.session["loa_unit"] == "06658"
    r = province.get(f"/analytics/units/06658/rows/offline/?{QUERY}")
    assert r["Location"] == "/fleet/?state=offline"
    listed = province.get(r["Location"]).content.decode()
    assert world.b1.device_id in listed and world.a1.device_id not in listed  # commune B's offline clusters
    # another commune's rows are out of reach
    commune_a = client_for(make_user("xa_a", Role.COMMUNE_OPERATOR, world.tree["a"]))
    assert commune_a.get(f"/analytics/units/06658/rows/plays/?{QUERY}").status_code == 404
    assert commune_a.session.get("loa_unit") != "06658"


def test_the_map_is_coloured_by_the_chosen_kpi_and_the_kpis_export_as_csv(
    world: World, make_user: Callable[..., User], client_for: Callable[[User], Any]
) -> None:
    simulate(world, incremental=True)
    Device.objects.filter(pk=world.b1.pk).update(latitude=20.95, longitude=107.1)
    province = client_for(make_user("tinh", Role.PROVINCE_ADMIN, world.tree["province"]))
    assert b'id="kpi-map"' in province.get(f"/analytics/units/22/map/?{QUERY}&kpi=plays_success").content
    data = province.get(f"/analytics/units/22/map.json?{QUERY}&kpi=plays_success").json()
    rows = {r.code: r for r in drill_down(Period(world.tree["province"], DAYS[0], DAYS[2]))}
    assert [(p["code"], p["value"]) for p in data["points"]] == [("06658", rows["06658"].success)]
    assert (data["points"][0]["lat"], data["points"][0]["lon"]) == (
        20.95,
        107.1,
    )  # the middle of its clusters
    assert [u["code"] for u in data["unplaced"]] == ["06652"]  # no coordinates, no placed cluster
    assert data["label"] == "Tỷ lệ phát thành công (%)"
    body = province.get(f"/analytics/units/22/kpis.csv?{QUERY}").content.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(body)))
    assert table[0][:4] == ["Mã chỉ số", "Chỉ số", "Nhóm", "Giá trị"]
    planned = [r for r in table if r[0] == "plays_planned"]
    assert float(planned[0][3]) == sum(r.sums["planned"] for r in rows.values())
    commune_a = client_for(make_user("xa_a", Role.COMMUNE_OPERATOR, world.tree["a"]))
    assert commune_a.get(f"/analytics/units/06658/map.json?{QUERY}").status_code == 404
    assert commune_a.get(f"/analytics/units/06658/kpis.csv?{QUERY}").status_code == 404
