"""The agent core's command paths without a broker: each action of a signed command, each refusal, the ladder.

A command goes through the core's public interface the way the runtime feeds it (the encoded bytes and the topic
they arrived on → ``receive_command`` → ``execute``), signed with a real Ed25519 key. The tests look only at what
leaves the core: what the player was told, the status it reports, the play-log rows in its store and the acks
with their reasons. (The same paths over a real Mosquitto: test_agent_mqtt.py; these run in milliseconds, so the
mutation run can select them.)"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from loa_agent.core import AgentCore, in_windows, stream_url_allowed
from loa_agent.player import NullPlayer
from loa_agent.playlog import MemoryPlayLogStore
from loa_protocol.ladder import BULLETIN, EMERGENCY, LIVE, NORMAL
from loa_protocol.messages import (
    BOARD_ACTIONS,
    REASON_CODES,
    Command,
    Manifest,
    ManifestEntry,
    PlayLogEvent,
    Window,
    encode,
    normalise_reason,
)
from loa_protocol.signing import ReplayGuard, generate_keypair, sign, sign_command
from loa_protocol.topics import device_command_topic, group_command_topic

DEVICE = "loa-0000000000c1"
OTHER = "loa-0000000000c2"
PRIVATE, PUBLIC = generate_keypair()
ATTACKER, _ = generate_keypair()
COMMUNE = group_command_topic(["22", "06652"])
PROVINCE = group_command_topic(["22"])
OWN = device_command_topic(DEVICE)
T0 = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC)  # 10:00 in Hà Nội
SHA = "ab" * 32
AUDIO = Path("/var/lib/loa-agent/media/ab.opus")


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@dataclass
class Speaker(NullPlayer):
    """The null sink that also remembers the file it was given and can claim a volume it really applies."""

    paths: list[Path | None] = field(default_factory=list)
    applied: int | None = None

    def play(self, item_id: str, path: Path | None, offset_s: float, volume: int) -> None:
        self.paths.append(path)
        super().play(item_id, path, offset_s, volume)

    def applied_volume(self) -> int | None:
        return self.applied


class Device:
    """One agent core with a null speaker, an in-memory play log and a media cache holding ``cached``."""

    def __init__(self, cached: dict[str, Path] | None = None, **core: Any) -> None:
        self.player = Speaker()
        self.store = MemoryPlayLogStore()
        self.cache = {SHA: AUDIO} if cached is None else cached
        self.seq: dict[str, int] = {}
        self.core = AgentCore(DEVICE, PUBLIC, self.player, self.store, media_lookup=self.cache.get, **core)

    def command(self, action: str, params: dict[str, Any] | None = None, topic: str = COMMUNE,
                key: str = PRIVATE, issued: dt.datetime = T0, **kwargs: Any) -> Command:  # fmt: skip
        seq = kwargs.pop("seq", None) or self.seq.get(topic, 0) + 1
        self.seq[topic] = max(seq, self.seq.get(topic, 0))
        return sign_command(
            key, topic=topic, seq=seq, action=action, params=params, issued_at=issued, **kwargs
        )

    def send(self, command: Command | bytes, now: dt.datetime, topic: str | None = None,
             media: Path | None = None) -> Command | None:  # fmt: skip
        """What the runtime does with a message on a command topic (the media already fetched, for play)."""
        payload = command if isinstance(command, bytes) else encode(command)
        if topic is None:
            assert isinstance(command, Command)
            topic = command.topic
        accepted = self.core.receive_command(topic, payload, now)
        if accepted is not None:
            self.core.execute(accepted, now, media)
        return accepted

    def run(self, action: str, params: dict[str, Any] | None = None, now: dt.datetime = T0,
            **kwargs: Any) -> Command:  # fmt: skip
        command = self.command(action, params, issued=kwargs.pop("issued", now), **kwargs)
        assert self.send(command, now) is not None
        return command

    def rows(self) -> list[PlayLogEvent]:
        return [event for _, event in self.store.oldest(10_000)]

    def log(self) -> list[tuple[str, str, str | None]]:
        return [(e.kind, e.item_id, e.reason) for e in self.rows()]

    def acks(self) -> list[tuple[uuid.UUID, str, str | None]]:
        return [(a.command_id, a.status, a.reason) for a in self.core.take_acks()]

    def on_air(self, now: dt.datetime) -> tuple[str, str | None, int | None, int]:
        status = self.core.status(now)
        return status.state, status.current_item, status.priority, status.volume


def play(item: str = "news", duration: float = 60, priority: int = NORMAL, **extra: Any) -> dict[str, Any]:
    return {"item_id": item, "media_url": f"https://loa.test/media/{SHA}", "sha256": SHA, "duration_s": duration,
            "priority": priority, **extra}  # fmt: skip


def manifest(windows: list[Window] | None = None, closed: bool = False, max_volume: int | None = None,
             version: int = 3, entries: list[ManifestEntry] | None = None) -> bytes:  # fmt: skip
    signed = sign(Manifest(device_id=DEVICE, version=version, generated_at=at(-3600), valid_from=at(-3600),
                           valid_until=at(86400), windows=windows or [], closed=closed, max_volume=max_volume,
                           entries=entries or []), PRIVATE)  # fmt: skip
    return encode(signed)


# --- play ----------------------------------------------------------------------------------------------------


def test_play_tells_the_player_reports_it_and_logs_start_and_end_with_the_command() -> None:
    device = Device()
    command = device.run("play", play("news", duration=60))
    assert device.player.calls == [("play", "news", "0.000", "70")]
    assert device.player.paths == [AUDIO]  # the cached file of its sha256
    assert device.on_air(at(10)) == ("playing", "news", NORMAL, 70)
    assert device.acks() == [(command.id, "received", None)]
    assert device.core.tick(at(10)) == at(60)  # the next moment the core has something to do
    device.core.tick(at(75))  # a late tick: the item still ends at its own end
    assert device.on_air(at(75)) == ("idle", None, None, 70)
    start, end = device.rows()
    assert (start.kind, start.at, start.offset_s, start.duration_s) == ("start", T0, 0.0, 60.0)
    assert (end.kind, end.at, end.offset_s, end.duration_s) == ("end", at(60), 60.0, 60.0)
    for row in (start, end):
        assert (row.device_id, row.item_id, row.media_sha256, row.priority) == (DEVICE, "news", SHA, NORMAL)
        assert (row.command_id, row.schedule_id, row.manifest_entry_id, row.reason) == (
            command.id,
            None,
            None,
            None,
        )
    assert device.acks() == [(command.id, "done", None)]
    assert device.core.tick(at(80)) is None


def test_play_uses_the_fetched_file_when_the_runtime_hands_one() -> None:
    device = Device(cached={})
    fetched = Path("/tmp/fetched.opus")
    assert device.send(device.command("play", play()), T0, media=fetched) is not None
    assert device.player.paths == [fetched]
    assert device.on_air(T0)[0] == "playing"


def test_play_without_the_file_fails_with_media_missing() -> None:
    device = Device(cached={})
    command = device.run("play", play("news"))
    assert device.player.calls == []
    assert device.on_air(T0) == ("idle", None, None, 70)
    assert device.log() == [("error", "news", "media_missing")]
    assert device.rows()[0].command_id == command.id
    assert device.acks() == [(command.id, "received", None), (command.id, "failed", "media_missing")]


def test_a_failed_fetch_is_acked_failed_and_logged_as_an_error() -> None:
    device = Device(cached={})
    command = device.command("play", play("news", priority=BULLETIN))
    accepted = device.core.receive_command(command.topic, encode(command), T0)
    assert accepted is not None
    device.core.fail(accepted, at(3), "sha256_mismatch")
    assert device.acks() == [(command.id, "received", None), (command.id, "failed", "sha256_mismatch")]
    (row,) = device.rows()
    assert (row.kind, row.item_id, row.reason, row.at, row.priority) == ("error", "news", "sha256_mismatch",
                                                                         at(3), BULLETIN)  # fmt: skip
    assert (row.command_id, row.media_sha256, row.offset_s, row.duration_s) == (command.id, SHA, 0.0, None)
    assert device.player.calls == []


def test_a_failed_non_play_command_is_only_acked() -> None:
    device = Device()
    command = device.command("reboot")
    accepted = device.core.receive_command(command.topic, encode(command), T0)
    assert accepted is not None
    device.core.fail(accepted, T0, "error")
    assert device.acks()[-1] == (command.id, "failed", "error")
    assert device.rows() == []


def test_an_item_volume_and_the_emergency_volume() -> None:
    device = Device()
    device.run("play", play("quiet", volume=30))
    assert device.player.calls[-1] == ("play", "quiet", "0.000", "30")
    assert device.on_air(T0)[3] == 30
    device.run("play", play("alert", duration=10, priority=EMERGENCY), now=at(5))
    assert device.player.calls[-2:] == [("stop",), ("play", "alert", "0.000", "100")]
    assert device.on_air(at(5)) == ("playing", "alert", EMERGENCY, 100)
    device.run("play", play("alert-2", duration=10, priority=EMERGENCY, volume=80), now=at(6))
    device.core.tick(at(15))
    assert device.player.calls[-1] == ("play", "alert-2", "0.000", "80")  # its own level, not the default


def test_a_repeated_play_logs_each_round_and_acks_done_once() -> None:
    device = Device()
    command = device.run("play", play("alert", duration=10, priority=EMERGENCY, repeat=2))
    device.core.tick(at(25))
    assert device.log() == [("start", "alert", "repeat 1/2"), ("end", "alert", None),
                            ("start", "alert", "repeat 2/2"), ("end", "alert", None)]  # fmt: skip
    assert [row.at for row in device.rows()] == [T0, at(10), at(10), at(20)]
    assert [a[1] for a in device.acks()] == ["received", "done"]
    assert command.id in {row.command_id for row in device.rows()}


def test_play_outside_the_manifest_windows_is_refused_but_an_emergency_plays() -> None:
    device = Device()
    device.core.receive_manifest(manifest(windows=[Window(start="05:00", end="08:00")]), T0)  # 10:00 local
    normal = device.run("play", play("news"))
    assert device.acks() == [(normal.id, "received", None), (normal.id, "refused", "outside_window")]
    assert device.log() == [("refused", "news", "outside_window")]
    assert device.core.refusals == {"outside_window": 1}
    device.run("play", play("alert", priority=EMERGENCY))
    assert device.on_air(T0)[:2] == ("playing", "alert")


def test_play_inside_the_manifest_windows_plays() -> None:
    device = Device()
    device.core.receive_manifest(manifest(windows=[Window(start="09:00", end="11:00")]), T0)
    device.run("play", play("news"))
    assert device.on_air(T0)[:2] == ("playing", "news")


def test_a_closed_manifest_refuses_everything_but_emergencies() -> None:
    device = Device()
    device.core.receive_manifest(manifest(closed=True), T0)
    device.run("play", play("relay", priority=LIVE))
    device.run("play", play("alert", priority=EMERGENCY))
    assert device.log() == [("refused", "relay", "outside_window"), ("start", "alert", None)]


def test_the_retained_manifest_handed_again_on_a_reconnect_is_not_checked_twice_and_a_forgery_still_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The broker hands a device its retained manifest on every reconnect: the very bytes it verified are the same
    manifest (no second decode and signature check, nothing rewritten, no change reported); any other bytes of the
    same version — re-signed by someone else — go through every check and are refused."""
    import loa_agent.core as core_module

    verified: list[int] = []
    real = core_module.verify_manifest
    monkeypatch.setattr(
        core_module, "verify_manifest", lambda m, *a: (verified.append(m.version), real(m, *a))[1]
    )
    changes: list[None] = []
    device = Device(on_change=lambda: changes.append(None))
    payload = manifest(closed=True)
    held = device.core.receive_manifest(payload, T0)
    assert held is not None and held.closed and verified == [3] and len(changes) == 1
    assert device.core.receive_manifest(payload, at(60)) is held
    assert verified == [3] and len(changes) == 1  # the same bytes: taken as held
    forged = json.loads(payload)
    forged["closed"] = False  # the same version, the signature no longer matches
    assert device.core.receive_manifest(json.dumps(forged).encode(), at(120)) is None
    assert verified == [3, 3] and device.core.refusals == {"manifest_bad_signature": 1}
    assert device.core.manifest is held and device.core.manifest.closed
    forged_by_another = encode(sign(Manifest.model_validate(forged | {"signature": ""}), ATTACKER))
    assert device.core.receive_manifest(forged_by_another, at(180)) is None
    assert device.core.refusals == {"manifest_bad_signature": 2} and device.core.manifest is held


