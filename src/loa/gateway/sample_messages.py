"""Sample device messages (status, play logs, command acks) as a loudspeaker cluster sends them.

Used by ``loa bench ingest`` (:mod:`loa.gateway.bench`) and by the gateway and fleet tests; built with the protocol's
own models, so they are always valid messages.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from loa_protocol.messages import CommandAck, PlayLogBatch, PlayLogEvent, Status, encode


def status_payload(device_id: str, **over: Any) -> bytes:
    data: dict[str, Any] = {
        "device_id": device_id,
        "ts": dt.datetime.now(dt.UTC),
        "uptime_s": 100,
        "state": "idle",
        "volume": 70,
        "link": "4g",
        "signal_dbm": -71,
        "power": "mains",
        "temperature_c": 41.5,
        "storage_free_mb": 900,
        "firmware": "1.0.0",
    }
    data.update(over)
    return encode(Status.model_validate(data))


def playlog_event(device_id: str, kind: str = "start", **over: Any) -> PlayLogEvent:
    data: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "device_id": device_id,
        "kind": kind,
        "item_id": "bulletin-1",
        "media_sha256": "a" * 64,
        "at": dt.datetime.now(dt.UTC),
        "priority": 3,
    }
    data.update(over)
    return PlayLogEvent.model_validate(data)


def playlog_payload(device_id: str, events: list[PlayLogEvent]) -> bytes:
    return encode(PlayLogBatch(device_id=device_id, events=events))


def ack_payload(device_id: str, command_id: Any, status: str = "done", reason: str | None = None) -> bytes:
    data = {"command_id": command_id, "device_id": device_id, "status": status, "reason": reason}
    return encode(CommandAck.model_validate({**data, "at": dt.datetime.now(dt.UTC)}))
