"""The agent's brain: a clock-driven state machine with no threads and no network.

It verifies commands and manifests, applies the priority ladder, drives a :class:`~loa_agent.player.Player` and
records play-log events. Every method takes ``now``; :meth:`AgentCore.tick` returns when it next needs to be called.
The runtime (:mod:`loa_agent.runtime`) feeds it MQTT messages; a simulated week can feed it a manual clock.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from loa_agent.player import Player
from loa_agent.playlog import PlayLogStore
from loa_protocol import windows as wnd
from loa_protocol.ladder import EMERGENCY, Decision, decide, obeys_windows
from loa_protocol.messages import (
    BOARD_ACTIONS,
    MAX_COMMAND_BYTES,
    MAX_MANIFEST_BYTES,
    AckStatus,
    Command,
    CommandAck,
    Manifest,
    ManifestAck,
    ManifestEntry,
    PlayLogEvent,
    PlayLogKind,
    PlayParams,
    ProtocolError,
    Status,
    StopParams,
    VolumeParams,
    Window,
    decode,
)
from loa_protocol.signing import (
    CommandRejected,
    ReplayGuard,
    signature_is_valid,
    verify_command,
    verify_manifest,
    write_atomic,
)
from loa_protocol.topics import group_unit_codes

log = logging.getLogger(__name__)

EMERGENCY_VOLUME = 100
DEVICE_TOPIC_LEVEL = 99  # a command on the device's own topic ranks below every unit level
LATE_JOIN_GRACE_S = 1.0


@dataclass
class PlayItem:
    item_id: str
    duration_s: float
    priority: int
    sha256: str | None = None
    media_url: str | None = None
    path: Path | None = None
    kind: str = "file"  # or "stream": a live relay played from media_url, never downloaded
    repeat: int = 1
    volume: int | None = None
    command_id: uuid.UUID | None = None
    schedule_id: str | None = None
    manifest_entry_id: str | None = None
    play_until: dt.datetime | None = None
    level: int = DEVICE_TOPIC_LEVEL
    order: float = 0.0
    offset_s: float = 0.0
    repeat_index: int = 1

    def window_open(self, now: dt.datetime) -> bool:
        return self.play_until is None or now < self.play_until

    def stream_url_ok(self) -> bool:
        """A stream plays only from an http(s) URL (never file://, rtsp://, a local device or a shell word)."""
        return self.kind != "stream" or stream_url_allowed(self.media_url)


def stream_url_allowed(url: str | None) -> bool:
    if not url:
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in url)


@dataclass
class Playing:
    item: PlayItem
    started_at: dt.datetime
    paused_at: dt.datetime | None = None
    resumed: bool = False

    def position(self, now: dt.datetime) -> float:
        until = self.paused_at or now
        return self.item.offset_s + max(0.0, (until - self.started_at).total_seconds())

    def ends_at(self) -> dt.datetime | None:
        if self.paused_at is not None:
            return None
        return self.started_at + dt.timedelta(seconds=self.item.duration_s - self.item.offset_s)


def in_windows(now: dt.datetime, windows: list[Window], timezone: str, closed: bool = False) -> bool:
    """Whether ``now`` falls in one of the local-time ``windows`` (the protocol's rule, :mod:`loa_protocol.windows`:
    empty = always, ``closed`` = never)."""
    return wnd.open_at(wnd.decode([(w.start, w.end) for w in windows], closed=closed), now, timezone)


