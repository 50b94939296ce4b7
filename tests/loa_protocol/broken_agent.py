"""The reference agent, deliberately broken in one way, for the conformance runner's own tests.

    python -m tests.loa_protocol.broken_agent <variant> <loa agent arguments…>

Each variant removes one rule of docs/protocol.md from the shipped agent (a patch applied before the agent starts);
the conformance runner must then fail that rule. Never used outside tests.
"""

from __future__ import annotations

import sys
import types
import uuid
from typing import Any

import loa_agent.core as core
import loa_agent.playlog as playlog
import loa_agent.runtime as runtime
import loa_protocol.windows as wnd
from loa_protocol.ladder import Decision
from loa_protocol.messages import PlayLogEvent


def accepts_unsigned() -> None:
    original = core.verify_command

    def verify(command: Any, *args: Any, **kwargs: Any) -> None:
        if not command.signature:
            return None  # the bug: an unsigned command is acted on
        return original(command, *args, **kwargs)

    core.verify_command = verify  # type: ignore[assignment]


def no_replay_guard() -> None:
    original = core.verify_command

    def verify(command: Any, public_key: Any, topic: str, now: Any, guard: Any, **kwargs: Any) -> None:
        return original(command, public_key, topic, now, None, **kwargs)  # the bug: seq never checked

    core.verify_command = verify  # type: ignore[assignment]


def reuses_event_ids() -> None:
    fixed = uuid.UUID("00000000-0000-4000-8000-000000000001")
    core.uuid = types.SimpleNamespace(uuid4=lambda: fixed, UUID=uuid.UUID)  # type: ignore[assignment]


def trusts_any_manifest() -> None:
    original = core.verify_manifest

    def verify(manifest: Any, public_key: Any, device_id: str, current_version: Any = None) -> None:
        if manifest.device_id != device_id:  # still checks the device, not the signature (the bug)
            return original(manifest.model_copy(), public_key, device_id, current_version)
        return None

    core.verify_manifest = verify  # type: ignore[assignment]


def ignores_windows() -> None:
    core.obeys_windows = lambda priority: False  # type: ignore[assignment]  # the bug: windows never stop anything


def end_inclusive() -> None:
    def contains(windows: Any, minute: int) -> bool:  # the bug: a window is open at its end minute too
        return windows is None or any(a <= minute <= b for a, b in windows)

    wnd.contains = contains  # type: ignore[assignment]


def whole_day_never() -> None:
    original = wnd.decode

    def decode(pairs: Any, *, closed: bool = False) -> Any:
        pairs = list(pairs)
        if any(start == end for start, end in pairs):
            return wnd.NEVER  # the bug of the agents before the rule: 00:00–00:00 read as never open
        return original(pairs, closed=closed)

    wnd.decode = decode  # type: ignore[assignment]


def never_preempts() -> None:
    original = core.decide

    def decide(arriving: Any, playing: Any, *args: Any) -> Any:
        decision = original(arriving, playing, *args)
        return Decision.QUEUE if decision is Decision.PREEMPT else decision  # the bug: nothing cuts in

    core.decide = decide  # type: ignore[assignment]


def lower_preempts() -> None:
    original = core.decide

    def decide(arriving: Any, playing: Any, *args: Any) -> Any:
        if playing is not None:
            return Decision.PREEMPT  # the bug: whatever arrives cuts off whatever plays
        return original(arriving, playing, *args)

    core.decide = decide  # type: ignore[assignment]


def ignores_volume_cap() -> None:
    def volume_for(self: Any, item: Any) -> int:  # the bug: max_volume never applied
        if item is not None and item.volume is not None:
            return int(item.volume)
        return int(self.volume)

    core.AgentCore.volume_for = volume_for  # type: ignore[method-assign]


def any_stream_url() -> None:
    core.stream_url_allowed = lambda url: bool(url)  # type: ignore[assignment]  # the bug: file://, rtsp://…


def no_manifest_poll() -> None:
    async def poller(self: Any) -> None:  # the bug: only the retained MQTT message, no HTTPS safety net
        return None

    runtime.AgentRuntime._manifest_poller = poller  # type: ignore[method-assign]


def uploads_newest_first() -> None:
    def oldest(self: Any, limit: int = 500) -> list[tuple[int, Any]]:
        with self._lock:  # the bug: the buffer is sent newest first
            rows = self._db.execute(
                "SELECT k, body FROM playlog ORDER BY k DESC LIMIT ?", (limit,)
            ).fetchall()
        return [(int(k), PlayLogEvent.model_validate_json(body)) for k, body in rows]

    playlog.SqlitePlayLogStore.oldest = oldest  # type: ignore[method-assign]


VARIANTS = {
    f.__name__: f
    for f in (
        accepts_unsigned, no_replay_guard, reuses_event_ids, trusts_any_manifest, ignores_windows, end_inclusive,
        whole_day_never, never_preempts, lower_preempts, ignores_volume_cap, any_stream_url, no_manifest_poll,
        uploads_newest_first,
    )
}  # fmt: skip

if __name__ == "__main__":
    VARIANTS[sys.argv[1]]()
    from loa_agent.cli import main

    main(sys.argv[2:])
