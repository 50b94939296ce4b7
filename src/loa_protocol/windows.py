"""Allowed broadcast windows (quiet hours): one set of rules for the server, which compiles them into manifests,
and the agent, which refuses what falls outside them.

In code a window set is a tuple of minute intervals of the local day, ``[start, end)`` with
``0 ≤ start < end ≤ 1440``, sorted and merged; ``None`` means "no restriction". On the wire (``Manifest.windows``)
it is a list of ``{"start": "HH:MM", "end": "HH:MM"}`` in the manifest's time zone:

* ``[]`` — no restriction: the device may play at any time. **A set that covers the whole day is encoded as
  ``[]``** (:func:`encode`), which every agent, old or new, reads as always open.
* ``end > start`` — open from ``start`` up to (not including) ``end``.
* ``end < start`` — spans midnight: open from ``start`` to 24:00 and from 00:00 to ``end``.
* ``end == start`` — a full 24 hours from ``start``. Servers before this rule wrote the whole day as
  ``00:00–00:00``; such manifests still verify and now mean what their server meant (older agents read them as
  never open, the defect this rule fixes).

A set with no window at all (a unit whose windows do not overlap its parent's) is "never open"; v1 manifests cannot
carry it in ``windows`` (``[]`` already means always), so it travels as ``closed: true`` with ``windows: []``.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable, Sequence

DAY = 1440
Interval = tuple[int, int]
Windows = tuple[Interval, ...]
WHOLE_DAY: Windows = ((0, DAY),)
NEVER: Windows = ()
HHMM_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class WindowError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def minute_of(hhmm: str) -> int:
    """``"HH:MM"`` (00:00–23:59) → minutes since local midnight."""
    if not isinstance(hhmm, str) or not HHMM_RE.match(hhmm):
        raise WindowError("window_invalid", f"Giờ “{hhmm}” không hợp lệ: dùng dạng HH:MM (00:00–23:59).")
    return int(hhmm[:2]) * 60 + int(hhmm[3:])


def hhmm(minute: int) -> str:
    """Minutes → ``"HH:MM"``; 1440 (the end of the day) is written ``00:00``."""
    minute %= DAY
    return f"{minute // 60:02d}:{minute % 60:02d}"


def merge(intervals: Iterable[Interval]) -> Windows:
    """Sorted, with overlapping and touching intervals joined."""
    merged: list[list[int]] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return tuple((a, b) for a, b in merged)


def intersect(x: Windows, y: Windows) -> Windows:
    out = []
    for a1, b1 in x:
        for a2, b2 in y:
            a, b = max(a1, a2), min(b1, b2)
            if a < b:
                out.append((a, b))
    return merge(out)


def is_whole_day(windows: Windows | None) -> bool:
    return windows is None or merge(windows) == WHOLE_DAY


def _split(a: int, b: int) -> list[Interval]:
    """One wire window as day intervals: ``end < start`` spans midnight, ``end == start`` is 24 hours."""
    if a < b:
        return [(a, b)]
    if a == b:
        return [WHOLE_DAY[0]]
    return [(a, DAY), (0, b)] if b else [(a, DAY)]


def from_pairs(pairs: Iterable[Sequence[str]]) -> Windows:
    """What an operator types: ``[["05:00", "21:00"], ["22:00", "02:00"]]``. A window ending before it starts
    spans midnight; an empty one (start = end) is refused as a mistake."""
    out: list[Interval] = []
    for pair in pairs:
        if len(pair) != 2:
            raise WindowError("window_invalid", "Mỗi khung giờ gồm giờ bắt đầu và giờ kết thúc (HH:MM).")
        a, b = minute_of(str(pair[0])), minute_of(str(pair[1]))
        if a == b:
            raise WindowError("window_invalid", f"Khung giờ {pair[0]}–{pair[1]} rỗng.")
        out += _split(a, b)
    return merge(out)


def from_wire_pairs(pairs: Iterable[Sequence[str]]) -> Windows:
    """Stored or wire pairs → the interval set they cover (``[]`` → the empty set; ``end == start`` → 24 hours)."""
    out: list[Interval] = []
    for start, end in pairs:
        out += _split(minute_of(start), minute_of(end))
    return merge(out)


def to_pairs(windows: Windows) -> list[tuple[str, str]]:
    """A non-``None`` set → pairs, a midnight-spanning window (``…–24:00`` and ``00:00–…``) joined into one
    (``start > end``); the whole day is ``("00:00", "00:00")``. :func:`from_wire_pairs` reads them back exactly."""
    parts = list(merge(windows))
    if parts == list(WHOLE_DAY):
        return [("00:00", "00:00")]
    if len(parts) >= 2 and parts[0][0] == 0 and parts[-1][1] == DAY:
        first, last = parts.pop(0), parts.pop()
        parts.append((last[0], first[1]))
    return [(hhmm(a), hhmm(b)) for a, b in parts]


def decode(pairs: Iterable[Sequence[str]], *, closed: bool = False) -> Windows | None:
    """``Manifest.windows`` (and ``closed``) → a window set; ``None``: always open (``[]``, or the whole day)."""
    if closed:
        return NEVER
    windows = from_wire_pairs(pairs)
    return None if not windows or windows == WHOLE_DAY else windows


def encode(windows: Windows | None) -> tuple[list[tuple[str, str]], bool]:
    """A window set → (``Manifest.windows`` pairs, ``Manifest.closed``): no restriction and the whole day are
    ``[]``; the empty set (never open) is ``[]`` with ``closed``; anything else is :func:`to_pairs`."""
    if windows is None or merge(windows) == WHOLE_DAY:
        return [], False
    if not windows:
        return [], True
    return to_pairs(windows), False


def contains(windows: Windows | None, minute: int) -> bool:
    """Whether the local ``minute`` of the day (0–1439) is inside the set."""
    if windows is None:
        return True
    return any(a <= minute < b for a, b in windows)


def local_minute(instant: dt.datetime, timezone: str | dt.tzinfo) -> int:
    tz = zoneinfo.ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    local = instant.astimezone(tz)
    return local.hour * 60 + local.minute


def open_at(windows: Windows | None, instant: dt.datetime, timezone: str | dt.tzinfo) -> bool:
    """Whether ``instant`` (aware) falls inside the set, read in ``timezone``: the rule both sides apply."""
    return windows is None or contains(windows, local_minute(instant, timezone))
