"""A simulated week for one commune, on the agent's controllable clock: a daily programme, a weekly programme, a
province priority bulletin and two emergencies (one pre-empting the weekly programme), with a two-hour outage
during which the agents get no manifest and upload nothing — they play from their cached manifest and upload the
logs afterwards. The play logs must match the expected timeline exactly (items, order, offsets), and proof of play
must report every planned entry as played.

Server side: the manifests are compiled by :func:`compile_manifests` at the simulated hour and delivered as the
gateway would (the retained payload); play logs go through the gateway's ingest. Commands are signed with the
server key at the simulated instant (the fleet outbox stamps commands with the wall clock, which a simulated week
cannot use); the emergency audio is real TTS.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from loa.accounts.system import SYSTEM
from loa.broadcast import proof
from loa.broadcast.compile import compile_manifests, manifest_payload
from loa.broadcast.emergency import _message, _play_params
from loa.broadcast.models import Guardrail, Programme, Schedule
from loa.broadcast.recurrence import LOCAL_TZ, local_to_utc
from loa.fleet import broker, keys
from loa.fleet.models import Device, PlayLog
from loa.gateway.ingest import Incoming, Ingestor
from loa.units.models import Unit
from loa_agent.core import AgentCore
from loa_agent.player import NullPlayer
from loa_agent.playlog import MemoryPlayLogStore
from loa_protocol.messages import PlayLogBatch, encode
from loa_protocol.signing import sign_command
from loa_protocol.topics import group_command_topic, playlog_topic

MONDAY = dt.date(2026, 11, 30)
WEEK_START = local_to_utc(MONDAY, dt.time(0, 0))
WEEK_END = WEEK_START + dt.timedelta(days=7)
OUTAGE = (
    local_to_utc(MONDAY + dt.timedelta(days=1), dt.time(5, 0)),
    local_to_utc(MONDAY + dt.timedelta(days=1), dt.time(7, 0)),
)


def at(day: int, hh: int, mm: int, ss: float = 0) -> dt.datetime:
    return local_to_utc(MONDAY + dt.timedelta(days=day), dt.time(hh, mm)) + dt.timedelta(seconds=ss)


class Week:
    """Drives a few agents and the server hour by hour through the week."""

    def __init__(self, devices: list[Device], media: Path) -> None:
        self.cores = {
            d.device_id: AgentCore(
                d.device_id,
                keys.public_key(),
                NullPlayer(),
                MemoryPlayLogStore(),
                media_lookup=lambda sha: media,
            )
            for d in devices
        }
        self.ingestor = Ingestor()
        self.injections: list[tuple[dt.datetime, str, bytes]] = []
        self.seq = 0
        self.uploaded_at: dict[str, dt.datetime] = {}  # event id → simulated time of its upload

    def command(self, when: dt.datetime, unit_codes: list[str], params: dict[str, Any]) -> None:
        self.seq += 1
        topic = group_command_topic(unit_codes)
        signed = sign_command(keys.private_key(), topic=topic, seq=self.seq, action="play", params=params,
                              issued_at=when)  # fmt: skip
        self.injections.append((when, topic, encode(signed)))

    def online(self, t: dt.datetime) -> bool:
        return not OUTAGE[0] <= t < OUTAGE[1]

    def upload(self, t: dt.datetime) -> None:
        batch = []
        for device_id, core in self.cores.items():
            rows = core.store.oldest(500)
            if rows:
                payload = encode(PlayLogBatch(device_id=device_id, events=[e for _, e in rows]))
                batch.append(Incoming(playlog_topic(device_id), payload))
                self.uploaded_at.update({str(e.event_id): t for _, e in rows})
                core.store.delete([k for k, _ in rows])
        if batch:
            self.ingestor.ingest_batch(batch)

    def run(self) -> None:
        t = WEEK_START
        next_hour = t
        pending = sorted(self.injections)
        while t < WEEK_END:
            if t >= next_hour:
                if self.online(t):
                    compile_manifests(t)
                    for device_id, core in self.cores.items():
                        core.receive_manifest(manifest_payload(device_id) or b"", t)
                    self.upload(t)
                next_hour += dt.timedelta(hours=1)
            while pending and pending[0][0] <= t:
                _when, topic, payload = pending.pop(0)
                for core in self.cores.values():
                    command = core.receive_command(topic, payload, t)
                    assert command is not None, core.refusals
                    core.execute(command, t, Path("/dev/null"))
            deadlines = [next_hour, WEEK_END] + ([pending[0][0]] if pending else [])
            for core in self.cores.values():
                d = core.tick(t)
                if d is not None:
                    deadlines.append(d)
            t = max(t, min(deadlines))
        self.upload(t)


def fmt(events: list[Any]) -> list[tuple[str, str, str, float, str]]:
    return [
        (e.at.astimezone(LOCAL_TZ).strftime("%a %H:%M:%S"), e.kind, e.item_id, e.offset_s, e.reason or "")
        for e in events
    ]


@pytest.mark.django_db
def test_a_simulated_week_matches_the_expected_timeline(
    tree: dict[str, Unit],
    make_devices: Callable[[Unit, int], list[Device]],
    make_programme: Callable[..., Programme],
    tmp_path: Path,
) -> None:
    commune = tree["a"]
    Guardrail.objects.create(unit=commune, windows=[["05:00", "21:00"]])
    devices = make_devices(commune, 2) + make_devices(tree["zone_a"], 1)
    daily = make_programme(commune, "Bản tin sáng", (300.0, 120.0))
    weekly = make_programme(commune, "Chuyên mục cuối tuần", (600.0,))
    for programme, kw in (
        (daily, {"kind": "daily", "times": ["06:00"]}),
        (weekly, {"kind": "weekly", "weekdays": [2, 5], "times": ["17:00"]}),
    ):
        s = Schedule.objects.create(unit=commune, programme=programme, title=programme.title, **kw)
        s.target_units.set([commune])
    d1, d2 = (f"pi-{i.pk}" for i in daily.items.order_by("position"))
    (w1,) = (f"pi-{i.pk}" for i in weekly.items.all())

    week = Week(devices, tmp_path)
    codes = list(broker.unit_codes_of(commune.path))
    province = codes[:1]
    # Thursday 06:02: the province's priority bulletin (60 s) arrives during the first item of the programme
    week.command(at(3, 6, 2), province, {"item_id": "ban-tin-uu-tien", "media_url": "https://loa.example.vn/f.mp3",
                                         "sha256": "c" * 64, "duration_s": 60.0, "priority": 3})  # fmt: skip
    # Friday 10:00 and Saturday 17:03: emergencies of the commune, three times each, real TTS
    alarm = _message(SYSTEM, commune, text="Cảnh báo lũ.", media_asset_id=None, token=None, request=None)
    em_s = round(alarm.duration_s, 3)
    week.command(at(4, 10, 0), codes[:2], _play_params("em-fri", alarm, 3))
    week.command(at(5, 17, 3), codes[:2], _play_params("em-sat", alarm, 3))
    week.run()

    expected: list[tuple[str, str, str, float, str]] = []

    def row(t: dt.datetime, kind: str, item: str, offset: float = 0.0, reason: str = "") -> None:
        expected.append((t.astimezone(LOCAL_TZ).strftime("%a %H:%M:%S"), kind, item, offset, reason))

    for day in range(7):
        if day == 3:  # the priority bulletin plays at the end of the current item, before the next one
            row(at(3, 6, 0), "start", d1)
            row(at(3, 6, 5), "end", d1, 300.0)
            row(at(3, 6, 5), "start", "ban-tin-uu-tien")
            row(at(3, 6, 6), "end", "ban-tin-uu-tien", 60.0)
            row(at(3, 6, 6), "start", d2)
            row(at(3, 6, 8), "end", d2, 120.0)
        else:
            row(at(day, 6, 0), "start", d1)
            row(at(day, 6, 5), "end", d1, 300.0)
            row(at(day, 6, 5), "start", d2)
            row(at(day, 6, 7), "end", d2, 120.0)
        if day == 4:
            for n in range(3):
                row(at(4, 10, 0, n * em_s), "start", "em-fri", 0.0, f"repeat {n + 1}/3")
                row(at(4, 10, 0, (n + 1) * em_s), "end", "em-fri", em_s)
        if day == 2:
            row(at(2, 17, 0), "start", w1)
            row(at(2, 17, 10), "end", w1, 600.0)
        if day == 5:  # pre-empted at 180 s, resumed where it stopped once the emergency is over
            row(at(5, 17, 0), "start", w1)
            row(at(5, 17, 3), "interrupted", w1, 180.0, "preempted_by:em-sat")
            for n in range(3):
                row(at(5, 17, 3, n * em_s), "start", "em-sat", 0.0, f"repeat {n + 1}/3")
                row(at(5, 17, 3, (n + 1) * em_s), "end", "em-sat", em_s)
            row(at(5, 17, 3, 3 * em_s), "start", w1, 180.0, "resumed")
            row(at(5, 17, 10, 3 * em_s), "end", w1, 600.0)

    for device_id, core in week.cores.items():
        got = [(t, k, i, round(o, 1), r) for t, k, i, o, r in fmt(core.history)]
        want = [(t, k, i, round(o, 1), r) for t, k, i, o, r in expected]
        assert got == want, device_id

    # Tuesday's 06:00 programme played from the cache during the outage, and its logs arrived afterwards
    tuesday = sorted(
        (e for e in PlayLog.objects.filter(device_id=devices[0].device_id)
         if e.at.astimezone(LOCAL_TZ).date() == MONDAY + dt.timedelta(days=1)),
        key=lambda e: (e.at, e.kind != "end"),
    )  # fmt: skip
    assert [(e.kind, e.item_id) for e in tuesday] == [("start", d1), ("end", d1), ("start", d2), ("end", d2)]
    assert {week.uploaded_at[str(e.event_id)] for e in tuesday} == {OUTAGE[1]}
    # every log was ingested exactly once
    assert PlayLog.objects.count() == sum(len(c.history) for c in week.cores.values())
    # proof of play: every planned entry of the week played, on every device
    rows = proof.report(commune, WEEK_START, WEEK_END, now=WEEK_END)
    assert len(rows) == 3 * (7 * 2 + 2)
    assert proof.summary(rows) == {"played": len(rows)}