def test_a_stream_play_goes_to_the_player_as_a_stream_and_a_bad_url_is_refused() -> None:
    device = Device()
    stream = {"item_id": "vov1", "kind": "stream", "media_url": "https://stream.vov.vn/vov1.aac",
              "duration_s": 30, "priority": LIVE}  # fmt: skip
    device.run("play", stream)
    assert device.player.calls == [("stream", "vov1", "https://stream.vov.vn/vov1.aac", "70")]
    assert device.on_air(T0) == ("playing", "vov1", LIVE, 70)
    bad = device.run("play", {**stream, "item_id": "evil", "media_url": "file:///etc/shadow"}, now=at(1))
    assert device.acks()[-1] == (bad.id, "refused", "stream_url_invalid")
    assert device.log()[-1] == ("refused", "evil", "stream_url_invalid")
    assert device.on_air(at(1))[1] == "vov1"


def test_a_queued_play_whose_time_ran_out_is_refused_when_its_turn_comes() -> None:
    device = Device()
    device.run("play", play("first", duration=60))
    late = device.run("play", play("second", play_until=at(30).isoformat()), now=at(1))
    device.core.tick(at(60))
    assert device.log()[-1] == ("refused", "second", "window_closed")
    assert device.acks()[-1] == (late.id, "refused", "window_closed")
    assert device.on_air(at(60))[0] == "idle"


