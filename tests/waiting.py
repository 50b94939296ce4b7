"""Waiting in tests without fixed sleeps (issue 23): poll a condition until a deadline.

``wait_until(cond)`` returns as soon as ``cond()`` is truthy (its value), or fails with ``message`` once
``timeout`` seconds have passed — a slow machine makes the test slower, never red, as long as the deadline is
generous. To prove that something did *not* arrive, do not sleep: send a marker through the same ordered channel
after the thing that must not arrive, wait for the marker, then look (MQTT keeps the order of one client's messages
to a subscriber; a database queue keeps its insertion order).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    cond: Callable[[], T], timeout: float = 20.0, interval: float = 0.02, message: str | None = None
) -> T:
    """``cond()``'s first truthy value; AssertionError after ``timeout`` seconds (checked once more at the end)."""
    deadline = time.monotonic() + timeout
    delay = interval
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() >= deadline:
            value = cond()
            if value:
                return value
            raise AssertionError(
                message or f"not true after {timeout:g} s: {getattr(cond, '__name__', cond)}"
            )
        time.sleep(min(delay, max(deadline - time.monotonic(), 0)))
        delay = min(delay * 1.5, 0.25)
