"""Relays (``kind: "stream"``) and volume caps on the device.

A stream entry or play command is played through the player for its duration and never downloaded; a stream URL
that is not http(s) is refused. No normal or priority item plays above the manifest's ``max_volume``; an emergency
ignores the cap and plays at the emergency level (DESIGN §4)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from loa_agent.core import EMERGENCY_VOLUME, AgentCore
from loa_agent.player import NullPlayer
from loa_agent.playlog import MemoryPlayLogStore
from loa_protocol.messages import Manifest, ManifestEntry, ProtocolError, Window, decode, encode
from loa_protocol.signing import canonical_bytes, generate_keypair, sign, sign_command, verify_manifest
from loa_protocol.topics import device_command_topic, group_command_topic

DEVICE = "loa-0000000000d2"
PRIVATE, PUBLIC = generate_keypair()
T0 = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC)  # 10:00 in Hà Nội
SHA = "cd" * 32
VOV = "https://stream.vov.vn/vov1.aac"


def make_core() -> tuple[AgentCore, NullPlayer, list[str]]:
    looked_up: list[str] = []

    def lookup(sha: str) -> Path | None:
        looked_up.append(sha)
        return Path("/dev/null")

    player = NullPlayer()
    return AgentCore(DEVICE, PUBLIC, player, MemoryPlayLogStore(), media_lookup=lookup), player, looked_up


def stream_entry(url: str = VOV, minutes: float = 30, **kw: Any) -> ManifestEntry:
    return ManifestEntry(entry_id="relay-1", start=T0, end=T0 + dt.timedelta(minutes=minutes), item_id="vov1",
                         kind="stream", media_url=url, duration_s=minutes * 60, **kw)  # fmt: skip


def file_entry(entry_id: str = "news", volume: int | None = None, priority: int = 4) -> ManifestEntry:
    return ManifestEntry(entry_id=entry_id, start=T0, end=T0 + dt.timedelta(minutes=10), item_id=f"item-{entry_id}",
                         media_url="https://x/m.opus", sha256=SHA, duration_s=60, volume=volume,
                         priority=priority)  # fmt: skip


def manifest(*entries: ManifestEntry, max_volume: int | None = None, version: int = 1) -> bytes:
    m = Manifest(device_id=DEVICE, version=version, generated_at=T0 - dt.timedelta(hours=1),
                 valid_from=T0 - dt.timedelta(hours=1), valid_until=T0 + dt.timedelta(days=2),
                 windows=[Window(start="05:00", end="21:00")], max_volume=max_volume,
                 entries=list(entries))  # fmt: skip
    return encode(sign(m, PRIVATE))


# --- the protocol ------------------------------------------------------------------------------------------


def test_a_stream_has_no_sha256_and_a_file_must_have_one() -> None:
    assert stream_entry().sha256 is None
    base = json.loads(encode(stream_entry()))
    with pytest.raises(ProtocolError) as exc:
        decode(ManifestEntry, json.dumps({**base, "sha256": SHA}))
    assert exc.value.code == "invalid" and "không có sha256" in exc.value.message
    with pytest.raises(ProtocolError) as exc:
        decode(ManifestEntry, json.dumps({**base, "kind": "file"}))
    assert exc.value.code == "invalid" and "phải có sha256" in exc.value.message
    with pytest.raises(ProtocolError) as exc:
        decode(ManifestEntry, json.dumps({**base, "kind": "rtsp"}))
    assert exc.value.code == "invalid"


def test_file_entries_keep_their_v1_wire_and_signed_form() -> None:
    """A manifest signed by a server that predates streams and caps (no ``kind``, no ``max_volume``) still
    verifies, and a file entry is serialised without the new fields, so older devices accept it."""
    entry = file_entry()
    wire = json.loads(encode(entry))
    assert "kind" not in wire and "sha256" in wire
    m = Manifest(device_id=DEVICE, version=3, generated_at=T0, valid_from=T0, valid_until=T0, entries=[entry])
    body = json.loads(canonical_bytes(m))
    assert "max_volume" not in body and "kind" not in body["entries"][0]
    old_style = {**body, "signature": sign(m, PRIVATE).signature}
    verify_manifest(decode(Manifest, json.dumps(old_style)), PUBLIC, DEVICE)
    assert json.loads(encode(stream_entry()))["kind"] == "stream"


# --- streams on the agent -----------------------------------------------------------------------------------


def test_a_stream_entry_plays_through_the_player_for_its_duration_and_is_never_fetched() -> None:
    core, player, looked_up = make_core()
    assert core.receive_manifest(manifest(stream_entry(minutes=15)), T0 - dt.timedelta(minutes=5)) is not None
    assert core.media_wanted(T0 - dt.timedelta(minutes=5)) == []  # nothing to prefetch
    assert core.tick(T0) == T0 + dt.timedelta(minutes=15)
    assert player.calls == [("stream", "vov1", VOV, "70")]
    assert core.status(T0).state == "playing" and core.status(T0).current_item == "vov1"
    core.tick(T0 + dt.timedelta(minutes=15))
    assert [(e.kind, e.at, e.offset_s, e.duration_s, e.media_sha256) for e in core.history] == [
        ("start", T0, 0.0, 900.0, None),
        ("end", T0 + dt.timedelta(minutes=15), 900.0, 900.0, None),
    ]
    assert looked_up == []


def test_a_late_join_of_a_stream_ends_with_its_entry() -> None:
    core, _player, _ = make_core()
    core.receive_manifest(manifest(stream_entry(minutes=15)), T0)
    assert core.tick(T0 + dt.timedelta(minutes=5)) == T0 + dt.timedelta(minutes=15)
    assert core.history[0].offset_s == 300.0


@pytest.mark.parametrize(
    "url",
    ["file:///dev/snd/pcmC0D0p", "rtsp://cam.local/live", "ftp://x/y.mp3", "http://", "https://x/a b",
     "/etc/passwd", "javascript:alert(1)"],
)  # fmt: skip
def test_a_stream_url_that_is_not_http_is_refused(url: str) -> None:
    core, player, _ = make_core()
    core.receive_manifest(manifest(stream_entry(url)), T0)
    core.tick(T0)
    assert player.calls == []
    assert [(e.kind, e.reason) for e in core.history] == [("refused", "stream_url_invalid")]
    command = sign_command(PRIVATE, topic=device_command_topic(DEVICE), seq=1, action="play", issued_at=T0,
                           params={"item_id": "relay", "kind": "stream", "media_url": url, "duration_s": 60,
                                   "priority": 2})  # fmt: skip
    accepted = core.receive_command(command.topic, encode(command), T0)
    assert accepted is not None
    core.execute(accepted, T0)
    assert player.calls == []
    assert [(a.status, a.reason) for a in core.take_acks()] == [
        ("received", None),
        ("refused", "stream_url_invalid"),
    ]


def test_a_live_relay_command_preempts_a_normal_item_and_it_resumes() -> None:
    core, player, _ = make_core()
    core.receive_manifest(manifest(file_entry()), T0)
    core.tick(T0)
    topic = group_command_topic(["22"])
    command = sign_command(PRIVATE, topic=topic, seq=1, action="play", issued_at=T0,
                           params={"item_id": "vov-live", "kind": "stream", "media_url": VOV, "duration_s": 20,
                                   "priority": 2})  # fmt: skip
    at = T0 + dt.timedelta(seconds=10)
    accepted = core.receive_command(topic, encode(command), at)
    assert accepted is not None
    core.execute(accepted, at)
    core.tick(at + dt.timedelta(seconds=20))
    assert [c[0:2] for c in player.calls] == [("play", "item-news"), ("stop",), ("stream", "vov-live"),
                                             ("play", "item-news")]  # fmt: skip
    assert player.calls[-1][2] == "10.000"


# --- volume caps ----------------------------------------------------------------------------------------------

# (priority, entry volume, device volume, cap) → volume the player is given
CASES = [
    (4, None, 70, None, 70),
    (4, None, 70, 50, 50),
    (4, 80, 70, 60, 60),
    (4, 40, 70, 60, 40),
    (3, 90, 70, 60, 60),
    (2, 90, 70, 60, 60),
    (3, None, 30, 60, 30),
    (1, None, 30, 60, EMERGENCY_VOLUME),  # emergency: the emergency level, whatever the cap
    (1, 85, 30, 20, 85),  # emergency with its own level: not capped
    (1, None, 70, None, EMERGENCY_VOLUME),
]


@pytest.mark.parametrize(("priority", "volume", "device_volume", "cap", "expected"), CASES)
def test_manifest_entries_never_exceed_the_cap_except_emergencies(
    priority: int, volume: int | None, device_volume: int, cap: int | None, expected: int
) -> None:
    core, player, _ = make_core()
    core.volume = device_volume
    core.receive_manifest(manifest(file_entry(volume=volume, priority=priority), max_volume=cap), T0)
    core.tick(T0)
    assert player.calls == [("play", "item-news", "0.000", str(expected))]
    assert core.status(T0).volume == expected


@pytest.mark.parametrize(("priority", "volume", "device_volume", "cap", "expected"), CASES)
def test_play_commands_never_exceed_the_cap_except_emergencies(
    priority: int, volume: int | None, device_volume: int, cap: int | None, expected: int
) -> None:
    core, player, _ = make_core()
    core.volume = device_volume
    core.receive_manifest(manifest(max_volume=cap), T0)
    params: dict[str, Any] = {"item_id": "cmd", "media_url": "https://x/m", "sha256": SHA, "duration_s": 30,
                              "priority": priority}  # fmt: skip
    if volume is not None:
        params["volume"] = volume
    command = sign_command(PRIVATE, topic=device_command_topic(DEVICE), seq=1, action="play", params=params,
                           issued_at=T0)  # fmt: skip
    accepted = core.receive_command(command.topic, encode(command), T0)
    assert accepted is not None
    core.execute(accepted, T0, Path("/dev/null"))
    assert player.calls == [("play", "cmd", "0.000", str(expected))]


def test_a_volume_command_above_the_cap_is_held_at_the_cap_and_a_new_cap_applies_at_once() -> None:
    core, player, _ = make_core()
    core.receive_manifest(manifest(file_entry(), max_volume=60), T0)
    core.tick(T0)
    command = sign_command(PRIVATE, topic=device_command_topic(DEVICE), seq=1, action="volume",
                           params={"volume": 95}, issued_at=T0)  # fmt: skip
    accepted = core.receive_command(command.topic, encode(command), T0)
    assert accepted is not None
    core.execute(accepted, T0)
    assert player.calls[-1] == ("volume", "60") and core.status(T0).volume == 60
    core.receive_manifest(manifest(file_entry(), max_volume=40, version=2), T0 + dt.timedelta(seconds=5))
    assert player.calls[-1] == ("volume", "40") and core.status(T0).volume == 40


@pytest.mark.mqtt
def test_a_relay_command_over_mosquitto_plays_and_nothing_enters_the_cache(
    server: Any, tmp_path: Path
) -> None:
    from loa_agent.media import MediaCache
    from loa_agent.runtime import RuntimeOptions
    from loa_agent.simulator import Simulator
    from loa_protocol.messages import CommandAck, PlayLogBatch

    cache = tmp_path / "cache"
    options = RuntimeOptions(heartbeat_s=5, backoff_initial_s=0.1, manifest_poll_s=0)
    sim = Simulator(
        [server.credentials(DEVICE, ["22", "06652"])], media_fetcher=MediaCache(cache), options=options
    )
    sim.start(wait_connected=10)
    try:
        topic = group_command_topic(["22", "06652"])
        command = server.command(topic, "play", {"item_id": "vov-live", "kind": "stream", "media_url": VOV,
                                                 "duration_s": 0.5, "priority": 2})  # fmt: skip
        server.publish(topic, encode(command))
        sim.wait_for(
            lambda: any(decode(CommandAck, p).status == "done" for _, p in server.received("ack")), 10
        )

        def uploaded() -> list[Any]:
            return [e for _, p in server.received("playlog") for e in decode(PlayLogBatch, p).events]

        sim.wait_for(lambda: len(uploaded()) >= 2, 10)
        events = uploaded()
        assert [(e.kind, e.item_id, e.media_sha256) for e in events] == [
            ("start", "vov-live", None),
            ("end", "vov-live", None),
        ]
        assert sim.devices[DEVICE].player.calls[0] == ("stream", "vov-live", VOV, "70")
        assert list(cache.iterdir()) == []  # a stream is never downloaded
    finally:
        sim.stop()
