"""Proof of play as a table: for each planned entry, what the device's play logs say and how it is reported."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from loa.broadcast import proof
from loa.broadcast.compile import compile_manifests
from loa.broadcast.models import Programme, Schedule
from loa.broadcast.recurrence import local_to_utc
from loa.fleet.models import Alarm, Device, PlayLog
from loa.units.models import Unit

DAY = dt.date(2026, 12, 1)
SIX = local_to_utc(DAY, dt.time(6, 0))
S = dt.timedelta(seconds=1)

# (name, play-log events as (kind, seconds after 06:00, offset, duration, reason), offline alarm, status, reason)
CASES: list[tuple[str, list[tuple[str, int, float, float | None, str]], bool, str, str]] = [
    ("played", [("start", 0, 0, 300, ""), ("end", 300, 300, 300, "")], False, "played", ""),
    ("joined 10 s late", [("start", 10, 10, 300, ""), ("end", 300, 300, 290, "")], False, "played", ""),
    (
        "pre-empted and not resumed",
        [("start", 0, 0, 300, ""), ("interrupted", 120, 120, 120, "preempted_by:em-1")],
        False,
        "partly",
        "preempted",
    ),
    (
        "pre-empted, then resumed to the end",
        [
            ("start", 0, 0, 300, ""),
            ("interrupted", 120, 120, 120, "preempted_by:em-1"),
            ("start", 150, 120, 300, "resumed"),
            ("end", 330, 300, 180, ""),
        ],
        False,
        "played",
        "",
    ),
    (
        "refused outside the window",
        [("refused", 0, 0, None, "outside_window")],
        False,
        "missed",
        "outside_window",
    ),
    ("nothing, device offline", [], True, "missed", "offline"),
    ("nothing, no report", [], False, "missed", "no_report"),
]


@pytest.mark.parametrize(("name", "events", "offline", "status", "reason"), CASES, ids=[c[0] for c in CASES])
def test_planned_versus_actual(
    tree: dict[str, Unit],
    make_devices: Callable[[Unit, int], list[Device]],
    make_programme: Callable[..., Programme],
    name: str,
    events: list[tuple[str, int, float, float | None, str]],
    offline: bool,
    status: str,
    reason: str,
) -> None:
    device = make_devices(tree["a"], 1)[0]
    programme = make_programme(tree["a"], "Sáng", (300.0,))
    s = Schedule.objects.create(unit=tree["a"], programme=programme, title="Sáng", kind="once", times=["06:00"],
                                start_date=DAY)  # fmt: skip
    s.target_units.set([tree["a"]])
    compile_manifests(SIX - dt.timedelta(hours=3))
    entry_id = f"s{s.pk}-{SIX:%Y%m%dT%H%M%S}Z-0"
    for kind, after, offset, duration, why in events:
        PlayLog.objects.create(
            device=device, event_id=uuid.uuid4(), unit=tree["a"], kind=kind, item_id=f"pi-{programme.items.get().pk}",
            at=SIX + after * S, offset_s=offset, duration_s=duration, priority=4, schedule_id=str(s.pk),
            manifest_entry_id=entry_id, reason=why, received_at=SIX + after * S,
        )  # fmt: skip
    if offline:
        Alarm.objects.create(device=device, unit=tree["a"], kind=Alarm.Kind.OFFLINE, raised_at=SIX - 600 * S)
    rows = proof.report(
        tree["a"], SIX - dt.timedelta(hours=1), SIX + dt.timedelta(hours=1), now=SIX + 3600 * S
    )
    assert [(r.entry_id, r.status, r.reason) for r in rows] == [(entry_id, status, reason)]


def test_a_cancelled_schedule_is_not_missed_and_the_csv_reads_in_vietnamese(
    tree: dict[str, Unit],
    make_devices: Callable[[Unit, int], list[Device]],
    make_programme: Callable[..., Any],
) -> None:
    make_devices(tree["a"], 2)
    s = Schedule.objects.create(unit=tree["a"], programme=make_programme(tree["a"]), title="Sáng", kind="daily",
                                times=["06:00"])  # fmt: skip
    s.target_units.set([tree["a"]])
    compile_manifests(SIX - dt.timedelta(hours=30))
    s.state = Schedule.State.CANCELLED
    s.save()
    compile_manifests(SIX - dt.timedelta(hours=2))  # cancelled before the second morning
    rows = proof.report(
        tree["a"], SIX - dt.timedelta(days=1, hours=1), SIX + dt.timedelta(hours=1), now=SIX + 3600 * S
    )
    assert [r.planned_start for r in rows] == [SIX - dt.timedelta(days=1)] * 2  # only the first morning
    csv = proof.to_csv(rows)
    assert csv.splitlines()[1].endswith(
        "30/11/2026 06:00:00,30/11/2026 06:05:00,không phát,không có nhật ký phát,0"
    )
