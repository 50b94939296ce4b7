"""Command signing: round trip, every rejection reason, the per-topic replay guard, manifests."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest

from loa_protocol import messages as m
from loa_protocol.examples import (
    DEVICE_ID,
    EXAMPLE_PRIVATE_KEY,
    EXAMPLE_PUBLIC_KEY,
    T0,
    example_command,
    example_messages,
)
from loa_protocol.signing import (
    CommandRejected,
    ReplayGuard,
    canonical_bytes,
    generate_keypair,
    public_key_of,
    sign,
    sign_command,
    signature_is_valid,
    verify_command,
    verify_manifest,
)

GROUP = "loa/v1/g/22/06652/cmd"
NOW = T0 + dt.timedelta(seconds=5)


def rejected(
    command: m.Command,
    topic: str = GROUP,
    now: dt.datetime = NOW,
    guard: ReplayGuard | None = None,
    key: str = EXAMPLE_PUBLIC_KEY,
) -> str:
    with pytest.raises(CommandRejected) as exc:
        verify_command(command, key, topic, now, guard)
    assert exc.value.message  # Vietnamese text for the log and the ack
    return exc.value.reason


def test_keypair_round_trip() -> None:
    private, public = generate_keypair()
    assert len(base64.b64decode(private)) == 32 and len(base64.b64decode(public)) == 32
    assert public_key_of(private) == public
    cmd = sign_command(private, topic=GROUP, seq=1, action="pause")
    verify_command(cmd, public, GROUP, dt.datetime.now(dt.UTC), ReplayGuard())
    assert rejected(cmd, key=EXAMPLE_PUBLIC_KEY, now=dt.datetime.now(dt.UTC)) == "bad_signature"


def test_signature_survives_the_wire() -> None:
    cmd = example_command()
    back = m.decode(m.Command, m.encode(cmd))
    verify_command(back, EXAMPLE_PUBLIC_KEY, GROUP, NOW, ReplayGuard())


def test_worked_example_is_stable() -> None:
    """docs/protocol.md shows this canonical form and signature; a vendor checks their code against it."""
    cmd = example_command()
    canonical = canonical_bytes(cmd).decode()
    assert canonical.startswith('{"action":"play","expires_at":"2026-03-02T01:10:00Z","id":"5b0c6a8e-')
    assert canonical.endswith('"seq":42,"topic":"loa/v1/g/22/06652/cmd","v":1}')
    doc = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text("utf-8")
    assert canonical in doc
    assert cmd.signature in doc
    assert EXAMPLE_PUBLIC_KEY in doc


def test_unsigned() -> None:
    cmd = example_command().model_copy(update={"signature": ""})
    assert rejected(cmd) == "unsigned"
    data = json.loads(m.encode(cmd))
    del data["signature"]
    assert rejected(m.decode(m.Command, json.dumps(data))) == "unsigned"


@pytest.mark.parametrize(
    "change",
    [
        {"seq": 43},
        {"action": "stop", "params": {}},
        {"expires_at": T0 + dt.timedelta(days=30)},
        {"topic": "loa/v1/g/22/cmd"},
    ],
)
def test_tampered_commands_have_a_bad_signature(change: dict[str, object]) -> None:
    cmd = example_command().model_copy(update=change)
    assert rejected(cmd, topic=cmd.topic) == "bad_signature"


def test_forged_with_another_key_and_garbage_signatures() -> None:
    other_private, _ = generate_keypair()
    forged = sign(example_command(), other_private)
    assert rejected(forged) == "bad_signature"
    assert rejected(example_command().model_copy(update={"signature": "not base64!"})) == "bad_signature"
    assert rejected(example_command().model_copy(update={"signature": "AAAA"})) == "bad_signature"


def test_wrong_topic() -> None:
    # A genuine command for commune 06652 re-published on the province topic must not play there.
    assert rejected(example_command(), topic="loa/v1/g/22/cmd") == "wrong_topic"


def test_expired_and_not_yet_valid() -> None:
    cmd = example_command()
    assert rejected(cmd, now=cmd.expires_at) == "expired"
    assert rejected(cmd, now=T0 + dt.timedelta(hours=1)) == "expired"
    assert rejected(cmd, now=T0 - dt.timedelta(minutes=5)) == "not_yet_valid"
    verify_command(cmd, EXAMPLE_PUBLIC_KEY, GROUP, T0 - dt.timedelta(seconds=60), None)  # within clock leeway


def test_replay_is_detected_per_topic_across_a_group() -> None:
    """One group publish reaches many devices: each device's guard accepts it once, by the topic's sequence."""
    a, b = ReplayGuard(), ReplayGuard()
    cmd = example_command()
    verify_command(cmd, EXAMPLE_PUBLIC_KEY, GROUP, NOW, a)
    verify_command(cmd, EXAMPLE_PUBLIC_KEY, GROUP, NOW, b)
    assert rejected(cmd, guard=a) == "replayed"
    assert rejected(cmd, guard=b) == "replayed"
    older = sign_command(EXAMPLE_PRIVATE_KEY, topic=GROUP, seq=41, action="stop", issued_at=T0)
    assert rejected(older, guard=a) == "replayed"
    # Another topic has its own sequence: seq 1 on the province topic is fine.
    province = sign_command(EXAMPLE_PRIVATE_KEY, topic="loa/v1/g/22/cmd", seq=1, action="stop", issued_at=T0)
    verify_command(province, EXAMPLE_PUBLIC_KEY, "loa/v1/g/22/cmd", NOW, a)
    newer = sign_command(EXAMPLE_PRIVATE_KEY, topic=GROUP, seq=43, action="stop", issued_at=T0)
    verify_command(newer, EXAMPLE_PUBLIC_KEY, GROUP, NOW, a)
    assert a.snapshot() == {GROUP: 43, "loa/v1/g/22/cmd": 1}


def test_rejected_commands_do_not_advance_the_guard() -> None:
    guard = ReplayGuard()
    other_private, _ = generate_keypair()
    forged = sign_command(other_private, topic=GROUP, seq=10**9, action="reboot", issued_at=T0)
    assert rejected(forged, guard=guard) == "bad_signature"
    expired = sign_command(
        EXAMPLE_PRIVATE_KEY,
        topic=GROUP,
        seq=10**9,
        action="reboot",
        issued_at=T0,
        expires_at=T0 + dt.timedelta(seconds=1),
    )
    assert rejected(expired, guard=guard) == "expired"
    assert guard.last(GROUP) == 0
    verify_command(example_command(), EXAMPLE_PUBLIC_KEY, GROUP, NOW, guard)


def test_replay_guard_persists_atomically(tmp_path: Path) -> None:
    path = tmp_path / "state" / "replay.json"
    guard = ReplayGuard(path)
    guard.accept(GROUP, 5)
    guard.accept("loa/v1/g/22/cmd", 2)
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["replay.json"]  # no temporary file left behind
    again = ReplayGuard(path)
    assert again.snapshot() == {GROUP: 5, "loa/v1/g/22/cmd": 2}
    with pytest.raises(CommandRejected) as exc:
        again.accept(GROUP, 5)
    assert exc.value.reason == "replayed"


def test_manifest_signing() -> None:
    manifest = example_messages()["Manifest"]
    assert isinstance(manifest, m.Manifest)
    assert signature_is_valid(manifest, EXAMPLE_PUBLIC_KEY)
    verify_manifest(
        m.decode(m.Manifest, m.encode(manifest)), EXAMPLE_PUBLIC_KEY, DEVICE_ID, current_version=17
    )
    cases = {
        "bad_signature": (manifest.model_copy(update={"version": 99}), DEVICE_ID, None),
        "unsigned": (manifest.model_copy(update={"signature": ""}), DEVICE_ID, None),
        "wrong_device": (manifest, "loa-000000000000", None),
        "stale_manifest": (manifest, DEVICE_ID, 18),
    }
    for reason, (candidate, device, current) in cases.items():
        with pytest.raises(CommandRejected) as exc:
            verify_manifest(candidate, EXAMPLE_PUBLIC_KEY, device, current)
        assert exc.value.reason == reason
