"""The play-log buffer: events are written to disk when they happen and deleted only after the broker's PUBACK."""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

from loa_protocol.messages import MAX_PLAYLOG_EVENTS, PlayLogEvent


class PlayLogStore(Protocol):
    def append(self, event: PlayLogEvent) -> None: ...

    def oldest(self, limit: int = MAX_PLAYLOG_EVENTS) -> list[tuple[int, PlayLogEvent]]: ...

    def delete(self, keys: list[int]) -> None: ...

    def count(self) -> int: ...


class SqlitePlayLogStore:
    """Append-only table in ``playlog.sqlite`` (WAL, synchronous=FULL: an event recorded survives a power cut)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS playlog (k INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, "
            "body TEXT NOT NULL)"
        )
        self.path.chmod(0o600)

    def append(self, event: PlayLogEvent) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO playlog (event_id, body) VALUES (?, ?)",
                (str(event.event_id), event.model_dump_json()),
            )

    def oldest(self, limit: int = MAX_PLAYLOG_EVENTS) -> list[tuple[int, PlayLogEvent]]:
        with self._lock:
            rows = self._db.execute("SELECT k, body FROM playlog ORDER BY k LIMIT ?", (limit,)).fetchall()
        return [(int(k), PlayLogEvent.model_validate_json(body)) for k, body in rows]

    def delete(self, keys: list[int]) -> None:
        if not keys:
            return
        with self._lock:
            self._db.executemany("DELETE FROM playlog WHERE k = ?", [(k,) for k in keys])

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM playlog").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


class MemoryPlayLogStore:
    """The same buffer in memory (simulator: thousands of agents in one process)."""

    def __init__(self) -> None:
        self._events: OrderedDict[int, PlayLogEvent] = OrderedDict()
        self._next = 1
        self._lock = threading.Lock()

    def append(self, event: PlayLogEvent) -> None:
        with self._lock:
            self._events[self._next] = event
            self._next += 1

    def oldest(self, limit: int = MAX_PLAYLOG_EVENTS) -> list[tuple[int, PlayLogEvent]]:
        with self._lock:
            out: list[tuple[int, PlayLogEvent]] = []
            for key, event in self._events.items():
                if len(out) >= limit:
                    break
                out.append((key, event))
            return out

    def delete(self, keys: list[int]) -> None:
        with self._lock:
            for key in keys:
                self._events.pop(key, None)

    def count(self) -> int:
        with self._lock:
            return len(self._events)
