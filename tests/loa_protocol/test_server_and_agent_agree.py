"""The server and the agent apply the same window and ladder rules (issue 8): for any window sets a province and a
commune may set (overnight and whole-day sets included), opened by any approver-allowed spans, the manifest the
server's compile path writes makes the real agent core refuse exactly the entries the server says are outside the
windows — and the console's preview predicts exactly those refusals — for every play class of the ladder.

Before ``loa_protocol.windows`` both sides had their own reading, and a whole-day set became ``00:00–00:00``:
always open for the server, never open for the agent."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from loa.broadcast import guardrails as gr
from loa.broadcast.compile import manifest_windows
from loa.broadcast.models import ManifestContent
from loa.broadcast.preview import _rows
from loa.broadcast.recurrence import LOCAL_TZ
from loa_agent.core import AgentCore
from loa_agent.player import NullPlayer
from loa_agent.playlog import MemoryPlayLogStore
from loa_protocol.ladder import CLASSES, Decision, PlayClass, decide, obeys_windows
from loa_protocol.messages import Manifest, ManifestEntry, Window, encode
from loa_protocol.signing import generate_keypair, sign
from loa_protocol.windows import DAY, hhmm

DEVICE = "loa-00000000a9e3"
PRIVATE, PUBLIC = generate_keypair()
DAY0 = dt.datetime(2026, 3, 2, tzinfo=LOCAL_TZ)  # a local midnight
SHA = "ab" * 32

minutes = st.integers(min_value=0, max_value=DAY - 1)
# what an operator may type: pairs HH:MM with start ≠ end (end < start spans midnight)
typed_window = (
    st.tuples(minutes, minutes).filter(lambda p: p[0] != p[1]).map(lambda p: (hhmm(p[0]), hhmm(p[1])))
)
typed_set = st.one_of(st.none(), st.lists(typed_window, min_size=0, max_size=4))
span = st.tuples(minutes, st.integers(min_value=1, max_value=DAY)).map(
    lambda p: (p[0], min(DAY, p[0] + p[1]))
)

WHOLE_DAY = [("22:00", "05:00"), ("05:00", "22:00")]
OVERNIGHT = [("22:00", "02:00")]


def limits(typed: list[tuple[str, str]] | None) -> gr.Limits:
    return gr.Limits(windows=gr.parse_windows(typed) if typed is not None else None)


def local(minute: int) -> dt.datetime:
    return (DAY0 + dt.timedelta(minutes=minute)).astimezone(dt.UTC)


def entries_at(sample: list[int]) -> list[ManifestEntry]:
    """One one-minute entry per play class at every sampled minute (the same minute for all classes)."""
    out = []
    for minute in sorted(set(sample)):
        for cls in CLASSES:
            out.append(ManifestEntry(
                entry_id=f"e{minute}-{int(cls)}", start=local(minute), end=local(minute) + dt.timedelta(seconds=50),
                item_id=f"item-{minute}-{int(cls)}", media_url="https://loa.example.vn/m.mp3", sha256=SHA,
                duration_s=1.0, priority=cls,
            ))  # fmt: skip
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(province=typed_set, commune=typed_set, opened=st.lists(span, max_size=2),
       sample=st.lists(minutes, min_size=1, max_size=6))  # fmt: skip
@example(province=WHOLE_DAY, commune=None, opened=[], sample=[0, 195, 300, 1319, 1439])
@example(province=None, commune=None, opened=[(22 * 60, DAY), (0, 5 * 60)], sample=[0, 195, 360, 1339])
@example(province=OVERNIGHT, commune=None, opened=[], sample=[0, 119, 120, 1319, 1320, 1439])
@example(province=[("05:00", "22:00")], commune=[("22:00", "23:00")], opened=[], sample=[600, 1330])
def test_the_agent_refuses_exactly_what_the_server_says_is_outside_the_windows(
    province: list[tuple[str, str]] | None,
    commune: list[tuple[str, str]] | None,
    opened: list[tuple[int, int]],
    sample: list[int],
) -> None:
    # the server: effective limits along the tree (the default 05:00–22:00 when the province sets nothing)…
    effective = gr.effective([limits(province), limits(commune)]).windows
    # …opened by approver-allowed spans, in the manifest's form (what compile_manifests writes)
    windows, closed = manifest_windows(effective, opened)
    allowed = gr.merge([*effective, *opened]) if effective is not None else None
    # what the server's schedule check (check_sessions) accepts: the entry's whole span inside a window
    entries = entries_at(sample + [a for a, _b in opened])
    server_refuses = {
        e.entry_id
        for e in entries
        if obeys_windows(e.priority) and not gr.in_windows(allowed, e.start, e.end)
    }
    # the console's preview of the same manifest content
    content = ManifestContent(
        digest="x",
        entries=[e.model_dump(mode="json") for e in entries],
        windows={"closed": True} if closed else windows,
    )
    preview_refuses = {
        e.entry_id
        for e, row in zip(
            sorted(entries, key=lambda e: (e.start, e.priority)),
            _rows([(content, 1)], local(0) - dt.timedelta(hours=1), local(DAY) + dt.timedelta(hours=1)),
            strict=True,
        )
        if row.refused
    }
    # the agent: the signed manifest, its own clock through every entry
    manifest = Manifest(device_id=DEVICE, version=1, generated_at=local(0), valid_from=local(0) - dt.timedelta(hours=1),
                        valid_until=local(DAY) + dt.timedelta(days=1), windows=[Window(**w) for w in windows],
                        closed=closed, entries=entries)  # fmt: skip
    core = AgentCore(
        DEVICE, PUBLIC, NullPlayer(), MemoryPlayLogStore(), media_lookup=lambda sha: Path("/dev/null")
    )
    assert (
        core.receive_manifest(encode(sign(manifest, PRIVATE)), local(0) - dt.timedelta(hours=1)) is not None
    )
    for start in sorted({e.start for e in entries}):
        core.tick(start)
    agent_refuses = {
        e.manifest_entry_id for e in core.history if e.kind == "refused" and e.reason == "outside_window"
    }
    assert agent_refuses == server_refuses, (windows, closed)
    assert preview_refuses == server_refuses, (windows, closed)
    # emergencies are never refused for the windows; nothing the server allows is refused
    assert not any(e.endswith(f"-{int(PlayClass.EMERGENCY)}") for e in agent_refuses)


@settings(deadline=None)  # a busy machine (or a mutation run) is slow, not wrong
@given(arriving=st.sampled_from(CLASSES), playing=st.sampled_from([None, *CLASSES]),
       levels=st.tuples(st.integers(1, 3), st.integers(1, 3)))  # fmt: skip
def test_every_ladder_case_plays_out_on_the_agent_as_the_protocol_table_says(
    arriving: PlayClass, playing: PlayClass | None, levels: tuple[int, int]
) -> None:
    """The agent core acts on the protocol's table (loa_protocol.ladder), which the server reads for the classes
    it assigns (emergency 1, hand-off priority 3, schedules 3/4)."""
    from loa_agent.core import PlayItem

    core = AgentCore(
        DEVICE, PUBLIC, NullPlayer(), MemoryPlayLogStore(), media_lookup=lambda sha: Path("/dev/null")
    )
    now = local(600)
    if playing is not None:
        core.arrive(PlayItem("playing", 60.0, playing, SHA, level=levels[1]), now)
    decision = core.arrive(PlayItem("arriving", 60.0, arriving, SHA, level=levels[0]), now)
    assert decision == decide(arriving, playing, levels[0], levels[1] if playing is not None else None)
    current = core.current.item.item_id if core.current else None
    if decision in (Decision.PLAY, Decision.PREEMPT):
        assert current == "arriving"
    elif decision in (Decision.QUEUE, Decision.AT_ITEM_END):
        assert current == "playing" and [i.item_id for i in core.queue] == ["arriving"]
    else:
        assert current == "playing" and core.refusals.get("live_busy") == 1
