"""The boards' push streams of one web process (ADR 0014), fed by one watcher.

Every :func:`loa.signage.player_views.events` stream subscribes here. One task per event loop looks at the state of
**all** connected boards every :data:`TICK_S` — a few queries per tick, however many boards
(:func:`loa.signage.player.snapshot`), in a worker thread so the event loop never waits on the database — and puts
the events each board must hear in its streams' queues: ``manifest`` when its version moves, ``commands`` when
commands wait, ``emergency`` when its area's emergency starts or is cancelled. The task ends when the last stream
closes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from asgiref.sync import sync_to_async

from loa.signage import player

logger = logging.getLogger(__name__)
TICK_S = 0.2


def _read(device_ids: list[str], unit_paths: set[str], generation: tuple[Any, ...] | None) -> dict[str, Any]:
    """:func:`loa.signage.player.snapshot` in a worker thread, which keeps its database connection between ticks;
    after an error the connection is closed, so the next tick opens a fresh one (a restarted database)."""
    from django.db import connection

    try:
        return player.snapshot(device_ids, unit_paths, generation)
    except Exception:
        connection.close()
        raise


def sse(event: str, data: Any) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, default=str)
    return f"event: {event}\ndata: {text}\n\n".encode()


class PushHub:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queues: dict[str, set[asyncio.Queue[bytes]]] = {}
        self.paths: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self.commands: dict[str, tuple[int, Any]] = {}
        self.emergencies: dict[str, tuple[Any, str | None]] = {}
        self.generation: tuple[Any, ...] | None = None
        self.task: asyncio.Task[None] | None = None

    async def subscribe(self, device_id: str, unit_path: str) -> tuple[asyncio.Queue[bytes], list[bytes]]:
        """A queue for one stream, and the events it starts with (``hello`` and the area's emergency)."""
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        first = await sync_to_async(_read, thread_sensitive=False)([device_id], {unit_path}, None)
        self.queues.setdefault(device_id, set()).add(queue)
        self.paths[device_id] = unit_path
        version = first["versions"].get(device_id, 0)
        pending = first["commands"].get(device_id, (0, None))
        emergency = first["emergencies"][unit_path]
        self.versions[device_id], self.commands[device_id] = version, pending
        self.emergencies.setdefault(unit_path, emergency)
        if self.task is None or self.task.done():
            self.task = self.loop.create_task(self._watch())
        hello = sse("hello", {"manifest": version, "commands": pending[0]})
        return queue, [hello, sse("emergency", emergency[1] or "null")]

    def unsubscribe(self, device_id: str, queue: asyncio.Queue[bytes]) -> None:
        queues = self.queues.get(device_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self.queues[device_id]

    def _send(self, device_id: str, message: bytes) -> None:
        for queue in self.queues.get(device_id, ()):
            queue.put_nowait(message)

    async def _watch(self) -> None:
        while self.queues:
            await asyncio.sleep(TICK_S)
            ids = list(self.queues)
            paths = {self.paths[i] for i in ids}
            try:
                snap = await sync_to_async(_read, thread_sensitive=False)(ids, paths, self.generation)
            except Exception:  # the database is away: the streams stay open, the players keep their cache
                logger.exception("board push: state not readable")
                continue
            self.generation = snap["generation"]
            if snap["emergencies"] is not None:
                for path, emergency in snap["emergencies"].items():
                    if self.emergencies.get(path, (None, None))[0] != emergency[0]:
                        self.emergencies[path] = emergency
                        for device_id in ids:
                            if self.paths.get(device_id) == path:
                                self._send(device_id, sse("emergency", emergency[1] or "null"))
            for device_id in ids:
                version = snap["versions"].get(device_id, 0)
                if version != self.versions.get(device_id):
                    self.versions[device_id] = version
                    self._send(device_id, sse("manifest", {"version": version}))
                pending = snap["commands"].get(device_id, (0, None))
                if pending != self.commands.get(device_id):
                    self.commands[device_id] = pending
                    if pending[0]:
                        self._send(device_id, sse("commands", {"pending": pending[0]}))
        self.task = None


_hub: PushHub | None = None


def hub() -> PushHub:
    """The hub of the running event loop (a server restarted in the same process gets a new one)."""
    global _hub
    loop = asyncio.get_running_loop()
    if _hub is None or _hub.loop is not loop:
        _hub = PushHub(loop)
    return _hub
