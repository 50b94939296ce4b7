"""Message models: round trips, strictness, clear errors on bad input."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from pydantic import ValidationError

from loa_protocol import messages as m
from loa_protocol.examples import DEVICE_ID, SHA, T0, example_messages


@pytest.mark.parametrize("name", sorted(m.MESSAGE_MODELS))
def test_round_trip_through_the_wire(name: str) -> None:
    message = example_messages()[name]
    wire = m.encode(message)
    back = m.decode(m.MESSAGE_MODELS[name], wire)
    assert back == message
    assert json.loads(wire)["v"] == 1


@pytest.mark.parametrize("name", sorted(m.MESSAGE_MODELS))
def test_unknown_fields_are_refused(name: str) -> None:
    data = json.loads(m.encode(example_messages()[name]))
    data["surprise"] = 1
    with pytest.raises(m.ProtocolError) as exc:
        m.decode(m.MESSAGE_MODELS[name], json.dumps(data))
    assert exc.value.code == "invalid"
    assert "surprise" in exc.value.message


def test_naive_datetimes_are_refused_and_aware_ones_become_utc() -> None:
    base = json.loads(m.encode(example_messages()["CommandAck"]))
    with pytest.raises(m.ProtocolError) as exc:
        m.decode(m.CommandAck, json.dumps({**base, "at": "2026-03-02T08:00:00"}))
    assert exc.value.code == "invalid"
    ack = m.decode(m.CommandAck, json.dumps({**base, "at": "2026-03-02T08:00:00+07:00"}))
    assert ack.at == T0 and ack.at.utcoffset() == dt.timedelta(0)


def test_wrong_version_malformed_and_oversized_payloads() -> None:
    good = json.loads(m.encode(example_messages()["Status"]))
    with pytest.raises(m.ProtocolError) as exc:
        m.decode(m.Status, json.dumps({**good, "v": 2}))
    assert exc.value.code == "unsupported_version"
    assert "Phiên bản giao thức không được hỗ trợ" in exc.value.message
    with pytest.raises(m.ProtocolError) as exc:
        m.decode(m.Status, b"{not json")
    assert exc.value.code == "malformed_json"
    with pytest.raises(m.ProtocolError) as exc:
        m.decode(m.Status, b"\xff\xfe")
    assert exc.value.code == "malformed_json"
    with pytest.raises(m.ProtocolError) as exc:
        m.decode(m.Status, b"[1, 2]")
    assert exc.value.code == "invalid"
    with pytest.raises(m.ProtocolError) as exc:
        m.decode(m.Status, b" " * 300_000)
    assert exc.value.code == "too_large"
    assert "Gói tin quá lớn" in exc.value.message


def test_status_ranges() -> None:
    good = json.loads(m.encode(example_messages()["Status"]))
    for field, value in [("volume", 101), ("volume", -1), ("state", "dancing"), ("link", "5g"), ("lat", 91)]:
        with pytest.raises(m.ProtocolError):
            m.decode(m.Status, json.dumps({**good, field: value}))


def _event(**extra: object) -> m.PlayLogEvent:
    data: dict[str, object] = {
        "event_id": uuid.uuid4(),
        "device_id": DEVICE_ID,
        "kind": "end",
        "item_id": "x",
        "at": T0,
        "priority": 4,
    }
    return m.PlayLogEvent.model_validate({**data, **extra})


def test_playlog_batch_limits_and_single_device() -> None:
    with pytest.raises(ValidationError):
        m.PlayLogBatch(device_id=DEVICE_ID, events=[])
    with pytest.raises(ValidationError):
        m.PlayLogBatch(device_id=DEVICE_ID, events=[_event() for _ in range(501)])
    assert len(m.PlayLogBatch(device_id=DEVICE_ID, events=[_event() for _ in range(500)]).events) == 500
    with pytest.raises(ValidationError, match="cùng thiết bị"):
        m.PlayLogBatch(device_id=DEVICE_ID, events=[_event(device_id="loa-000000000000")])
    with pytest.raises(ValidationError):
        _event(priority=5)


def test_command_params_are_checked_per_action() -> None:
    cmd = json.loads(m.encode(example_messages()["Command"]))
    play = m.decode(m.Command, json.dumps(cmd)).play_params()
    assert play.priority == 1 and play.repeat == 3 and play.sha256 == SHA
    for params in [{}, {**cmd["params"], "priority": 0}, {**cmd["params"], "sha256": "abc"}]:
        with pytest.raises(m.ProtocolError):
            m.decode(m.Command, json.dumps({**cmd, "params": params}))
    with pytest.raises(m.ProtocolError):
        m.decode(m.Command, json.dumps({**cmd, "action": "volume", "params": {"volume": 150}}))
    with pytest.raises(m.ProtocolError):
        m.decode(m.Command, json.dumps({**cmd, "action": "shell", "params": {}}))
    with pytest.raises(m.ProtocolError):
        m.decode(m.Command, json.dumps({**cmd, "seq": 0}))
    with pytest.raises(m.ProtocolError):
        m.decode(m.Command, json.dumps({**cmd, "expires_at": cmd["issued_at"]}))
    vol = m.decode(m.Command, json.dumps({**cmd, "action": "volume", "params": {"volume": 30}}))
    assert vol.typed_params() == m.VolumeParams(volume=30)


def test_manifest_windows_and_entries() -> None:
    data = json.loads(m.encode(example_messages()["Manifest"]))
    with pytest.raises(m.ProtocolError):
        m.decode(m.Manifest, json.dumps({**data, "windows": [{"start": "5:00", "end": "21:00"}]}))
    with pytest.raises(m.ProtocolError):
        m.decode(m.Manifest, json.dumps({**data, "windows": [{"start": "24:00", "end": "21:00"}]}))
    entry = data["entries"][0]
    with pytest.raises(m.ProtocolError):
        m.decode(m.Manifest, json.dumps({**data, "entries": [{**entry, "end": entry["start"]}]}))


def test_enrol_response_urls() -> None:
    data = json.loads(m.encode(example_messages()["EnrolResponse"]))
    assert m.decode(m.EnrolResponse, json.dumps({**data, "mqtt_url": "mqtt://127.0.0.1:1883"}))
    with pytest.raises(m.ProtocolError):
        m.decode(m.EnrolResponse, json.dumps({**data, "mqtt_url": "http://x"}))
