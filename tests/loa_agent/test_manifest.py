"""Manifests on a manual clock: entries start on time, late joins seek, windows are enforced by the device,
an interrupting emergency is logged and the entry resumes inside its window."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from loa_agent.core import AgentCore, in_windows
from loa_agent.player import NullPlayer
from loa_agent.playlog import MemoryPlayLogStore
from loa_protocol.messages import Manifest, ManifestEntry, Window, encode
from loa_protocol.signing import generate_keypair, sign, sign_command

DEVICE = "loa-0000000000d1"
PRIVATE, PUBLIC = generate_keypair()
# 2026-03-02 05:00 in Hà Nội is 2026-03-01 22:00 UTC.
DAWN = dt.datetime(2026, 3, 1, 22, 0, tzinfo=dt.UTC)
SHA = "ef" * 32


def entry(
    entry_id: str, start: dt.datetime, minutes: float, duration: float, priority: int = 4
) -> ManifestEntry:
    return ManifestEntry(entry_id=entry_id, start=start, end=start + dt.timedelta(minutes=minutes),
                         item_id=f"item-{entry_id}", media_url="https://x/m", sha256=SHA, duration_s=duration,
                         priority=priority, schedule_id="sch-1")  # fmt: skip


def manifest(*entries: ManifestEntry, version: int = 1, windows: list[Window] | None = None) -> bytes:
    m = Manifest(device_id=DEVICE, version=version, generated_at=DAWN, valid_from=DAWN,
                 valid_until=DAWN + dt.timedelta(days=2), windows=windows or [Window(start="05:00", end="21:00")],
                 entries=list(entries))  # fmt: skip
    return encode(sign(m, PRIVATE))


def make_core(state_dir: Path | None = None) -> AgentCore:
    return AgentCore(DEVICE, PUBLIC, NullPlayer(), MemoryPlayLogStore(), state_dir=state_dir,
                     media_lookup=lambda sha: Path("/dev/null"))  # fmt: skip


def timeline(core: AgentCore) -> list[tuple[str, str, float, dt.datetime, str | None]]:
    return [(e.kind, e.item_id, e.offset_s, e.at, e.reason) for e in core.history]


def test_windows_in_local_time() -> None:
    windows = [Window(start="05:00", end="21:00")]
    assert in_windows(DAWN, windows, "Asia/Ho_Chi_Minh")
    assert not in_windows(DAWN - dt.timedelta(minutes=1), windows, "Asia/Ho_Chi_Minh")
    assert not in_windows(DAWN + dt.timedelta(hours=16), windows, "Asia/Ho_Chi_Minh")  # 21:00 is closed
    night = [Window(start="22:00", end="02:00")]
    assert in_windows(DAWN - dt.timedelta(hours=6), night, "Asia/Ho_Chi_Minh")  # 23:00 local
    assert in_windows(DAWN, [], "Asia/Ho_Chi_Minh")


def test_schedule_plays_on_time_refuses_the_0315_entry_and_joins_late(tmp_path: Path) -> None:
    core = make_core(tmp_path)
    at_0315 = DAWN - dt.timedelta(hours=1, minutes=45)
    at_0600 = DAWN + dt.timedelta(hours=1)
    payload = manifest(entry("relay-0315", at_0315, 30, 600), entry("news-0600", at_0600, 30, 120))
    assert core.receive_manifest(payload, at_0315 - dt.timedelta(hours=1)) is not None
    now = at_0315 - dt.timedelta(hours=1)
    while (deadline := core.tick(now)) is not None and deadline < at_0600 + dt.timedelta(hours=1):
        now = deadline
    assert timeline(core) == [
        ("refused", "item-relay-0315", 0.0, at_0315, "outside_window"),
        ("start", "item-news-0600", 0.0, at_0600, None),
        ("end", "item-news-0600", 120.0, at_0600 + dt.timedelta(seconds=120), None),
    ]
    # A device that boots 45 s into an entry joins late at the right offset, from the manifest kept on disk.
    late = make_core(tmp_path)
    assert late.manifest is not None and late.manifest.version == 1
    late.tick(at_0600 + dt.timedelta(seconds=45))
    assert timeline(late)[-1] == ("start", "item-news-0600", 45.0, at_0600 + dt.timedelta(seconds=45), None)


def test_emergency_interrupts_an_entry_which_resumes_in_its_window() -> None:
    core = make_core()
    start = DAWN + dt.timedelta(hours=2)
    core.receive_manifest(manifest(entry("prog", start, 10, 300)), DAWN)
    core.tick(start)
    alert = sign_command(PRIVATE, topic="loa/v1/g/22/cmd", seq=1, action="play", issued_at=start,
                         params={"item_id": "alert", "media_url": "https://x/a", "sha256": SHA, "duration_s": 60,
                                 "priority": 1})  # fmt: skip
    at = start + dt.timedelta(seconds=100)
    command = core.receive_command("loa/v1/g/22/cmd", encode(alert), at)
    assert command is not None
    core.execute(command, at, Path("/dev/null"))
    now = at
    while (deadline := core.tick(now)) is not None:
        now = deadline
    assert timeline(core) == [
        ("start", "item-prog", 0.0, start, None),
        ("interrupted", "item-prog", 100.0, at, "preempted_by:alert"),
        ("start", "alert", 0.0, at, None),
        ("end", "alert", 60.0, at + dt.timedelta(seconds=60), None),
        ("start", "item-prog", 100.0, at + dt.timedelta(seconds=60), "resumed"),
        ("end", "item-prog", 300.0, at + dt.timedelta(seconds=260), None),
    ]
    assert [p[0] for p in core.player.calls] == ["play", "stop", "play", "play"]  # type: ignore[attr-defined]


def test_forged_and_stale_manifests_are_ignored() -> None:
    core = make_core()
    assert core.receive_manifest(manifest(entry("a", DAWN, 10, 60), version=5), DAWN) is not None
    other_private, _ = generate_keypair()
    forged = Manifest.model_validate_json(manifest(entry("evil", DAWN, 10, 60), version=9))
    assert core.receive_manifest(encode(sign(forged, other_private)), DAWN) is None
    assert core.receive_manifest(manifest(entry("old", DAWN, 10, 60), version=4), DAWN) is None
    assert core.receive_manifest(b"{broken", DAWN) is None
    assert core.manifest is not None and core.manifest.version == 5
    assert core.refusals == {
        "manifest_bad_signature": 1,
        "manifest_stale_manifest": 1,
        "manifest_malformed_json": 1,
    }
