"""LOA_TEST_CLOCK: run the whole test session (and the Python processes it starts) at another wall-clock time.

``LOA_TEST_CLOCK=23:30`` moves the clock to today 23:30 in Asia/Ho_Chi_Minh; ``LOA_TEST_CLOCK=2026-12-31T23:30``
to that date and hour (Asia/Ho_Chi_Minh). The clock keeps ticking from there (time-machine, ``tick=True``);
monotonic clocks are left alone, so deadlines and timeouts behave as usual.

The first process to start the clock turns the wanted time into an offset from the real clock and exports it as
``LOA_TEST_CLOCK_OFFSET`` together with this directory on ``PYTHONPATH``: every Python child (xdist workers, the
gateway, ``loa agent``, the demo) runs ``sitecustomize`` from here and applies the same offset, so the server, the
gateway and the agents agree on the time. Non-Python children (Mosquitto, ffmpeg, Chromium) keep the real clock.
See docs/testing.md.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
HERE = os.path.dirname(os.path.abspath(__file__))
_traveller: object | None = None


def target(spec: str, now: float | None = None) -> dt.datetime:
    """The instant ``spec`` names: ``HH:MM`` today in Asia/Ho_Chi_Minh, or an ISO date-time (local if naive)."""
    real = dt.datetime.fromtimestamp(time.time() if now is None else now, LOCAL)
    spec = spec.strip()
    if len(spec) <= 5 and ":" in spec:
        hour, minute = (int(part) for part in spec.split(":"))
        return real.replace(hour=hour, minute=minute, second=0, microsecond=0)
    moment = dt.datetime.fromisoformat(spec)
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL)


def offset_from_env() -> float | None:
    """Seconds to add to the real clock, or None when no shift is asked for. Exports the offset for children."""
    if os.environ.get("LOA_TEST_CLOCK_OFFSET"):
        return float(os.environ["LOA_TEST_CLOCK_OFFSET"])
    spec = os.environ.get("LOA_TEST_CLOCK", "").strip()
    if not spec:
        return None
    real = time.time()
    offset = target(spec, real).timestamp() - real
    os.environ["LOA_TEST_CLOCK_OFFSET"] = repr(offset)
    paths = [HERE, *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != HERE)]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    return offset


def start() -> float | None:
    """Start the shifted clock in this process (once); returns the offset in seconds, or None."""
    global _traveller
    offset = offset_from_env()
    if offset is None or _traveller is not None:
        return offset
    import time_machine

    traveller = time_machine.travel(time.time() + offset, tick=True)
    traveller.start()
    time.time()  # time-machine starts ticking at the first reading, not at start(): read now, or lag behind children
    _traveller = traveller
    return offset


def describe() -> str:
    now = dt.datetime.now(LOCAL)
    return f"LOA_TEST_CLOCK: the clock reads {now:%Y-%m-%d %H:%M} Asia/Ho_Chi_Minh ({now.astimezone(dt.UTC):%H:%M} UTC)"


if __name__ == "__main__" and "--check" in sys.argv:
    start()
    print(describe())
