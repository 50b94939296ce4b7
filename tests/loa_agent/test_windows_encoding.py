"""The window encoding of manifests (docs/protocol.md, loa_protocol.windows) on the agent: v1 manifests written by
older servers still verify and mean what their server meant; the whole day and "never open" are unambiguous."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from loa_agent.core import AgentCore
from loa_agent.player import NullPlayer
from loa_agent.playlog import MemoryPlayLogStore
from loa_protocol import windows as wnd
from loa_protocol.ladder import PlayClass
from loa_protocol.messages import Manifest, ManifestEntry, Window, encode
from loa_protocol.signing import generate_keypair, sign

DEVICE = "loa-0000000000d2"
PRIVATE, PUBLIC = generate_keypair()
AT_0315 = dt.datetime(2026, 3, 1, 20, 15, tzinfo=dt.UTC)  # 03:15 in Hà Nội
SHA = "cd" * 32


def played(windows: list[Window], closed: bool = False) -> list[tuple[str, str, str | None]]:
    entries = [
        ManifestEntry(entry_id=f"e{int(c)}", start=AT_0315, end=AT_0315 + dt.timedelta(minutes=1),
                      item_id=f"item-{int(c)}", media_url="https://x/m", sha256=SHA, duration_s=1.0, priority=c)
        for c in (PlayClass.EMERGENCY, PlayClass.NORMAL)
    ]  # fmt: skip
    m = Manifest(device_id=DEVICE, version=1, generated_at=AT_0315, valid_from=AT_0315 - dt.timedelta(hours=1),
                 valid_until=AT_0315 + dt.timedelta(days=1), windows=windows, closed=closed, entries=entries)  # fmt: skip
    payload = encode(sign(m, PRIVATE))
    assert (
        b'"closed"' in payload
    ) == closed  # absent when false: byte for byte the v1 form older agents read
    core = AgentCore(
        DEVICE, PUBLIC, NullPlayer(), MemoryPlayLogStore(), media_lookup=lambda sha: Path("/dev/null")
    )
    assert core.receive_manifest(payload, AT_0315 - dt.timedelta(minutes=5)) is not None
    core.tick(AT_0315)
    core.tick(AT_0315 + dt.timedelta(seconds=2))
    return [(e.kind, e.item_id, e.reason) for e in core.history]


def test_a_legacy_whole_day_window_00_00_to_00_00_is_the_whole_day() -> None:
    """What servers before the fix wrote for the whole day: it verifies, and a normal entry at 03:15 plays."""
    history = played([Window(start="00:00", end="00:00")])
    assert ("refused", "item-4", "outside_window") not in history
    assert ("start", "item-4", None) in history


def test_the_whole_day_is_written_as_no_windows() -> None:
    pairs, closed = wnd.encode(wnd.from_pairs([("22:00", "05:00"), ("05:00", "22:00")]))
    assert (pairs, closed) == ([], False)
    assert ("start", "item-4", None) in played([Window(start=a, end=b) for a, b in pairs], closed)


def test_never_open_is_closed_and_only_emergencies_play() -> None:
    pairs, closed = wnd.encode(wnd.NEVER)
    assert (pairs, closed) == ([], True)
    history = played([], closed=True)
    assert ("refused", "item-4", "outside_window") in history
    assert ("start", "item-1", None) in history


def test_a_window_with_end_equal_to_start_is_24_hours_from_any_start() -> None:
    assert wnd.decode([("06:30", "06:30")]) is None  # no restriction
    assert wnd.from_wire_pairs([("06:30", "06:30")]) == wnd.WHOLE_DAY
    assert wnd.decode([("22:00", "02:00")]) == ((0, 120), (1320, 1440))
