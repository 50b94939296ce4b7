"""A seeded three-day world (30/11–02/12/2026, Vietnamese days) in the shared tree: clusters in communes A (one in
its zone) and B, a daily 06:00 schedule in each, play logs, an offline alarm across midnight, play-now logs at
23:30 and 00:30 Vietnam time (both on the same UTC day), bulletins and commands. ``simulate`` plays the days in
order and, like the periodic job, rolls up as time passes."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from loa.accounts.models import User
from loa.analytics import rollup
from loa.broadcast.compile import compile_manifests
from loa.broadcast.models import Schedule
from loa.broadcast.recurrence import local_to_utc
from loa.content.models import Bulletin, State
from loa.fleet.models import Alarm, Command, Device, PlayLog
from loa.units.models import Unit
from tests.loa.broadcast.conftest import make_devices, make_programme  # type: ignore[import-not-found]  # noqa: F401

DAYS = [dt.date(2026, 11, 30), dt.date(2026, 12, 1), dt.date(2026, 12, 2)]
ENROLLED = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def at(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return local_to_utc(day, dt.time(hh, mm))


@dataclass
class World:
    tree: dict[str, Unit]
    a1: Device
    a2: Device  # in commune A's zone
    b1: Device
    schedules: dict[str, Schedule]
    author: User
    extra: dict[str, Any] = field(default_factory=dict)

    def log(self, device: Device, kind: str, when: dt.datetime, duration: float | None = None, *,
            entry: str = "", reason: str = "", received: dt.datetime | None = None) -> None:  # fmt: skip
        PlayLog.objects.create(
            device=device, event_id=uuid.uuid4(), unit=device.unit, kind=kind, item_id="pi-1", at=when,
            offset_s=0, duration_s=duration, priority=4, manifest_entry_id=entry, reason=reason,
            received_at=received or when,
        )  # fmt: skip

    def entry(self, commune: str, day: dt.date) -> str:
        return f"s{self.schedules[commune].pk}-{at(day, 6):%Y%m%dT%H%M%S}Z-0"

    def play_day(self, day: dt.date) -> None:
        """What the clusters did on ``day``: a1 always plays; a2 is refused on 01/12; b1 says nothing on 02/12."""
        six = at(day, 6)
        for dev, commune in ((self.a1, "a"), (self.a2, "a"), (self.b1, "b")):
            e = self.entry(commune, day)
            if dev == self.a2 and day == DAYS[1]:
                self.log(dev, "refused", six, entry=e, reason="outside_window")
            elif dev == self.b1 and day == DAYS[2]:
                continue
            else:
                self.log(dev, "start", six, entry=e)
                self.log(dev, "end", six + dt.timedelta(seconds=300), 300.0, entry=e)
        Bulletin.objects.create(
            title=f"Tin {day}", origin_unit=self.tree["a"], produced_at=six, created_by=self.author,
            updated_by=self.author, state=State.PUBLISHED, published_at=six, field=3, content_type=3, priority=2,
        )  # fmt: skip
        Command.objects.create(
            action="volume", topic=f"loa/v1/d/{self.b1.device_id}/cmd", seq=DAYS.index(day) + 1,
            target_device=self.b1, unit=self.b1.unit, issued_at=six, expires_at=six + dt.timedelta(minutes=5),
            message={},
        )  # fmt: skip


def simulate(world: World, *, incremental: bool) -> None:
    """Play the three days in order; with ``incremental`` roll up as the periodic job would, several times a day."""
    for day in DAYS:
        compile_manifests(at(day, 0) - dt.timedelta(hours=3))
        world.play_day(day)
        if day == DAYS[1]:
            # a play-now at 23:30 on 01/12 and another at 00:30 on 02/12: the same UTC day (16:30 and 17:30 UTC)
            world.log(world.a1, "end", at(DAYS[1], 23, 30), 60.0)
            world.log(world.a1, "end", at(DAYS[2], 0, 30), 45.0)
            # b1 offline from 22:00 on 01/12 to 02:00 on 02/12
            Alarm.objects.create(device=world.b1, unit=world.b1.unit, kind=Alarm.Kind.OFFLINE,
                                 raised_at=at(DAYS[1], 22), cleared_at=at(DAYS[2], 2))  # fmt: skip
        if day == DAYS[2]:
            # uploaded late: a1's 30/11 evening play-now, stored on 02/12 (after 30/11 left the "yesterday" window)
            world.log(world.a1, "end", at(DAYS[0], 20), 30.0, received=at(DAYS[2], 9))
        if incremental:
            for hh in (7, 12, 23):
                rollup.rollup_recent(now=at(day, hh))
    if incremental:
        rollup.rollup_recent(now=at(DAYS[2] + dt.timedelta(days=1), 1))


@pytest.fixture
def world(
    tree: dict[str, Unit],
    make_devices: Callable[[Unit, int], list[Device]],  # noqa: F811 - the imported fixture
    make_programme: Callable[..., Any],  # noqa: F811
    make_user: Callable[..., User],
) -> World:
    a1 = make_devices(tree["a"], 1)[0]
    a2 = make_devices(tree["zone_a"], 1)[0]
    b1 = make_devices(tree["b"], 1)[0]
    Device.objects.update(enrolled_at=ENROLLED)
    schedules = {}
    for key in ("a", "b"):
        s = Schedule.objects.create(unit=tree[key], programme=make_programme(tree[key], f"Sáng {key}"),
                                    title="Sáng", kind="daily", times=["06:00"], start_date=DAYS[0])  # fmt: skip
        s.target_units.set([tree[key]])
        schedules[key] = s
    return World(tree, a1, a2, b1, schedules, make_user("bientap"))


NOW = at(DAYS[2] + dt.timedelta(days=1), 1)
