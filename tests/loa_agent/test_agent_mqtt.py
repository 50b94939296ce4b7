"""The agent against a real Mosquitto: signed group commands play, forged/expired/replayed ones are refused and
the refusal reaches the server, play logs survive a broker outage, playback continues with the broker down."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from loa_agent.runtime import RuntimeOptions
from loa_agent.simulator import Simulator
from loa_protocol.messages import Command, CommandAck, PlayLogBatch, PlayLogEvent, Status, decode, encode
from loa_protocol.mosquitto import MosquittoBroker
from loa_protocol.signing import sign
from loa_protocol.topics import group_command_topic, presence_topic

pytestmark = pytest.mark.mqtt

A1, A2, B1 = "loa-a00000000001", "loa-a00000000002", "loa-b00000000001"
COMMUNE_A = ["22", "06652"]
COMMUNE_B = ["22", "06658"]
FAST = RuntimeOptions(heartbeat_s=0.5, backoff_initial_s=0.1, backoff_max_s=0.5, publish_timeout_s=2.0)
SHA = "ab" * 32


def play_params(
    item: str = "bulletin-1", duration: float = 0.3, priority: int = 4, **extra: Any
) -> dict[str, Any]:
    return {"item_id": item, "media_url": "http://127.0.0.1:1/m.opus", "sha256": SHA, "duration_s": duration,
            "priority": priority, **extra}  # fmt: skip


@pytest.fixture
def fleet(server: Any) -> Iterator[Simulator]:
    creds = [server.credentials(A1, COMMUNE_A), server.credentials(A2, COMMUNE_A),
             server.credentials(B1, COMMUNE_B)]  # fmt: skip
    sim = Simulator(creds, options=FAST, seed=1).start(wait_connected=10)
    yield sim
    sim.stop()


def uploaded_events(server: Any) -> list[PlayLogEvent]:
    return [e for _, payload in server.received("playlog") for e in decode(PlayLogBatch, payload).events]


def acks(server: Any) -> list[CommandAck]:
    return [decode(CommandAck, payload) for _, payload in server.received("ack")]


def test_group_command_plays_on_the_commune_only_and_logs_reach_the_broker(
    server: Any, fleet: Simulator
) -> None:
    command = server.command(group_command_topic(COMMUNE_A), "play", play_params())
    server.publish(command.topic, encode(command))
    fleet.wait_for(lambda: len([e for e in uploaded_events(server) if e.kind == "end"]) == 2, 30)
    events = uploaded_events(server)
    assert {(e.device_id, e.kind) for e in events} == {(A1, "start"), (A1, "end"), (A2, "start"), (A2, "end")}
    assert all(e.command_id == command.id and e.item_id == "bulletin-1" for e in events)
    assert fleet.events(B1) == []
    statuses = {(a.device_id, a.status) for a in acks(server) if a.command_id == command.id}
    assert statuses == {(A1, "received"), (A2, "received"), (A1, "done"), (A2, "done")}
    # Heartbeats, and presence retained as online.
    fleet.wait_for(
        lambda: {decode(Status, p).device_id for _, p in server.received("status")} == {A1, A2, B1}, 5
    )
    online = [(t, p, r) for t, p, r in server.messages if t == presence_topic(A1) and p == b"online"]
    assert online
    # the store drops an uploaded log when the broker's PUBACK arrives, which may come after the server has the log
    fleet.wait_for(lambda: fleet.pending_logs() == 0, 10, "play logs still pending after the broker had them")


def test_forged_expired_replayed_and_misrouted_commands_are_refused(server: Any, fleet: Simulator) -> None:
    topic = group_command_topic(COMMUNE_A)
    good = server.command(topic, "play", play_params("genuine"))
    server.publish(topic, encode(good))
    fleet.wait_for(lambda: len(fleet.events(A1, "start")) == 1, 20)

    from loa_protocol.signing import generate_keypair

    attacker_key, _ = generate_keypair()
    forged = sign(server.command(topic, "play", play_params("forged")), attacker_key)
    tampered = Command.model_validate(
        {**json.loads(encode(good)), "id": str(uuid.uuid4()), "seq": 99, "params": play_params("tampered")}
    )
    now = dt.datetime.now(dt.UTC)
    expired = server.command(topic, "play", play_params("expired"), issued_at=now - dt.timedelta(hours=1),
                             expires_at=now - dt.timedelta(minutes=30))  # fmt: skip
    unsigned = server.command(topic, "play", play_params("unsigned")).model_copy(update={"signature": ""})
    # A genuine command for commune B, re-published by someone on commune A's topic.
    misrouted = server.command(group_command_topic(COMMUNE_B), "play", play_params("misrouted"))
    future = server.command(topic, "play", play_params("future"), issued_at=now + dt.timedelta(hours=1))
    cases = {forged.id: "bad_signature", tampered.id: "bad_signature", expired.id: "expired",
             unsigned.id: "unsigned", misrouted.id: "wrong_topic", future.id: "not_yet_valid"}  # fmt: skip
    for cmd in (forged, tampered, expired, unsigned, misrouted, future):
        server.publish(topic, encode(cmd))
    server.publish(topic, encode(good))  # the replay
    server.publish(topic, b"{not json")  # garbage must not hurt
    server.publish(
        topic, json.dumps({"v": 1, "id": "5b0c6a8e-2f4d-4c1e-9a53-0d6f1e2b3c4d", "action": "shell"})
    )

    def refused() -> dict[tuple[str, str], str | None]:
        return {(str(a.command_id), a.device_id): a.reason for a in acks(server) if a.status == "refused"}

    fleet.wait_for(lambda: len(refused()) >= 2 * (len(cases) + 1) + 2, 10, str(refused()))
    result = refused()
    for command_id, reason in cases.items():
        assert result[(str(command_id), A1)] == reason
        assert result[(str(command_id), A2)] == reason
    assert result[(str(good.id), A1)] == "replayed"
    assert result[("5b0c6a8e-2f4d-4c1e-9a53-0d6f1e2b3c4d", A1)].startswith("invalid")
    assert [e.item_id for e in fleet.events(A1, "start")] == ["genuine"]  # nothing else ever played
    assert fleet.events(B1) == []
    # The genuine sequence still works after the attack (the forged seq=99 did not advance the guard).
    after = server.command(topic, "stop", {})
    server.publish(topic, encode(after))
    fleet.wait_for(lambda: any(a.command_id == after.id and a.status == "done" for a in acks(server)), 20)


def test_playback_continues_and_logs_are_uploaded_after_a_broker_outage(
    broker: MosquittoBroker, server: Any, fleet: Simulator
) -> None:
    command = server.command(
        group_command_topic(COMMUNE_A), "play", play_params("long", duration=0.8, repeat=4)
    )
    server.publish(command.topic, encode(command))
    fleet.wait_for(lambda: any(e.kind == "start" for e in uploaded_events(server)), 20)
    broker.stop()
    fleet.wait_for(lambda: fleet.connected_count() == 0, 20)
    # With the broker down the agents keep playing every repeat and buffer the logs.
    fleet.wait_for(lambda: len(fleet.events(A1, "end")) == 4 and len(fleet.events(A2, "end")) == 4, 30)
    assert fleet.pending_logs() > 0
    broker.start()
    fleet.wait_for(lambda: fleet.connected_count() == 3, 30, "agents did not reconnect by themselves")
    fleet.wait_for(lambda: fleet.pending_logs() == 0, 30)
    recorded = {e.event_id for e in fleet.events()}
    assert len(recorded) == 16  # 2 devices × 4 repeats × (start, end)
    # The server's own client may reconnect after the agents (its back-off is its own); its persistent session
    # holds what they uploaded meanwhile, so wait for it rather than for a fixed time.
    fleet.wait_for(
        lambda: recorded <= {e.event_id for e in uploaded_events(server)}, 30, "play logs were lost"
    )
    uploaded = {e.event_id for e in uploaded_events(server)}
    assert recorded == uploaded  # nothing recorded was lost; duplicates are allowed, losses are not
    assert any(a.command_id == command.id and a.status == "done" for a in acks(server))


def test_invalid_payloads_do_not_stop_the_agent(server: Any, fleet: Simulator) -> None:
    topic = group_command_topic(COMMUNE_A)
    for payload in (b"", b"\xff\xfe", b"[]", b"{}" * 100_000, json.dumps({"v": 2}).encode()):
        server.publish(topic, payload)
    command = server.command(topic, "volume", {"volume": 35})
    server.publish(topic, encode(command))
    fleet.wait_for(lambda: any(a.command_id == command.id and a.status == "done" for a in acks(server)), 20)
    assert fleet.devices[A1].core.volume == 35
    assert fleet.refusals().get("invalid", 0) >= 8


def test_a_refused_manifest_is_reported_on_the_ack_topic(server: Any, fleet: Simulator) -> None:
    """protocol.md §6: a forged (or foreign) retained manifest is ignored and reported as a ManifestAck."""
    from loa_protocol.messages import Manifest, ManifestAck
    from loa_protocol.signing import generate_keypair
    from loa_protocol.topics import manifest_topic

    now = dt.datetime.now(dt.UTC)
    attacker_key, _ = generate_keypair()
    manifest = Manifest(device_id=A1, version=7, generated_at=now, valid_from=now,
                        valid_until=now + dt.timedelta(hours=48))  # fmt: skip
    server.publish(manifest_topic(A1), encode(sign(manifest, attacker_key)), retain=True)
    foreign = manifest.model_copy(update={"device_id": B1, "version": 8})
    server.publish(manifest_topic(A1), encode(sign(foreign, server.private_key)), retain=True)

    def reports() -> list[tuple[str, str | None, int | None]]:
        return [
            (m.device_id, m.reason, m.manifest_version)
            for _, payload in server.received("ack")
            if b'"manifest_version"' in payload
            for m in [decode(ManifestAck, payload)]
        ]

    fleet.wait_for(lambda: len(reports()) >= 2, 10, str(reports()))
    assert reports() == [(A1, "bad_signature", 7), (A1, "wrong_device", 8)]
    server.publish(manifest_topic(A1), b"", retain=True)  # clear the retained message for later tests
