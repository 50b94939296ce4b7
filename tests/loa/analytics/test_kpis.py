"""KPIs from the rollups: the figures equal a direct count of the raw rows, and a province is the sum of its
communes."""

from __future__ import annotations

import datetime as dt

from django.utils import translation

from loa.analytics import kpis, rollup
from loa.analytics.kpis import Period
from loa.broadcast.models import Emergency
from loa.content.models import Bulletin
from loa.fleet.models import Alarm, Command, CommandDelivery, Device, DeviceKind, PlayLog
from tests.loa.analytics.conftest import DAYS, ENROLLED, NOW, World, at, simulate  # type: ignore[import-not-found]


def values(period: Period) -> dict[str, kpis.Value]:
    return {k.key: v for k, v in kpis.compute(period)}


def test_every_kpi_is_defined_once_with_names_in_both_languages() -> None:
    assert len(kpis.BY_KEY) == len(kpis.KPIS)
    for k in kpis.KPIS:
        assert k.group in kpis.GROUPS
        with translation.override("en"):
            english = str(k.name)
        assert english != str(k.name), f"{k.key}: no English name in the catalogue"


def test_figures_equal_the_raw_rows(world: World) -> None:
    simulate(world, incremental=True)
    province, a, b = world.tree["province"], world.tree["a"], world.tree["b"]
    since, until = rollup.day_bounds(DAYS[0])[0], rollup.day_bounds(DAYS[-1])[1]
    for unit in (province, a, b):
        v = values(Period(unit, DAYS[0], DAYS[-1], now=NOW))
        logs = PlayLog.objects.filter(unit__path__startswith=unit.path, at__gte=since, at__lt=until)
        heard = sum(
            x or 0 for x in logs.filter(kind__in=("end", "interrupted")).values_list("duration_s", flat=True)
        )
        assert v["airtime_total_h"] == round(heard / 3600, 3)
        published = Bulletin.objects.filter(origin_unit__path__startswith=unit.path, published_at__gte=since,
                                            published_at__lt=until)  # fmt: skip
        assert v["bulletins_published"] == published.count()
        commands = Command.objects.filter(
            unit__path__startswith=unit.path, issued_at__gte=since, issued_at__lt=until
        )
        assert sum(v["commands_by_action"].values()) == commands.count()  # type: ignore[union-attr]
    a_v = values(Period(a, DAYS[0], DAYS[-1], now=NOW))
    assert a_v["plays_planned"] == 6 and a_v["plays_played"] == 5
    assert a_v["plays_success"] == round(100 * 5 / 6, 2)
    assert a_v["plays_missed_by_reason"] == {"ngoài khung giờ cho phép": 1}
    assert a_v["bulletins_by_field"] == {
        "Chủ trương, đường lối của Đảng, chính sách, pháp luật của Nhà nước": 3
    }
    b_v = values(Period(b, DAYS[0], DAYS[-1], now=NOW))
    assert b_v["availability"] == round(100 * (1 - 4 * 3600 / (3 * 86400)), 2)
    assert b_v["devices_installed"] == 1


def test_the_province_is_the_sum_of_its_communes(world: World) -> None:
    simulate(world, incremental=True)
    p = values(Period(world.tree["province"], DAYS[0], DAYS[-1], now=NOW))
    a = values(Period(world.tree["a"], DAYS[0], DAYS[-1], now=NOW))
    b = values(Period(world.tree["b"], DAYS[0], DAYS[-1], now=NOW))
    for key in (
        "devices_installed",
        "plays_planned",
        "plays_played",
        "bulletins_published",
        "airtime_total_h",
    ):
        assert p[key] == a[key] + b[key], key  # type: ignore[operator]
    rows = kpis.drill_down(Period(world.tree["province"], DAYS[0], DAYS[-1]))
    assert [(r.code, r.devices, int(r.sums["planned"])) for r in rows] == [("06658", 1, 3), ("06652", 2, 6)]
    assert [r.cells()[-1] for r in rows] == [0, 3]  # bulletins by originating commune
    # commune A: its zone (with a2), then a1 which hangs on the commune itself; the zone: a2
    commune = kpis.drill_down(Period(world.tree["a"], DAYS[0], DAYS[-1]))
    assert [(r.code, r.is_device, r.devices, int(r.sums["planned"])) for r in commune] == [
        ("06652.001", False, 1, 3),
        (world.a1.device_id, True, 1, 3),
    ]
    zone = kpis.drill_down(Period(world.tree["zone_a"], DAYS[0], DAYS[-1]))
    assert [(r.code, int(r.sums["played"])) for r in zone] == [(world.a2.device_id, 2)]


