"""The device contract of protocol.md as code: one schema per command action that keeps v1 commands valid and
verifying, the error body, the normative order of checks, device-side size limits, the canonical number form,
refusal of commands from before a re-enrolment and the report of a refused manifest."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from pathlib import Path

import httpx
import pytest
from pydantic import TypeAdapter, ValidationError

from loa_agent.core import AgentCore
from loa_agent.enrol import enrol, load_enrolled_at, save_credentials
from loa_agent.player import NullPlayer
from loa_agent.playlog import MemoryPlayLogStore
from loa_protocol import messages as m
from loa_protocol.examples import EXAMPLE_PRIVATE_KEY, EXAMPLE_PUBLIC_KEY, example_messages
from loa_protocol.schema import json_schemas
from loa_protocol.signing import (
    NotCanonical,
    canonical_bytes,
    generate_keypair,
    sign,
    sign_command,
    signature_is_valid,
)

DEVICE = "loa-0000000000c1"
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
SHA = "ab" * 32
TOPIC = "loa/v1/g/22/cmd"
PRIVATE, PUBLIC = generate_keypair()
TYPED = TypeAdapter(m.TypedCommand)

PARAMS = {
    "play": {"item_id": "x", "media_url": "https://h/media/files/a.mp3", "sha256": SHA, "duration_s": 9.5,
             "priority": 4},
    "stop": {},
    "pause": {},
    "resume": {},
    "next": {},
    "volume": {"volume": 40},
    "reboot": {},
    "refresh_manifest": {},
    # e-bulletin boards only (docs/fleet.md "Boards")
    "reload": {},
    "screen_on": {},
    "screen_off": {},
    "brightness": {"brightness": 60},
    "screenshot": {},
    "kill_switch": {"engaged": True},
}  # fmt: skip


def core(**kwargs: object) -> AgentCore:
    return AgentCore(DEVICE, PUBLIC, NullPlayer(), MemoryPlayLogStore(), **kwargs)  # type: ignore[arg-type]


def refusals(c: AgentCore) -> list[str | None]:
    return [a.reason for a in c.acks if a.status == "refused"]


@pytest.mark.parametrize("action", sorted(PARAMS))
def test_every_v1_command_validates_against_its_action_schema_and_still_verifies(action: str) -> None:
    signed = sign_command(PRIVATE, topic=TOPIC, seq=1, action=action, params=PARAMS[action], issued_at=T0)
    wire = json.loads(m.encode(signed))
    typed = TYPED.validate_python(wire)
    assert typed.action == action
    # the wire form did not change: what a v1 server signed verifies after a decode with the new models
    assert signature_is_valid(m.decode(m.Command, json.dumps(wire)), PUBLIC)


def test_worked_example_of_the_doc_still_verifies() -> None:
    command = example_messages()["Command"]
    assert sign(command, EXAMPLE_PRIVATE_KEY).signature == command.signature
    assert signature_is_valid(command, EXAMPLE_PUBLIC_KEY)
    TYPED.validate_python(json.loads(m.encode(command)))


def test_per_action_schema_refuses_what_command_refuses() -> None:
    for action, params in [("volume", {}), ("volume", {"volume": 101}), ("pause", {"x": 1}),
                           ("play", {"item_id": "x"}), ("stop", {"item_id": "a", "y": 1})]:  # fmt: skip
        data = {"v": 1, "id": str(uuid.uuid4()), "topic": TOPIC, "seq": 1, "issued_at": "2026-03-02T01:00:00Z",
                "expires_at": "2026-03-02T01:10:00Z", "action": action, "params": params}  # fmt: skip
        with pytest.raises(ValidationError):
            TYPED.validate_python(data)
        with pytest.raises(m.ProtocolError):
            m.decode(m.Command, json.dumps(data))


def test_schemas_name_each_action_and_the_error_body() -> None:
    schemas = json_schemas()
    command = schemas["Command"]
    assert command["discriminator"]["propertyName"] == "action"
    assert set(command["discriminator"]["mapping"]) == set(PARAMS)
    play = command["$defs"]["PlayParams"]
    assert set(play["required"]) == {"item_id", "media_url", "duration_s", "priority"}
    assert "keep" in json.dumps(play["properties"]["volume"])
    assert "stream" in json.dumps(play["properties"]["kind"])
    body = {"error": {"code": "enrol_code_invalid", "message": "Mã đăng ký không hợp lệ.", "details": []}}
    m.ErrorBody.model_validate(body)
    assert schemas["ErrorBody"]["required"] == ["error"]
    assert "ManifestAck" in schemas


def test_order_of_checks_is_the_documented_one() -> None:
    """A command wrong in several ways is refused for the first failing check of protocol.md §6."""
    enrolled = T0 + dt.timedelta(hours=1)
    c = core(enrolled_at=enrolled)
    forged_key, _ = generate_keypair()
    late = T0 + dt.timedelta(hours=2)
    # bad signature beats wrong topic and expiry
    bad = sign_command(forged_key, topic=TOPIC, seq=5, action="pause", issued_at=T0)
    c.receive_command("loa/v1/g/22/06652/cmd", m.encode(bad), late)
    # wrong topic beats expiry
    old = sign_command(PRIVATE, topic=TOPIC, seq=6, action="pause", issued_at=T0)
    c.receive_command("loa/v1/g/22/06652/cmd", m.encode(old), late)
    # expired beats before_enrolment
    c.receive_command(TOPIC, m.encode(old), late)
    # before_enrolment: issued before the enrolment, still valid
    before = sign_command(
        PRIVATE, topic=TOPIC, seq=7, action="pause", issued_at=enrolled - dt.timedelta(minutes=1)
    )
    c.receive_command(TOPIC, m.encode(before), enrolled + dt.timedelta(minutes=2))
    # replay is last: a genuine command after the enrolment is accepted once
    fresh = sign_command(
        PRIVATE, topic=TOPIC, seq=3, action="pause", issued_at=enrolled + dt.timedelta(seconds=1)
    )
    c.receive_command(TOPIC, m.encode(fresh), enrolled + dt.timedelta(minutes=2))
    c.receive_command(TOPIC, m.encode(fresh), enrolled + dt.timedelta(minutes=2))
    assert refusals(c) == ["bad_signature", "wrong_topic", "expired", "before_enrolment", "replayed"]
    # the refused seq=7 did not advance the replay table: seq 3 was accepted after it
    assert c.guard.last(TOPIC) == 3


def test_re_enrolled_device_refuses_a_group_command_from_before_its_enrolment() -> None:
    """A device enrolled again starts with an empty replay table: without the enrolment time it plays an
    unexpired group command issued before (failed before the fix: 'received')."""
    command = sign_command(PRIVATE, topic=TOPIC, seq=9, action="play", params=PARAMS["play"], issued_at=T0)
    c = core(enrolled_at=T0 + dt.timedelta(seconds=30))
    assert c.receive_command(TOPIC, m.encode(command), T0 + dt.timedelta(minutes=1)) is None
    assert refusals(c) == ["before_enrolment"]
    assert m.normalise_reason("before_enrolment") == "before_enrolment"


def test_enrolment_time_is_the_servers_http_date(tmp_path: Path) -> None:
    response = example_messages()["EnrolResponse"]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, content=m.encode(response), headers={"Date": "Mon, 02 Mar 2026 01:00:07 GMT"}
        )

    request = m.EnrolRequest(code="K7Q2-M9XD", serial="s", vendor="v", model="m", firmware="f")
    credentials = enrol(
        "https://loa.example.vn", request, client=httpx.Client(transport=httpx.MockTransport(handler))
    )
    save_credentials(tmp_path, credentials)
    assert load_enrolled_at(tmp_path) == dt.datetime(2026, 3, 2, 1, 0, 7, tzinfo=dt.UTC)
    assert load_enrolled_at(tmp_path / "nothing") is None


def test_device_side_size_limits() -> None:
    c = core()
    command = sign_command(PRIVATE, topic=TOPIC, seq=1, action="stop", params={"item_id": "x" * 150},
                           issued_at=T0)  # fmt: skip
    data = json.loads(m.encode(command))
    padded = json.dumps(data, indent=m.MAX_COMMAND_BYTES // 10).encode()  # same JSON, more than the limit
    assert len(padded) > m.MAX_COMMAND_BYTES
    assert c.receive_command(TOPIC, padded, T0) is None
    assert refusals(c) == ["too_large"]
    manifest = json.dumps({"v": 1, "pad": " " * m.MAX_MANIFEST_BYTES}).encode()
    assert c.receive_manifest(manifest, T0) is None
    assert [(a.reason, a.manifest_version) for a in c.take_manifest_acks()] == [("too_large", None)]


def test_a_refused_manifest_is_reported() -> None:
    c = core()
    forged_key, _ = generate_keypair()
    manifest = m.Manifest(device_id=DEVICE, version=4, generated_at=T0, valid_from=T0,
                          valid_until=T0 + dt.timedelta(hours=48))  # fmt: skip
    assert c.receive_manifest(m.encode(sign(manifest, forged_key)), T0) is None
    other = manifest.model_copy(update={"device_id": "loa-0000000000c2"})
    assert c.receive_manifest(m.encode(sign(other, PRIVATE)), T0) is None
    assert c.receive_manifest(m.encode(sign(manifest, PRIVATE)), T0) is not None
    stale = manifest.model_copy(update={"version": 3})
    assert c.receive_manifest(m.encode(sign(stale, PRIVATE)), T0) is None
    acks = c.take_manifest_acks()
    assert [(a.reason, a.manifest_version) for a in acks] == [
        ("bad_signature", 4),
        ("wrong_device", 4),
        ("stale_manifest", 3),
    ]
    wire = m.encode(acks[0])
    assert m.decode(m.ManifestAck, wire) == acks[0]


def test_canonical_numbers() -> None:
    """Integers as integers, floats with a decimal point and no exponent; the signer refuses the rest."""
    command = sign_command(PRIVATE, topic=TOPIC, seq=2**40, action="play",
                           params={**PARAMS["play"], "duration_s": 60, "volume": 90}, issued_at=T0)  # fmt: skip
    body = canonical_bytes(command).decode()
    assert '"duration_s":60.0' in body and '"volume":90' in body and f'"seq":{2**40}' in body
    # what a non-Python device may receive for the same value (1E2, 100.00) canonicalises to what was signed
    payload = m.encode(sign_command(PRIVATE, topic=TOPIC, seq=1, action="play",
                                    params={**PARAMS["play"], "duration_s": 100.0}, issued_at=T0))  # fmt: skip
    assert b'"duration_s":100.0' in payload
    for variant in (b'"duration_s":1E2', b'"duration_s":100.00', b'"duration_s":1.0e2'):
        received = m.decode(m.Command, payload.replace(b'"duration_s":100.0', variant))
        assert signature_is_valid(received, PUBLIC), variant
    # an integer token is an integer: 100 is not the signed 100.0
    assert not signature_is_valid(m.decode(m.Command, payload.replace(b'"duration_s":100.0', b'"duration_s":100')),
                                  PUBLIC)  # fmt: skip
    for bad in ({"duration_s": 1e-05}, {"duration_s": 1e16}):
        with pytest.raises(NotCanonical):
            sign_command(PRIVATE, topic=TOPIC, seq=1, action="play", params={**PARAMS["play"], **bad},
                         issued_at=T0)  # fmt: skip
    with pytest.raises(NotCanonical):
        sign_command(PRIVATE, topic=TOPIC, seq=2**53, action="pause", issued_at=T0)
    assert base64.b64decode(command.signature)


def test_the_committed_schema_files_validate_what_devices_receive() -> None:
    """A vendor's validator (here jsonschema-rs, JSON Schema 2020-12) on docs/protocol/*.schema.json accepts every
    action's command as signed and refuses unknown or missing params."""
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    docs = Path(__file__).parents[2] / "docs" / "protocol"
    command = jsonschema_rs.validator_for(json.loads((docs / "Command.schema.json").read_text("utf-8")))
    for action, params in PARAMS.items():
        signed = sign_command(PRIVATE, topic=TOPIC, seq=1, action=action, params=params, issued_at=T0)
        assert command.is_valid(json.loads(m.encode(signed))), action
    stream = {"item_id": "vov1", "kind": "stream", "media_url": "https://stream.vov.vn/vov1.aac", "duration_s": 900.0,
              "priority": 4}  # fmt: skip
    assert command.is_valid(json.loads(m.encode(sign_command(PRIVATE, topic=TOPIC, seq=1, action="play",
                                                             params=stream, issued_at=T0))))  # fmt: skip
    good = json.loads(m.encode(sign_command(PRIVATE, topic=TOPIC, seq=1, action="volume", params={"volume": 3},
                                            issued_at=T0)))  # fmt: skip
    assert not command.is_valid({**good, "params": {}})
    assert not command.is_valid({**good, "params": {"volume": 3, "extra": 1}})
    assert not command.is_valid({**good, "action": "shell"})
    error = jsonschema_rs.validator_for(json.loads((docs / "ErrorBody.schema.json").read_text("utf-8")))
    assert error.is_valid({"error": {"code": "enrolment_code_used", "message": "Mã đã dùng.", "details": []}})
    assert not error.is_valid({"code": "enrolment_code_used", "message": "Mã đã dùng."})
    report = jsonschema_rs.validator_for(json.loads((docs / "ManifestAck.schema.json").read_text("utf-8")))
    assert report.is_valid(json.loads(m.encode(example_messages()["ManifestAck"])))