# --- the ladder through commands: the topic gives the level ----------------------------------------------------


def test_a_live_on_the_device_topic_cannot_take_the_air_from_the_communes_live() -> None:
    device = Device()
    device.run("play", play("commune-live", priority=LIVE))
    own = device.run("play", play("own-live", priority=LIVE), topic=OWN, now=at(5))
    assert device.acks()[-1] == (own.id, "refused", "live_busy")
    assert device.on_air(at(5))[1] == "commune-live"
    assert device.core.refusals == {"live_busy": 1}


def test_a_live_from_a_higher_unit_takes_the_air_and_the_lower_one_resumes_after() -> None:
    device = Device()
    device.run("play", play("own-live", duration=100, priority=LIVE), topic=OWN)
    device.run("play", play("commune-live", duration=30, priority=LIVE), now=at(10))
    device.run("play", play("province-live", duration=20, priority=LIVE), topic=PROVINCE, now=at(20))
    device.run("play", play("commune-again", priority=LIVE), now=at(25))  # a lower unit than the one on air
    assert device.log() == [
        ("start", "own-live", None),
        ("interrupted", "own-live", "preempted_by:commune-live"),
        ("start", "commune-live", None),
        ("interrupted", "commune-live", "preempted_by:province-live"),
        ("start", "province-live", None),
        ("refused", "commune-again", "live_busy"),
    ]
    device.core.tick(at(40))  # the province's live ends: the commune's resumes where it stopped (10 s in)
    assert device.on_air(at(40))[1] == "commune-live"
    assert device.player.calls[-1] == ("play", "commune-live", "10.000", "70")
    assert device.log()[-1] == ("start", "commune-live", "resumed")


def test_a_bulletin_waits_for_the_item_end_and_goes_before_queued_normal_items() -> None:
    device = Device()
    device.run("play", play("n1", duration=60))
    device.run("play", play("n2", duration=60), now=at(1))
    device.run("play", play("bulletin", duration=30, priority=BULLETIN), now=at(2))
    assert device.on_air(at(2))[1] == "n1"
    device.core.tick(at(60))
    assert device.on_air(at(60))[:3] == ("playing", "bulletin", BULLETIN)
    device.core.tick(at(90))
    assert device.on_air(at(90))[1] == "n2"


