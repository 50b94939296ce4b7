"""The simulator on a manual clock over a real broker: retained manifests, exact timeline, logs uploaded."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from loa_agent.clock import ManualClock
from loa_agent.runtime import RuntimeOptions
from loa_agent.simulator import Simulator
from loa_protocol.messages import Manifest, ManifestEntry, PlayLogBatch, Window, decode, encode
from loa_protocol.signing import sign
from loa_protocol.topics import manifest_topic

pytestmark = pytest.mark.mqtt

DAWN = dt.datetime(2026, 3, 1, 22, 0, tzinfo=dt.UTC)  # 05:00 in Hà Nội
DEVICES = [f"loa-5100000000{i:02x}" for i in range(8)]


def test_simulated_fleet_follows_its_manifests_on_a_manual_clock(server: Any) -> None:
    clock = ManualClock(DAWN - dt.timedelta(minutes=5))
    creds = [server.credentials(d, ["22", "06652"]) for d in DEVICES]
    start = DAWN + dt.timedelta(hours=1)
    for device in DEVICES:
        entry = ManifestEntry(entry_id="e1", start=start, end=start + dt.timedelta(minutes=15), item_id="morning",
                              media_url="https://x/m", sha256="aa" * 32, duration_s=300, schedule_id="s1")  # fmt: skip
        manifest = Manifest(device_id=device, version=3, generated_at=clock.now(), valid_from=clock.now(),
                            valid_until=clock.now() + dt.timedelta(days=2), windows=[Window(start="05:00", end="21:00")],
                            entries=[entry])  # fmt: skip
        server.publish(manifest_topic(device), encode(sign(manifest, server.private_key)), retain=True)
    options = RuntimeOptions(heartbeat_s=3600, backoff_initial_s=0.1, backoff_max_s=0.5)
    sim = Simulator(creds, clock=clock, options=options, seed=7).start(wait_connected=10)
    try:
        sim.wait_for(lambda: all(d.core.manifest is not None for d in sim.devices.values()), 5)
        assert sim.next_deadline() == start
        clock.set(start)
        sim.wait_for(lambda: len(sim.events(kind="start")) == len(DEVICES), 5)
        assert sim.next_deadline() == start + dt.timedelta(seconds=300)
        clock.set(start + dt.timedelta(seconds=300))
        sim.wait_for(lambda: len(sim.events(kind="end")) == len(DEVICES), 5)

        def uploaded() -> list[Any]:
            return [e for _, p in server.received("playlog") for e in decode(PlayLogBatch, p).events]

        sim.wait_for(lambda: len(uploaded()) == 2 * len(DEVICES), 5)
        assert {(e.kind, e.at, e.offset_s, e.manifest_entry_id) for e in uploaded()} == {
            ("start", start, 0.0, "e1"),
            ("end", start + dt.timedelta(seconds=300), 300.0, "e1"),
        }
        assert sim.refusals() == {}
    finally:
        sim.stop()