@dataclass
class AgentCore:
    device_id: str
    public_key: str
    player: Player
    store: PlayLogStore
    guard: ReplayGuard = field(default_factory=ReplayGuard)
    firmware: str = "loa-agent"
    volume: int = 70
    state_dir: Path | None = None
    media_lookup: Callable[[str], Path | None] = lambda sha256: None
    keep_history: bool = True
    signature_cache: dict[tuple[str, bytes], bool] | None = None
    decode_cache: dict[bytes, Command | ProtocolError] | None = None
    # a decoded command's typed play params (shared by the simulator's agents, as decode_cache): id -> (command, …)
    params_cache: dict[int, tuple[Command, PlayParams]] = field(default_factory=dict)
    on_change: Callable[[], None] = lambda: None
    # the server's time of this device's (last) enrolment: commands issued before it are refused (before_enrolment)
    enrolled_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        self.current: Playing | None = None
        self.queue: list[PlayItem] = []
        self.suspended: list[PlayItem] = []
        self.stopped = False
        self.manifest: Manifest | None = None
        # the signed bytes of ``manifest``: the broker hands the retained manifest again on every reconnect, and the
        # very bytes already verified need no second decode and signature check (the result could not differ)
        self._manifest_payload: bytes | None = None
        self.handled_entries: set[str] = set()
        self.acks: list[CommandAck] = []
        self.manifest_acks: list[ManifestAck] = []
        self.history: list[PlayLogEvent] = []
        self.refusals: dict[str, int] = {}
        self.started_at: dt.datetime | None = None
        self._order = itertools.count(1)
        self._windows: wnd.Windows | None = None
        self._windows_of: Manifest | None = None
        if self.state_dir is not None:
            self._load_manifest()

    # --- commands -------------------------------------------------------------------------------------------

    def receive_command(self, topic: str, payload: bytes, now: dt.datetime) -> Command | None:
        """Decode and verify one command. A refusal is recorded as a ``refused`` ack (when the command id is
        readable) and ``None`` is returned; an accepted command gets a ``received`` ack and is returned for
        :meth:`execute` (after its media is fetched, for ``play``)."""
        try:
            command = self._decode_command(payload)
        except ProtocolError as exc:
            self._count("invalid")
            command_id = _command_id_of(payload)
            log.warning("lệnh không hợp lệ trên %s: %s", topic, exc.message)
            if command_id is not None:
                # a protocol code; the Vietnamese detail stays in the device's log
                self._ack(command_id, "refused", now, exc.code)
            return None
        try:
            signature_ok = None
            if self.signature_cache is not None:
                key = (self.public_key, payload)
                signature_ok = self.signature_cache.get(key)
                if signature_ok is None:
                    if len(self.signature_cache) > 4096:
                        self.signature_cache.clear()
                    signature_ok = self.signature_cache[key] = signature_is_valid(command, self.public_key)
            verify_command(command, self.public_key, topic, now, self.guard, signature_ok=signature_ok,
                           enrolled_at=self.enrolled_at)  # fmt: skip
        except CommandRejected as exc:
            self._count(exc.reason)
            log.warning("từ chối lệnh %s trên %s: %s", command.id, topic, exc.message)
            self._ack(command.id, "refused", now, exc.reason)
            return None
        self._ack(command.id, "received", now)
        return command

    def play_params(self, command: Command) -> PlayParams:
        """``command.play_params()``, validated once per decoded command (the runtime and the ladder both read
        them; in the simulator one group command is decoded once for thousands of agents)."""
        hit = self.params_cache.get(id(command))
        if hit is not None and hit[0] is command:
            return hit[1]
        params = command.play_params()
        if len(self.params_cache) > 4096:
            self.params_cache.clear()
        self.params_cache[id(command)] = (command, params)  # the command is kept, so its id is not reused
        return params

    def _decode_command(self, payload: bytes) -> Command:
        if self.decode_cache is None:
            return decode(Command, payload, max_bytes=MAX_COMMAND_BYTES)
        cached = self.decode_cache.get(payload)
        if isinstance(cached, ProtocolError):
            raise cached
        if cached is None:
            if len(self.decode_cache) > 4096:
                self.decode_cache.clear()
            try:
                cached = self.decode_cache[payload] = decode(Command, payload, max_bytes=MAX_COMMAND_BYTES)
            except ProtocolError as exc:
                self.decode_cache[payload] = exc
                raise
        return cached

    def execute(self, command: Command, now: dt.datetime, media_path: Path | None = None) -> None:
        action = command.action
        if action == "play":
            self._play_command(command, now, media_path)
        elif action == "stop":
            params = command.typed_params()
            assert isinstance(params, StopParams)
            self.stop(now, params.item_id)
            self._ack(command.id, "done", now)
        elif action == "pause":
            self.pause(now)
            self._ack(command.id, "done", now)
        elif action == "resume":
            self.resume(now)
            self._ack(command.id, "done", now)
        elif action == "next":
            self.next(now)
            self._ack(command.id, "done", now)
        elif action == "volume":
            params = command.typed_params()
            assert isinstance(params, VolumeParams)
            self.volume = params.volume
            if self.current is None or self.current.item.volume is None:
                self.player.set_volume(self.volume_for(self.current.item if self.current else None))
            self._ack(command.id, "done", now)
        elif (
            action in BOARD_ACTIONS
        ):  # a board's action (screen, brightness, …): a loudspeaker has none of it
            self._count("not_supported")
            log.warning(
                "từ chối lệnh %s: “%s” là lệnh của bảng tin, cụm loa không thực hiện", command.id, action
            )
            self._ack(command.id, "refused", now, "not_supported")
        else:  # reboot and refresh_manifest are carried out by the runtime
            self._ack(command.id, "done", now)
        self.on_change()

    def fail(self, command: Command, now: dt.datetime, reason: str) -> None:
        self._ack(command.id, "failed", now, reason)
        params = self.play_params(command) if command.action == "play" else None
        if params is not None:
            self._record("error", PlayItem(params.item_id, params.duration_s, params.priority, params.sha256,
                                           command_id=command.id), now, 0.0, None, reason)  # fmt: skip

    def _play_command(self, command: Command, now: dt.datetime, media_path: Path | None) -> None:
        params = self.play_params(command)
        codes = group_unit_codes(command.topic)
        item = PlayItem(
            item_id=params.item_id,
            duration_s=params.duration_s,
            priority=params.priority,
            sha256=params.sha256,
            media_url=params.media_url,
            path=media_path,
            kind=params.kind,
            repeat=params.repeat,
            volume=params.volume if params.volume is not None else (
                EMERGENCY_VOLUME if params.priority == EMERGENCY else None),
            command_id=command.id,
            play_until=params.play_until,
            level=len(codes) if codes else DEVICE_TOPIC_LEVEL,
            order=next(self._order),
        )  # fmt: skip
        if not item.stream_url_ok():
            self._refuse(item, now, "stream_url_invalid")
            return
        if obeys_windows(item.priority) and not self.window_allows(now):
            self._refuse(item, now, "outside_window")
            return
        self.arrive(item, now)

    # --- the ladder -----------------------------------------------------------------------------------------

    def arrive(self, item: PlayItem, now: dt.datetime) -> Decision:
        playing = self.current.item if self.current else None
        decision = decide(item.priority, playing.priority if playing else None, item.level,
                          playing.level if playing else None)  # fmt: skip
        if decision is Decision.PLAY:
            self._start(item, now)
        elif decision is Decision.PREEMPT:
            self._interrupt(now, f"preempted_by:{item.item_id}")
            self._start(item, now)
        elif decision in (Decision.QUEUE, Decision.AT_ITEM_END):
            self.queue.append(item)
            self.queue.sort(key=lambda i: (i.priority, i.order))
        else:
            self._refuse(item, now, "live_busy")
        self.on_change()
        return decision

    def volume_for(self, item: PlayItem | None) -> int:
        """The volume an item plays at. Emergencies play at their own level (the emergency level by default) and
        ignore caps (DESIGN §4); everything else plays at its own volume or the device's, never above the cap of
        the manifest."""
        if item is not None and item.priority == EMERGENCY:
            return item.volume if item.volume is not None else EMERGENCY_VOLUME
        volume = item.volume if item is not None and item.volume is not None else self.volume
        cap = self.manifest.max_volume if self.manifest is not None else None
        return min(volume, cap) if cap is not None else volume

    def _start(self, item: PlayItem, now: dt.datetime, resumed: bool = False) -> None:
        if item.kind == "stream":
            self.stopped = False
            self.current = Playing(item, started_at=now, resumed=resumed)
            assert item.media_url is not None
            self.player.play_stream(item.item_id, item.media_url, self.volume_for(item))
            self._record("start", item, now, item.offset_s, item.duration_s, "resumed" if resumed else None)
            return
        if item.path is None and item.sha256 is not None:
            item.path = self.media_lookup(item.sha256)
        if item.path is None:
            self._record("error", item, now, item.offset_s, None, "media_missing")
            if item.command_id is not None:
                self._ack(item.command_id, "failed", now, "media_missing")
            return
        self.stopped = False
        self.current = Playing(item, started_at=now, resumed=resumed)
        self.player.play(item.item_id, item.path, item.offset_s, self.volume_for(item))
        reason = (
            "resumed"
            if resumed
            else (f"repeat {item.repeat_index}/{item.repeat}" if item.repeat > 1 else None)
        )
        self._record("start", item, now, item.offset_s, item.duration_s, reason)

    def _interrupt(self, now: dt.datetime, reason: str) -> None:
        """Stop the current item and keep it to resume later."""
        if self.current is None:
            return
        current = self.current
        position = current.position(now)
        self.player.stop()
        self._record("interrupted", current.item, now, position, position - current.item.offset_s, reason)
        self.suspended.append(replace(current.item, offset_s=position, path=current.item.path))
        self.current = None

    def _finish(self, now: dt.datetime) -> None:
        assert self.current is not None
        current = self.current
        item = current.item
        end_at = current.ends_at() or now
        self._record("end", item, end_at, item.duration_s, item.duration_s - item.offset_s, None)
        self.current = None
        if item.repeat_index < item.repeat:
            self._start(replace(item, offset_s=0.0, repeat_index=item.repeat_index + 1), end_at)
            return
        if item.command_id is not None:
            self._ack(item.command_id, "done", end_at)
        self._next(end_at)

    def _next(self, now: dt.datetime) -> None:
        """Start the most urgent waiting item: the queue head, or the last interrupted item."""
        while self.current is None and (self.queue or self.suspended):
            head = self.queue[0] if self.queue else None
            saved = self.suspended[-1] if self.suspended else None
            if saved is not None and (head is None or saved.priority <= head.priority):
                self.suspended.pop()
                if saved.window_open(now):
                    self._start(saved, now, resumed=True)
                else:
                    self._record("refused", saved, now, saved.offset_s, None, "window_closed")
                continue
            assert head is not None
            self.queue.pop(0)
            if head.window_open(now):
                self._start(head, now)
            else:
                self._refuse(head, now, "window_closed")

    def stop(self, now: dt.datetime, item_id: str | None = None) -> None:
        if item_id is None:
            if self.current is not None:
                position = self.current.position(now)
                self.player.stop()
                item = self.current.item
                self._record("interrupted", item, now, position, position - item.offset_s, "stopped")
                self.current = None
            for item in self.suspended + self.queue:
                self._record("refused", item, now, item.offset_s, None, "stopped")
            self.suspended.clear()
            self.queue.clear()
            self.stopped = True
            return
        for waiting in (self.suspended, self.queue):
            for item in [i for i in waiting if i.item_id == item_id]:
                waiting.remove(item)
                self._record("refused", item, now, item.offset_s, None, "cancelled")
        if self.current is not None and self.current.item.item_id == item_id:
            position = self.current.position(now)
            self.player.stop()
            item = self.current.item
            self._record("interrupted", item, now, position, position - item.offset_s, "cancelled")
            self.current = None
            self._next(now)

    def pause(self, now: dt.datetime) -> None:
        if self.current is not None and self.current.paused_at is None:
            self.current.paused_at = now
            self.player.pause()

    def resume(self, now: dt.datetime) -> None:
        if self.current is not None and self.current.paused_at is not None:
            position = self.current.position(now)
            self.current = Playing(replace(self.current.item, offset_s=position), started_at=now,
                                   resumed=self.current.resumed)  # fmt: skip
            self.player.resume()

    def next(self, now: dt.datetime) -> None:
        if self.current is None:
            return
        position = self.current.position(now)
        self.player.stop()
        item = self.current.item
        self._record("interrupted", item, now, position, position - item.offset_s, "next")
        self.current = None
        self._next(now)

    # --- manifest -------------------------------------------------------------------------------------------

    def receive_manifest(self, payload: bytes, now: dt.datetime) -> Manifest | None:
        if not payload:
            return None  # a cleared retained message
        if self.manifest is not None and payload == self._manifest_payload:
            return self.manifest
        try:
            manifest = decode(Manifest, payload, max_bytes=MAX_MANIFEST_BYTES)
            verify_manifest(manifest, self.public_key, self.device_id,
                            self.manifest.version if self.manifest else None)  # fmt: skip
        except (ProtocolError, CommandRejected) as exc:
            reason = exc.code if isinstance(exc, ProtocolError) else exc.reason
            self._count(f"manifest_{reason}")
            log.warning("từ chối lịch phát: %s", exc)
            # tell the server (protocol.md §6): a ManifestAck on the ack topic
            self.manifest_acks.append(ManifestAck(device_id=self.device_id, manifest_version=_version_of(payload),
                                                  reason=reason, at=now))  # fmt: skip
            self.on_change()
            return None
        if self.manifest is not None and manifest.version == self.manifest.version:
            return self.manifest
        before = self.volume_for(self.current.item) if self.current is not None else None
        self.manifest, self._manifest_payload = manifest, payload
        if self.current is not None and self.volume_for(self.current.item) != before:
            self.player.set_volume(self.volume_for(self.current.item))  # a new cap applies at once
        if self.state_dir is not None:
            write_atomic(self.state_dir / "manifest.json", payload)
        self.on_change()
        return manifest

    def _load_manifest(self) -> None:
        assert self.state_dir is not None
        path = self.state_dir / "manifest.json"
        if path.exists():
            try:
                payload = path.read_bytes()
                manifest = decode(Manifest, payload)
                verify_manifest(manifest, self.public_key, self.device_id)
                self.manifest, self._manifest_payload = manifest, payload
            except (ProtocolError, CommandRejected) as exc:
                log.error("lịch phát lưu trên máy không dùng được: %s", exc)

    def window_allows(self, now: dt.datetime) -> bool:
        """Whether the manifest's windows are open at ``now`` (no manifest yet: no restriction)."""
        if self.manifest is None:
            return True
        manifest = self.manifest
        if self._windows_of is not manifest:
            self._windows = wnd.decode([(w.start, w.end) for w in manifest.windows], closed=manifest.closed)
            self._windows_of = manifest
        return wnd.open_at(self._windows, now, manifest.timezone)

    def media_wanted(
        self, now: dt.datetime, horizon: dt.timedelta = dt.timedelta(hours=48)
    ) -> list[ManifestEntry]:
        """Manifest entries starting within ``horizon`` whose media is not cached yet (to prefetch)."""
        if self.manifest is None:
            return []
        return [e for e in self.manifest.entries
                if e.sha256 is not None and e.end > now and e.start < now + horizon
                and self.media_lookup(e.sha256) is None]  # fmt: skip

    def _due_entries(self, now: dt.datetime) -> None:
        if self.manifest is None:
            return
        for entry in self.manifest.entries:
            if entry.entry_id in self.handled_entries or not (entry.start <= now < entry.end):
                continue
            self.handled_entries.add(entry.entry_id)
            late = (now - entry.start).total_seconds()
            item = PlayItem(
                item_id=entry.item_id,
                duration_s=entry.duration_s,
                priority=entry.priority,
                sha256=entry.sha256,
                media_url=entry.media_url,
                kind=entry.kind,
                volume=entry.volume,
                schedule_id=entry.schedule_id,
                manifest_entry_id=entry.entry_id,
                play_until=entry.end,
                level=DEVICE_TOPIC_LEVEL,
                order=entry.start.timestamp(),
                offset_s=late if late > LATE_JOIN_GRACE_S else 0.0,
            )
            if not item.stream_url_ok():
                self._refuse(item, now, "stream_url_invalid")
                continue
            if obeys_windows(item.priority) and not self.window_allows(entry.start):
                self._refuse(item, now, "outside_window")
                continue
            if item.offset_s >= item.duration_s:
                continue
            self.arrive(item, now)

    def next_entry_start(self, now: dt.datetime) -> dt.datetime | None:
        if self.manifest is None:
            return None
        starts = [
            e.start for e in self.manifest.entries if e.entry_id not in self.handled_entries and e.end > now
        ]
        return min(starts) if starts else None

    # --- time -----------------------------------------------------------------------------------------------

    def tick(self, now: dt.datetime) -> dt.datetime | None:
        """Advance to ``now``: finish items whose time is up, start due manifest entries. Returns the next time
        the core needs a tick (``None``: only when something arrives).

        Items end at their exact end time even when the tick comes late; a manifest entry that started before
        ``now`` is joined late (at the right offset), as a device that was off would. For an exact timeline on a
        manual clock, advance the clock to each returned deadline."""
        if self.started_at is None:
            self.started_at = now
        for _ in range(10_000):
            ends = self.current.ends_at() if self.current else None
            entry = self.next_entry_start(now)
            due = [t for t in (ends, entry) if t is not None and t <= now]
            if not due:
                break
            if ends is not None and ends <= now and (entry is None or ends <= entry):
                self._finish(now)
            else:
                self._due_entries(now)  # a late tick (device asleep or off) joins the entry late
        deadlines = [
            t for t in (self.current.ends_at() if self.current else None, self.next_entry_start(now)) if t
        ]
        return min(deadlines) if deadlines else None

    # --- reporting ------------------------------------------------------------------------------------------

    def status(self, now: dt.datetime, **hardware: Any) -> Status:
        current = self.current
        state: Literal["idle", "playing", "paused", "stopped"]
        if current is None:
            state = "stopped" if self.stopped else "idle"
        else:
            state = "paused" if current.paused_at is not None else "playing"
        volume = self.volume_for(current.item if current is not None else None)
        if current is not None:
            applied = self.player.applied_volume()
            if applied is not None:
                volume = (
                    applied  # what is really coming out (a player may apply a change only from the next item)
                )
        return Status(
            device_id=self.device_id,
            ts=now,
            uptime_s=int((now - self.started_at).total_seconds()) if self.started_at else 0,
            state=state,
            current_item=current.item.item_id if current else None,
            priority=current.item.priority if current else None,
            volume=volume,
            firmware=self.firmware,
            manifest_version=self.manifest.version if self.manifest else None,
            **hardware,
        )

    def take_acks(self) -> list[CommandAck]:
        acks, self.acks = self.acks, []
        return acks

    def take_manifest_acks(self) -> list[ManifestAck]:
        acks, self.manifest_acks = self.manifest_acks, []
        return acks

    def _ack(
        self, command_id: uuid.UUID, status: AckStatus, now: dt.datetime, reason: str | None = None
    ) -> None:
        self.acks.append(CommandAck(command_id=command_id, device_id=self.device_id, status=status, reason=reason,
                                    at=now))  # fmt: skip
        self.on_change()

    def _refuse(self, item: PlayItem, now: dt.datetime, reason: str) -> None:
        self._count(reason)
        self._record("refused", item, now, item.offset_s, None, reason)
        if item.command_id is not None:
            self._ack(item.command_id, "refused", now, reason)

    def _count(self, reason: str) -> None:
        self.refusals[reason] = self.refusals.get(reason, 0) + 1

    def _record(self, kind: PlayLogKind, item: PlayItem, at: dt.datetime, offset_s: float,
                duration_s: float | None, reason: str | None) -> None:  # fmt: skip
        event = PlayLogEvent(
            event_id=uuid.uuid4(),
            device_id=self.device_id,
            kind=kind,
            item_id=item.item_id,
            media_sha256=item.sha256,
            at=at,
            offset_s=round(max(0.0, offset_s), 3),
            duration_s=None if duration_s is None else round(max(0.0, duration_s), 3),
            priority=item.priority,
            command_id=item.command_id,
            schedule_id=item.schedule_id,
            manifest_entry_id=item.manifest_entry_id,
            reason=reason,
        )
        self.store.append(event)
        if self.keep_history:
            self.history.append(event)
        self.on_change()


def _command_id_of(payload: bytes) -> uuid.UUID | None:
    try:
        data = json.loads(payload)
        return uuid.UUID(str(data["id"])) if isinstance(data, dict) else None
    except (ValueError, KeyError, TypeError):
        return None


def _version_of(payload: bytes) -> int | None:
    try:
        data = json.loads(payload)
        version = data.get("version") if isinstance(data, dict) else None
    except (ValueError, TypeError):
        return None
    return version if isinstance(version, int) and not isinstance(version, bool) and version >= 1 else None