# --- stop, pause, resume, next, volume, reboot, refresh_manifest --------------------------------------------


def test_stop_all_ends_what_plays_drops_what_waits_and_reports_stopped() -> None:
    device = Device()
    device.run("play", play("n1", duration=60))
    device.run("play", play("n2"), now=at(1))
    device.run("play", play("alert", duration=30, priority=EMERGENCY), now=at(10))
    device.core.take_acks()
    stop = device.run("stop", now=at(25))
    assert device.acks() == [(stop.id, "received", None), (stop.id, "done", None)]
    assert device.player.calls[-1] == ("stop",)
    assert device.on_air(at(25)) == ("stopped", None, None, 70)
    assert device.log()[-3:] == [("interrupted", "alert", "stopped"), ("refused", "n1", "stopped"),
                                 ("refused", "n2", "stopped")]  # fmt: skip
    interrupted, suspended, _ = device.rows()[-3:]
    assert (interrupted.offset_s, interrupted.duration_s, interrupted.at) == (15.0, 15.0, at(25))
    assert (suspended.offset_s, suspended.duration_s) == (10.0, None)
    assert device.core.tick(at(100)) is None  # nothing resumes
    device.run("play", play("n3"), now=at(100))
    assert device.on_air(at(100))[:2] == ("playing", "n3")


def test_stop_with_nothing_playing_reports_stopped() -> None:
    device = Device()
    device.run("stop")
    assert device.player.calls == [] and device.rows() == []
    assert device.on_air(T0)[0] == "stopped"


def test_stop_of_one_item_cancels_it_where_it_waits_and_where_it_plays() -> None:
    device = Device()
    device.run("play", play("a", duration=60))
    device.run("play", play("b", duration=60), now=at(1))
    device.run("play", play("c", duration=60), now=at(2))
    device.run("stop", {"item_id": "b"}, now=at(5))
    assert device.on_air(at(5))[1] == "a"  # another item's cancel leaves it alone
    assert device.log()[-1] == ("refused", "b", "cancelled")
    device.run("stop", {"item_id": "a"}, now=at(20))
    assert device.log()[-2:] == [("interrupted", "a", "cancelled"), ("start", "c", None)]
    cancelled = device.rows()[-2]
    assert (cancelled.offset_s, cancelled.duration_s) == (20.0, 20.0)
    assert device.player.calls[-2:] == [("stop",), ("play", "c", "0.000", "70")]
    assert device.on_air(at(20)) == ("playing", "c", NORMAL, 70)


def test_stop_of_an_interrupted_item_keeps_it_from_resuming() -> None:
    device = Device()
    device.run("play", play("news", duration=60))
    device.run("play", play("alert", duration=10, priority=EMERGENCY), now=at(5))
    device.run("stop", {"item_id": "news"}, now=at(6))
    assert device.log()[-1] == ("refused", "news", "cancelled")
    assert device.rows()[-1].offset_s == 5.0
    device.core.tick(at(15))
    assert device.on_air(at(15))[0] == "idle"


def test_pause_and_resume_freeze_and_continue_the_position() -> None:
    device = Device()
    device.run("play", play("news", duration=60))
    pause = device.run("pause", now=at(20))
    assert device.player.calls[-1] == ("pause",)
    assert device.on_air(at(20)) == ("paused", "news", NORMAL, 70)
    assert device.core.tick(at(500)) is None  # a paused item does not end
    assert [a[1:] for a in device.acks() if a[0] == pause.id] == [("received", None), ("done", None)]
    device.run("pause", now=at(30))  # paused already: the player is not told twice
    assert device.player.calls.count(("pause",)) == 1
    device.run("resume", now=at(600))
    assert device.player.calls[-1] == ("resume",)
    assert device.on_air(at(600))[0] == "playing"
    assert device.core.tick(at(600)) == at(640)  # 40 s were left
    device.run("next", now=at(610))
    interrupted = device.rows()[-1]
    assert (interrupted.kind, interrupted.offset_s, interrupted.duration_s) == ("interrupted", 30.0, 10.0)


def test_resume_of_an_interrupted_item_keeps_its_resumed_start() -> None:
    device = Device()
    device.run("play", play("news", duration=60))
    device.run("play", play("alert", duration=10, priority=EMERGENCY), now=at(20))
    device.core.tick(at(30))  # news resumes at 20 s
    device.run("pause", now=at(40))
    device.run("resume", now=at(50))
    assert device.core.tick(at(50)) == at(80)  # 20 s before, 10 s after the alert, 30 s left


def test_pause_resume_and_next_with_nothing_playing_tell_the_player_nothing() -> None:
    device = Device()
    for action in ("pause", "resume", "next"):
        command = device.run(action)
        assert device.acks() == [(command.id, "received", None), (command.id, "done", None)]
    assert device.player.calls == []
    assert device.rows() == []
    device.run("play", play("news"))
    device.run("resume", now=at(1))  # playing, not paused: nothing to resume
    assert device.player.calls == [("play", "news", "0.000", "70")]


def test_next_skips_to_the_queue_head() -> None:
    device = Device()
    device.run("play", play("a", duration=60))
    device.run("play", play("b", duration=60), now=at(1))
    device.run("next", now=at(15))
    assert device.log() == [("start", "a", None), ("interrupted", "a", "next"), ("start", "b", None)]
    skipped = device.rows()[1]
    assert (skipped.at, skipped.offset_s, skipped.duration_s) == (at(15), 15.0, 15.0)
    assert device.player.calls[-2:] == [("stop",), ("play", "b", "0.000", "70")]
    device.run("next", now=at(20))
    assert device.on_air(at(20)) == ("idle", None, None, 70)  # nothing interrupted resumes after a next


