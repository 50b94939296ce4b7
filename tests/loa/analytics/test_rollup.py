"""Rollups: Vietnamese days, idempotent, and a rebuild equals what the periodic job built as time passed."""

from __future__ import annotations

import datetime as dt
from io import StringIO

from django.core.management import call_command

from loa.analytics import rollup
from loa.analytics.models import DailyStat, UnitDailyStat
from tests.loa.analytics.conftest import DAYS, NOW, World, simulate  # type: ignore[import-not-found]


def snapshot() -> list[tuple[dt.date, int, str, str, str, float]]:
    return sorted(
        DailyStat.objects.filter(day__in=DAYS).values_list(
            "day", "unit_id", "device_id", "metric", "key", "value"
        )
    )


def per_unit() -> list[tuple[dt.date, int, str, str, float]]:
    return sorted(
        UnitDailyStat.objects.filter(day__in=DAYS).values_list("day", "unit_id", "metric", "key", "value")
    )


def value(day: dt.date, metric: str, key: str = "", **filters: object) -> float:
    return sum(
        DailyStat.objects.filter(day=day, metric=metric, key=key, **filters).values_list("value", flat=True)
    )


def test_a_rebuilt_period_equals_the_incremental_rollup(world: World) -> None:
    simulate(world, incremental=True)
    incremental, incremental_units = snapshot(), per_unit()
    assert incremental
    DailyStat.objects.all().delete()
    UnitDailyStat.objects.all().delete()
    rollup.rebuild(DAYS[0], DAYS[-1], now=NOW)
    assert snapshot() == incremental and per_unit() == incremental_units
    rollup.rebuild(DAYS[0], DAYS[-1], now=NOW)  # idempotent
    assert snapshot() == incremental and per_unit() == incremental_units
    # the per-unit rows are the per-device rows summed without the device
    summed: dict[tuple[dt.date, int, str, str], float] = {}
    for day, unit, _dev, metric, key, v in incremental:
        summed[(day, unit, metric, key)] = summed.get((day, unit, metric, key), 0.0) + v
    assert [(d, u, m, k, v) for (d, u, m, k), v in sorted(summed.items())] == incremental_units


def test_days_are_vietnamese_days(world: World) -> None:
    simulate(world, incremental=False)
    rollup.rebuild(DAYS[0], DAYS[-1], now=NOW)
    a1 = {"device_id": world.a1.device_id}
    # 23:30 (16:30 UTC) on 01/12 and 00:30 (17:30 UTC, same UTC day) on 02/12 land on two days; 06:00 plays 300 s
    assert value(DAYS[1], "airtime_s", **a1) == 300 + 60
    assert value(DAYS[2], "airtime_s", **a1) == 300 + 45
    assert value(DAYS[0], "airtime_s", **a1) == 300 + 30  # the late upload counts on the day it played
    # the offline alarm 22:00–02:00 splits 2 h / 2 h across midnight
    b1 = {"device_id": world.b1.device_id}
    assert value(DAYS[1], "offline_s", **b1) == 7200
    assert value(DAYS[2], "offline_s", **b1) == 7200
    assert value(DAYS[1], "expected_s", **b1) == 86400


def test_proof_of_play_and_activity_counts(world: World) -> None:
    simulate(world, incremental=True)
    assert [value(d, "planned") for d in DAYS] == [3, 3, 3]
    assert [value(d, "played") for d in DAYS] == [3, 2, 2]
    assert value(DAYS[1], "missed", "outside_window", device_id=world.a2.device_id) == 1
    assert value(DAYS[2], "missed", "no_report", device_id=world.b1.device_id) == 1
    assert value(DAYS[1], "planned_s") == 900 and value(DAYS[1], "played_s") == 600
    # bulletins belong to the originating unit, commands to theirs
    assert value(DAYS[0], "bulletins", unit=world.tree["a"]) == 1
    assert value(DAYS[0], "bulletins.field", "3") == 1
    assert value(DAYS[0], "commands", "volume", unit=world.tree["b"]) == 1


def test_the_rebuild_command(world: World) -> None:
    simulate(world, incremental=False)
    out = StringIO()
    call_command("analytics", "rebuild", "--from", "2026-11-30", "--to", "2026-12-02", stdout=out)
    assert "3" in out.getvalue()
    assert value(DAYS[0], "planned") == 3


def test_the_periodic_job_is_declared_and_runs(world: World) -> None:
    from django_q.models import Schedule as QSchedule

    from loa.jobs.periodic import analytics_rollup

    assert QSchedule.objects.filter(
        name="loa.analytics.rollup", func="loa.jobs.periodic.analytics_rollup"
    ).exists()
    assert analytics_rollup()["days"] == 2  # yesterday and today (nothing uploaded late)
