"""Clocks: the agent never calls ``datetime.now()`` or ``asyncio.sleep()`` itself, so a test or a simulated week
can drive it with :class:`ManualClock`."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """Aware UTC time."""
        ...

    async def sleep_until(self, when: dt.datetime) -> None:
        """Return once ``now() >= when``."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    async def sleep_until(self, when: dt.datetime) -> None:
        delay = (when - self.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)


class ManualClock:
    """Time moves only when :meth:`advance` or :meth:`set` is called (from any thread)."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock cần thời điểm có múi giờ (UTC)")
        self._now = start.astimezone(dt.UTC)
        self._lock = threading.Lock()
        self._waiters: list[tuple[dt.datetime, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    async def sleep_until(self, when: dt.datetime) -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if when <= self._now:
                return
            entry = (when, loop, fut)
            self._waiters.append(entry)
        try:
            await fut
        finally:
            with self._lock:
                if entry in self._waiters:
                    self._waiters.remove(entry)

    def set(self, when: dt.datetime) -> None:
        with self._lock:
            if when < self._now:
                raise ValueError("ManualClock không lùi được")
            self._now = when
            due = [w for w in self._waiters if w[0] <= when]
            self._waiters = [w for w in self._waiters if w[0] > when]
        for _, loop, fut in due:
            loop.call_soon_threadsafe(_resolve, fut)

    def advance(self, seconds: float) -> dt.datetime:
        self.set(self.now() + dt.timedelta(seconds=seconds))
        return self.now()

    def pending(self) -> int:
        with self._lock:
            return len(self._waiters)


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


def monotonic() -> float:
    return time.monotonic()