def test_volume_applies_at_once_within_the_manifest_cap() -> None:
    device = Device()
    command = device.run("volume", {"volume": 40})
    assert device.acks() == [(command.id, "received", None), (command.id, "done", None)]
    assert device.player.calls == [("volume", "40")]
    assert device.on_air(T0) == ("idle", None, None, 40)
    device.run("play", play("news"))
    assert device.player.calls[-1] == ("play", "news", "0.000", "40")
    device.core.receive_manifest(manifest(max_volume=50), at(1))
    device.run("volume", {"volume": 90}, now=at(2))
    assert device.player.calls[-1] == ("volume", "50")
    assert device.on_air(at(2)) == ("playing", "news", NORMAL, 50)


def test_volume_leaves_an_item_with_its_own_volume_alone_until_it_ends() -> None:
    device = Device()
    device.run("play", play("quiet", duration=10, volume=20))
    device.run("play", play("next-one", duration=10), now=at(1))
    device.run("volume", {"volume": 60}, now=at(2))
    assert device.player.calls == [("play", "quiet", "0.000", "20")]
    assert device.on_air(at(2))[3] == 20
    device.core.tick(at(10))
    assert device.player.calls[-1] == ("play", "next-one", "0.000", "60")


def test_the_status_reports_the_volume_the_player_really_applies() -> None:
    device = Device()
    device.player.applied = 55
    assert device.on_air(T0)[3] == 70  # nothing plays: the volume asked for
    device.run("play", play("news"))
    assert device.on_air(T0)[3] == 55


@pytest.mark.parametrize("action", ["reboot", "refresh_manifest"])
def test_reboot_and_refresh_are_acked_and_leave_playback_alone(action: str) -> None:
    device = Device()
    device.run("play", play("news"))
    command = device.run(action, now=at(1))
    assert device.acks()[-2:] == [(command.id, "received", None), (command.id, "done", None)]
    assert device.player.calls == [("play", "news", "0.000", "70")]
    assert device.on_air(at(1))[:2] == ("playing", "news")


def test_every_change_is_announced_to_the_runtime() -> None:
    changes: list[int] = []
    device = Device(on_change=lambda: changes.append(1))
    for action in ("pause", "resume", "next", "reboot", "refresh_manifest", "stop"):
        before = len(changes)
        command = device.command(action)
        accepted = device.core.receive_command(command.topic, encode(command), T0)
        assert accepted is not None
        device.core.take_acks()
        device.core.execute(accepted, T0)
        assert len(changes) > before + 1, action  # the ack and the end of the command both wake the runtime


def test_status_fields() -> None:
    device = Device(firmware="loa-agent 1.4")
    assert device.core.status(T0).uptime_s == 0  # never ticked
    device.core.tick(T0)
    device.core.receive_manifest(manifest(version=7), T0)
    device.run("play", play("news", priority=BULLETIN), now=at(5))
    status = device.core.status(at(125), link="4g", signal_dbm=-71, battery_pct=80)
    assert (status.device_id, status.ts, status.uptime_s, status.firmware) == (DEVICE, at(125), 125,
                                                                              "loa-agent 1.4")  # fmt: skip
    assert (status.state, status.current_item, status.priority, status.volume) == ("playing", "news",
                                                                                  BULLETIN, 70)  # fmt: skip
    assert (status.manifest_version, status.link, status.signal_dbm, status.battery_pct) == (7, "4g", -71, 80)


# --- refusals ----------------------------------------------------------------------------------------------


def test_commands_the_device_must_not_act_on_are_refused_with_their_reason() -> None:
    device = Device(enrolled_at=at(-600))
    genuine = device.command("play", play("genuine"))
    assert device.send(genuine, T0) is not None
    forged = device.command("play", play("forged"), key=ATTACKER)
    tampered = Command.model_validate({**json.loads(encode(genuine)), "id": str(uuid.uuid4()), "seq": 90,
                                       "params": play("tampered")})  # fmt: skip
    unsigned = device.command("play", play("unsigned")).model_copy(update={"signature": ""})
    expired = device.command("play", play("expired"), issued=at(-3600), expires_at=at(-1800))
    just_expired = device.command("play", play("just-expired"), issued=at(-600), expires_at=T0)
    future = device.command("play", play("future"), issued=at(121))
    before = device.command("play", play("before"), issued=at(-601), ttl=dt.timedelta(hours=1))
    other_device = device.command("play", play("for-another"), topic=device_command_topic(OTHER))
    cases = [(forged, "bad_signature"), (tampered, "bad_signature"), (unsigned, "unsigned"), (expired, "expired"),
             (just_expired, "expired"), (future, "not_yet_valid"), (before, "before_enrolment"),
             (genuine, "replayed")]  # fmt: skip
    for command, reason in cases:
        assert device.send(command, T0) is None, reason
    assert device.send(other_device, T0, topic=OWN) is None  # re-published on this device's own topic
    acks = device.acks()
    assert acks[0] == (genuine.id, "received", None)
    assert acks[1:] == [(c.id, "refused", r) for c, r in cases] + [(other_device.id, "refused",
                                                                            "wrong_topic")]  # fmt: skip
    assert device.core.refusals == {"bad_signature": 2, "unsigned": 1, "expired": 2, "not_yet_valid": 1,
                                    "before_enrolment": 1, "replayed": 1, "wrong_topic": 1}  # fmt: skip
    assert device.player.calls == [("play", "genuine", "0.000", "70")]  # nothing else ever played
    assert device.log() == [("start", "genuine", None)]
    # the limits: issued exactly 120 s ahead, or at the instant of enrolment, is accepted
    assert device.send(device.command("pause", issued=at(120)), T0) is not None
    assert device.send(device.command("resume", issued=at(-600), ttl=dt.timedelta(hours=1)), T0) is not None
    # the forged seq 90 did not move the replay guard: the next genuine command still passes
    assert device.send(device.command("stop"), T0) is not None  # seq 10 < 90