def test_emergency_reach(world: World) -> None:
    requested = at(DAYS[1], 10)
    command = Command.objects.create(action="play", topic="loa/v1/u/22/cmd", seq=1, unit=world.tree["province"],
                                     issued_at=requested, expires_at=requested + dt.timedelta(minutes=5), message={})  # fmt: skip
    Emergency.objects.create(unit=world.tree["province"], title="Bão", item_id="em-1", sha256="0" * 64,
                             media_url="https://x", duration_s=30, command_id=command.id, requested_at=requested)  # fmt: skip
    for dev, after in ((world.a1, 0.2), (world.a2, 0.4), (world.b1, None)):
        CommandDelivery.objects.create(command=command, device=dev, state="received" if after else "sent",
                                       acked_at=requested + dt.timedelta(seconds=after) if after else None)  # fmt: skip
    v = values(Period(world.tree["province"], DAYS[0], DAYS[-1]))
    assert v["emergency_reach_p50_s"] == 0.2
    assert v["emergency_reach_p99_s"] == 0.4
    assert v["emergency_reach_ratio"] == round(200 / 3, 2)
    assert values(Period(world.tree["a"], DAYS[0], DAYS[-1]))["emergency_reach_ratio"] is None


def test_boards_are_not_counted_as_loudspeaker_clusters(world: World) -> None:
    """ "Số cụm loa" counts loudspeakers: an e-board on commune A itself and one in its zone (online) leave the
    installed count, the online share and the drill-down as they were; the inventory KPIs still count them."""
    simulate(world, incremental=True)
    a, zone = world.tree["a"], world.tree["zone_a"]
    Device.objects.filter(pk__in=[world.a1.pk, world.a2.pk]).update(online=True)
    before = values(Period(a, DAYS[0], DAYS[-1], now=NOW))
    rows_before = [
        (r.code, r.devices) for r in kpis.drill_down(Period(world.tree["province"], DAYS[0], DAYS[-1]))
    ]
    for i, unit in enumerate((a, zone)):
        Device.objects.create(device_id=f"loa-00000000eb0{i}", unit=unit, kind=DeviceKind.EBOARD,
                              enrolled_at=at(DAYS[0], 0), online=False)  # fmt: skip
    after = values(Period(a, DAYS[0], DAYS[-1], now=NOW))
    assert before["devices_installed"] == after["devices_installed"] == 2
    assert before["devices_online_now"] == after["devices_online_now"] == 100.0
    assert sum(after["devices_by_warranty"].values()) == 4  # type: ignore[union-attr]
    assert [
        (r.code, r.devices) for r in kpis.drill_down(Period(world.tree["province"], DAYS[0], DAYS[-1]))
    ] == (rows_before)
    commune = kpis.drill_down(Period(a, DAYS[0], DAYS[-1]))
    assert [(r.code, r.is_device, r.devices) for r in commune] == [
        ("06652.001", False, 1),
        (world.a1.device_id, True, 1),
    ]
    assert [r.code for r in kpis.drill_down(Period(zone, DAYS[0], DAYS[-1]))] == [world.a2.device_id]


def test_availability_is_the_clusters_a_board_offline_does_not_lower_it(world: World) -> None:
    """A public e-bulletin board of commune B, offline for the whole period, changes neither B's availability nor
    the province's: the KPI and the drill-down's columns are about loudspeaker clusters."""
    board = Device.objects.create(device_id="loa-b00000000001", unit=world.tree["b"], kind=DeviceKind.EBOARD,
                                  serial="B-1", enrolled_at=ENROLLED)  # fmt: skip
    Alarm.objects.create(device=board, unit=board.unit, kind=Alarm.Kind.OFFLINE, raised_at=ENROLLED)
    simulate(world, incremental=True)
    b_v = values(Period(world.tree["b"], DAYS[0], DAYS[-1], now=NOW))
    assert b_v["availability"] == round(100 * (1 - 4 * 3600 / (3 * 86400)), 2)
    assert b_v["devices_installed"] == 1
    province = values(Period(world.tree["province"], DAYS[0], DAYS[-1], now=NOW))
    # three clusters, three days each; only b1's four hours offline
    assert province["availability"] == round(100 * (1 - 4 * 3600 / (3 * 3 * 86400)), 2)
    rows = kpis.drill_down(Period(world.tree["province"], DAYS[0], DAYS[-1]))
    assert {r.code: r.availability for r in rows}["06658"] == b_v["availability"]
