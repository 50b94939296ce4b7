"""A relay item compiles into a ``kind: "stream"`` manifest entry (no placeholder hash) and the unit's volume cap
into ``max_volume``; the reference agent verifies that manifest and plays the relay as a stream, capped."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path

from loa.broadcast.compile import compile_manifests, manifest_payload
from loa.broadcast.models import Guardrail, ItemKind, Programme, ProgrammeItem, RelaySource, Schedule
from loa.broadcast.recurrence import local_to_utc
from loa.fleet import keys
from loa.fleet.models import Device
from loa.units.models import Unit
from loa_protocol.messages import Manifest, decode
from loa_protocol.signing import verify_manifest

NOW = local_to_utc(dt.date(2026, 12, 1), dt.time(4, 10))
VOV = "https://stream.vov.vn/vov1.aac"


def test_relays_compile_to_stream_entries_that_the_agent_plays_capped(
    tree: dict[str, Unit],
    make_devices: Callable[[Unit, int], list[Device]],
    make_programme: Callable[..., Programme],
) -> None:
    from loa_agent.core import AgentCore
    from loa_agent.player import NullPlayer
    from loa_agent.playlog import MemoryPlayLogStore

    Guardrail.objects.create(unit=tree["a"], windows=[["05:00", "21:00"]], max_volume=55)
    device = make_devices(tree["a"], 1)[0]
    source = RelaySource.objects.create(province=tree["province"], name="VOV1", url=VOV)
    programme = make_programme(tree["a"], "Tiếp sóng", (120.0,))
    ProgrammeItem.objects.create(programme=programme, position=1, kind=ItemKind.RELAY, title="VOV1",
                                 relay_source=source, sha256=hashlib.sha256(VOV.encode()).hexdigest(),
                                 media_url=VOV, duration_s=1800)  # fmt: skip
    s = Schedule.objects.create(unit=tree["a"], programme=programme, title="Sáng", kind="daily", times=["06:00"],
                                relay_minutes=15, volume=90)  # fmt: skip
    s.target_units.set([tree["a"]])
    compile_manifests(NOW)
    payload = manifest_payload(device.device_id)
    assert payload is not None
    manifest = decode(Manifest, payload)
    verify_manifest(manifest, keys.public_key(), device.device_id)
    assert manifest.max_volume == 55
    first_day = [e for e in manifest.entries if e.start < NOW + dt.timedelta(hours=12)]
    assert [(e.kind, e.sha256 is None, e.duration_s) for e in first_day] == [
        ("file", False, 120.0),
        ("stream", True, 900.0),
    ]
    relay = first_day[1]
    assert relay.media_url == VOV and b'"kind":"stream"' in payload

    player = NullPlayer()
    core = AgentCore(device.device_id, keys.public_key(), player, MemoryPlayLogStore(),
                     media_lookup=lambda sha: Path("/dev/null"))  # fmt: skip
    core.volume = 100
    assert core.receive_manifest(payload, NOW) is not None
    now = relay.start
    core.tick(first_day[0].start)
    core.tick(now)
    assert player.calls[-1] == ("stream", relay.item_id, VOV, "55")
    core.tick(relay.end)
    assert [(e.kind, e.item_id) for e in core.history][-2:] == [
        ("start", relay.item_id),
        ("end", relay.item_id),
    ]