COMMAND_ID = "5b0c6a8e-2f4d-4c1e-9a53-0d6f1e2b3c4d"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (json.dumps({"v": 1, "id": COMMAND_ID, "action": "shell"}).encode(), "invalid"),
        (json.dumps({"v": 2, "id": COMMAND_ID, "action": "stop"}).encode(), "unsupported_version"),
        (json.dumps({"id": COMMAND_ID, "pad": "x" * 17_000}).encode(), "too_large"),
        (b"{not json", None),
        (b"[]", None),
        (b'"5b0c6a8e-2f4d-4c1e-9a53-0d6f1e2b3c4d"', None),
        (b'{"id": "not-a-uuid"}', None),
        (b'{"v": 1}', None),
        (b"", None),
        (b"\xff", None),
    ],
    ids=[
        "unknown action",
        "version 2",
        "too large",
        "not json",
        "a list",
        "a string",
        "bad id",
        "no id",
        "empty",
        "not utf-8",
    ],
)
def test_a_payload_that_is_not_a_command_is_refused_and_acked_when_its_id_can_be_read(
    payload: bytes, reason: str | None
) -> None:
    device = Device()
    assert device.send(payload, T0, topic=COMMUNE) is None
    expected = [] if reason is None else [(uuid.UUID(COMMAND_ID), "refused", reason)]
    assert device.acks() == expected
    assert device.core.refusals == {"invalid": 1}
    assert device.player.calls == [] and device.rows() == []


def test_the_replay_guard_file_keeps_a_command_from_playing_twice_after_a_restart(tmp_path: Path) -> None:
    guard_file = tmp_path / "replay.json"
    first = Device(guard=ReplayGuard(guard_file))
    command = first.command("play", play("news"))
    assert first.send(command, T0) is not None
    again = Device(guard=ReplayGuard(guard_file))
    assert again.send(command, at(1)) is None
    assert again.acks() == [(command.id, "refused", "replayed")]


@pytest.mark.parametrize("cached", [False, True])
def test_the_simulators_shared_caches_give_the_same_answers(cached: bool) -> None:
    """The simulator shares one decode and one signature cache between thousands of cores: a payload decoded or
    verified for one device gives the same verdict to the next, bad payloads included."""
    caches: dict[str, Any] = {"signature_cache": {}, "decode_cache": {}} if cached else {}
    devices = [Device(**caches), Device(**caches)]
    good = devices[0].command("play", play("news"))
    forged = devices[0].command("play", play("forged"), key=ATTACKER)
    shell = json.dumps({"v": 1, "id": str(uuid.uuid4()), "action": "shell"}).encode()
    for device in devices:
        assert device.send(good, T0) is not None
        assert device.send(forged, T0) is None
        assert device.send(shell, T0, topic=COMMUNE) is None
        assert device.send(shell, T0, topic=COMMUNE) is None
        assert device.on_air(T0)[1] == "news"
        assert device.core.refusals == {"bad_signature": 1, "invalid": 2}
    if cached:
        assert len(caches["decode_cache"]) == 3
        assert set(caches["signature_cache"].values()) == {True, False}


# --- edges found by mutation testing (docs/benchmarks.md, "Mutation score") ---------------------------------


ZONE = group_command_topic(["22", "06652", "thon-3"])


def test_a_live_from_a_lower_unit_than_the_one_on_air_is_refused() -> None:
    device = Device()
    device.run("play", play("commune-live", priority=LIVE))
    zone = device.run("play", play("zone-live", priority=LIVE), topic=ZONE, now=at(5))
    assert device.acks()[-1] == (zone.id, "refused", "live_busy")
    assert device.on_air(at(5))[1] == "commune-live"


def test_a_queued_item_whose_time_ends_the_moment_its_turn_comes_is_refused() -> None:
    device = Device()
    device.run("play", play("first", duration=60))
    device.run("play", play("second", play_until=at(60).isoformat()), now=at(1))
    device.core.tick(at(60))
    assert device.log()[-1] == ("refused", "second", "window_closed")


def test_a_plain_http_stream_plays() -> None:
    device = Device()
    url = "http://radio.loa.test:8000/xa.mp3"
    device.run(
        "play", {"item_id": "relay", "kind": "stream", "media_url": url, "duration_s": 30, "priority": LIVE}
    )
    assert device.player.calls == [("stream", "relay", url, "70")]
    assert not stream_url_allowed(None) and not stream_url_allowed("")


def test_an_item_skipped_the_moment_it_started_played_nothing() -> None:
    device = Device()
    device.run("play", play("news"))
    device.run("next")
    skipped = device.rows()[-1]
    assert (skipped.kind, skipped.offset_s, skipped.duration_s) == ("interrupted", 0.0, 0.0)


@pytest.mark.parametrize(
    ("how", "row"),
    [
        ("end", ("end", None, 60.0, 30.0, at(80))),
        ("stop", ("interrupted", "stopped", 35.0, 5.0, at(55))),
        ("cancel", ("interrupted", "cancelled", 35.0, 5.0, at(55))),
        ("next", ("interrupted", "next", 35.0, 5.0, at(55))),
        ("preempt", ("interrupted", "preempted_by:alert-3", 35.0, 5.0, at(55))),
    ],
)
def test_the_rows_of_an_item_resumed_twice_count_from_where_it_resumed(
    how: str, row: tuple[Any, ...]
) -> None:
    """news (60 s) is interrupted at 20 s and 30 s by alerts; each row of its last part says where it was
    (offset) and how long that part played (duration), not the whole item's."""
    device = Device()
    device.run("play", play("news", duration=60))
    device.run("play", play("alert-1", duration=10, priority=EMERGENCY), now=at(20))
    device.core.tick(at(30))
    device.run("play", play("alert-2", duration=10, priority=EMERGENCY), now=at(40))
    device.core.tick(at(50))  # news resumes at 30 s
    assert device.player.calls[-1] == ("play", "news", "30.000", "70")
    second = [r for r in device.rows() if r.item_id == "news" and r.kind == "interrupted"][1]
    assert (second.offset_s, second.duration_s) == (30.0, 10.0)
    if how == "end":
        device.core.tick(at(80))
    elif how == "stop":
        device.run("stop", now=at(55))
    elif how == "cancel":
        device.run("stop", {"item_id": "news"}, now=at(55))
    elif how == "next":
        device.run("next", now=at(55))
    else:
        device.run("play", play("alert-3", duration=10, priority=EMERGENCY), now=at(55))
    last = [r for r in device.rows() if r.item_id == "news"][-1]
    assert (last.kind, last.reason, last.offset_s, last.duration_s, last.at) == row


def test_the_next_round_of_a_resumed_repeat_starts_from_the_beginning() -> None:
    device = Device()
    device.run("play", play("relay", duration=10, priority=LIVE, repeat=2))
    device.run("play", play("alert", duration=10, priority=EMERGENCY), now=at(5))
    device.core.tick(at(15))  # the relay resumes 5 s in and ends at 20 s
    device.core.tick(at(20))
    assert device.player.calls[-2:] == [("play", "relay", "5.000", "70"), ("play", "relay", "0.000", "70")]
    assert device.log()[-1] == ("start", "relay", "repeat 2/2")


def test_an_interrupted_item_goes_before_a_queued_one_of_the_same_class() -> None:
    device = Device()
    device.run("play", play("a", duration=60))
    device.run("play", play("b", duration=60), now=at(1))
    device.run("play", play("alert", duration=10, priority=EMERGENCY), now=at(10))
    device.core.tick(at(20))
    assert device.on_air(at(20))[1] == "a"


def test_after_an_interrupted_item_whose_time_ran_out_the_queue_goes_on() -> None:
    device = Device()
    device.run("play", play("a", duration=60, play_until=at(30).isoformat()))
    device.run("play", play("b", duration=60), now=at(1))
    device.run("play", play("alert", duration=20, priority=EMERGENCY), now=at(10))
    device.core.tick(at(30))
    assert device.log()[-2:] == [("refused", "a", "window_closed"), ("start", "b", None)]


def test_a_volume_command_during_an_emergency_keeps_the_emergency_level() -> None:
    alert = ManifestEntry(entry_id="bao", start=T0, end=at(600), item_id="bao-lu", media_url="https://x/b.mp3",
                          sha256=SHA, duration_s=60, priority=EMERGENCY)  # fmt: skip
    device = Device()
    device.core.receive_manifest(manifest(entries=[alert], max_volume=50), T0)
    device.core.tick(T0)
    assert device.player.calls == [("play", "bao-lu", "0.000", "100")]
    device.run("volume", {"volume": 40}, now=at(1))
    assert device.player.calls[-1] == ("volume", "100")
    assert device.on_air(at(1))[3] == 100
    commanded = Device()
    commanded.run("play", play("alert", priority=EMERGENCY))
    commanded.run("volume", {"volume": 40}, now=at(1))
    assert commanded.player.calls == [("play", "alert", "0.000", "100")]  # its own level: nothing to change
    assert commanded.on_air(at(1))[3] == 100


def test_manifest_windows_are_read_in_the_manifests_time_zone() -> None:
    device = Device()
    windows = [Window(start="02:00", end="04:00")]
    utc = Manifest.model_validate(
        {**json.loads(manifest(windows=windows)), "timezone": "UTC", "signature": ""}
    )
    device.core.receive_manifest(encode(sign(utc, PRIVATE)), T0)
    device.run("play", play("news"))  # 03:00 UTC
    assert device.on_air(T0)[1] == "news"
    assert not in_windows(T0, [], "Asia/Ho_Chi_Minh", closed=True)


def _manifest_payload(**changes: Any) -> bytes:
    data = {**json.loads(manifest(version=5)), **changes}
    data.pop("signature")
    return encode(sign(Manifest.model_validate(data), PRIVATE))


@pytest.mark.parametrize(
    ("payload", "reason", "version"),
    [
        (encode(sign(Manifest.model_validate_json(manifest(version=6)), ATTACKER)), "bad_signature", 6),
        (_manifest_payload(device_id=OTHER), "wrong_device", 5),
        (_manifest_payload(version=4), "stale_manifest", 4),
        (b"[]", "invalid", None),
        (b"{not json", "malformed_json", None),
        (json.dumps({"version": 0}).encode(), "invalid", None),
        (json.dumps({"version": True}).encode(), "invalid", None),
        (json.dumps({"version": 1}).encode(), "invalid", 1),
    ],
    ids=[
        "forged",
        "another device",
        "older",
        "a list",
        "not json",
        "version 0",
        "version true",
        "only a version",
    ],
)
def test_a_refused_manifest_is_reported_with_its_reason_and_version(
    payload: bytes, reason: str, version: int | None
) -> None:
    device = Device()
    assert device.core.receive_manifest(_manifest_payload(), T0) is not None  # version 5
    assert device.core.receive_manifest(payload, at(1)) is None
    (ack,) = device.core.take_manifest_acks()
    assert (ack.device_id, ack.reason, ack.manifest_version, ack.at) == (DEVICE, reason, version, at(1))
    assert device.core.refusals == {f"manifest_{reason}": 1}
    assert device.core.status(at(1)).manifest_version == 5


def test_the_manifest_is_kept_on_disk_for_the_next_start(tmp_path: Path) -> None:
    first = Device(state_dir=tmp_path)
    first.core.receive_manifest(manifest(version=9, max_volume=30), T0)
    again = Device(state_dir=tmp_path)
    assert again.core.status(T0).manifest_version == 9
    again.run("play", play("news"))
    assert again.player.calls == [("play", "news", "0.000", "30")]
    (tmp_path / "manifest.json").write_bytes(manifest(version=10)[:-5])  # cut short by a power cut
    assert Device(state_dir=tmp_path).core.status(T0).manifest_version is None


def test_media_wanted_lists_what_to_fetch_in_the_next_48_hours() -> None:
    def entry(name: str, start: float, end: float, sha: str) -> ManifestEntry:
        return ManifestEntry(entry_id=name, start=at(start), end=at(end), item_id=name, media_url="https://x/m",
                             sha256=sha, duration_s=30)  # fmt: skip

    hours = 3600.0
    entries = [
        entry("cached", 60, 120, SHA),
        entry("soon", 60, 120, "01" * 32),
        entry("over", -120, 0, "02" * 32),  # ended at this instant
        entry("last-minute", -120, 1, "03" * 32),
        entry("at-the-horizon", 48 * hours, 49 * hours, "04" * 32),
        entry("inside", 48 * hours - 1, 49 * hours, "05" * 32),
    ]
    device = Device()
    assert device.core.media_wanted(T0) == []  # no manifest yet
    device.core.receive_manifest(manifest(entries=entries), T0)
    assert [e.entry_id for e in device.core.media_wanted(T0)] == ["soon", "last-minute", "inside"]


@pytest.mark.parametrize("cached", [False, True])
def test_a_signed_command_padded_past_16_kib_is_refused_as_too_large(cached: bool) -> None:
    caches: dict[str, Any] = {"signature_cache": {}, "decode_cache": {}} if cached else {}
    device = Device(**caches)
    command = device.command("play", play("padded"))
    payload = encode(command).replace(b"{", b"{" + b" " * 17_000, 1)  # the same command, signature valid
    assert device.send(payload, T0, topic=COMMUNE) is None
    assert device.acks() == [(command.id, "refused", "too_large")]
    assert device.send(command, T0) is not None  # unpadded it is fine


BOARD_PARAMS: dict[str, dict[str, Any]] = {"brightness": {"brightness": 40}, "kill_switch": {"engaged": True}}


@pytest.mark.parametrize("action", sorted(BOARD_ACTIONS))
def test_a_board_action_is_refused_as_not_supported_and_leaves_playback_alone(action: str) -> None:
    """A loudspeaker has no screen: a validly signed board action (reload, screen_on, …) is received, then
    refused with ``not_supported`` — before, it was acked ``done`` as if the cluster had carried it out."""
    device = Device()
    device.run("play", play("news"))
    device.acks()
    command = device.run(action, BOARD_PARAMS.get(action, {}), now=at(1))
    assert device.acks() == [(command.id, "received", None), (command.id, "refused", "not_supported")]
    assert device.core.refusals == {"not_supported": 1}
    assert device.player.calls == [("play", "news", "0.000", "70")]
    assert device.on_air(at(1))[:2] == ("playing", "news")
    assert "not_supported" in REASON_CODES and normalise_reason("not_supported") == "not_supported"


def test_a_manifest_entry_joined_late_names_its_schedule_and_entry_in_its_rows() -> None:
    entry = ManifestEntry(entry_id="e-7", start=T0, end=at(600), item_id="news", media_url="https://x/m.mp3",
                          sha256=SHA, duration_s=60, schedule_id="lich-3")  # fmt: skip
    device = Device()
    device.core.receive_manifest(manifest(entries=[entry]), T0)
    device.core.tick(at(2.4567))  # a device that woke up 2.4567 s late joins the entry where it is
    (start,) = device.rows()
    assert (start.kind, start.schedule_id, start.manifest_entry_id, start.command_id) == (
        "start",
        "lich-3",
        "e-7",
        None,
    )
    assert (start.offset_s, start.duration_s, start.at) == (2.457, 60.0, at(2.4567))
    assert device.player.calls == [("play", "news", "2.457", "70")]
