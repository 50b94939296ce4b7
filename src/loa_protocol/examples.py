"""Example messages used in docs/protocol.md and in the tests.

The example key pair is public (its private key is bytes 0…31) and exists only so that a vendor can check their
canonical form and Ed25519 code against the worked example in the documentation. Never use it on a device.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid

from loa_protocol import messages as m
from loa_protocol.signing import public_key_of, sign, sign_command
from loa_protocol.topics import group_command_topic

EXAMPLE_PRIVATE_KEY = base64.b64encode(bytes(range(32))).decode()
EXAMPLE_PUBLIC_KEY = public_key_of(EXAMPLE_PRIVATE_KEY)
DEVICE_ID = "loa-3f9a0c12b7e4"
UNIT_CODES = ["22", "06652", "06652.001"]
T0 = dt.datetime(2026, 3, 2, 1, 0, 0, tzinfo=dt.UTC)
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def example_command() -> m.Command:
    return sign_command(
        EXAMPLE_PRIVATE_KEY,
        topic=group_command_topic(UNIT_CODES[:2]),
        seq=42,
        action="play",
        params={
            "item_id": "bulletin-1207",
            "media_url": "https://loa.example.vn/media/9f86d081884c7d65.opus",
            "sha256": SHA,
            "duration_s": 95.5,
            "priority": 1,
            "repeat": 3,
            "volume": 90,
        },
        issued_at=T0,
        expires_at=T0 + dt.timedelta(minutes=10),
        command_id=uuid.UUID("5b0c6a8e-2f4d-4c1e-9a53-0d6f1e2b3c4d"),
    )


def example_messages() -> dict[str, m.Message]:
    """One valid example of every message, by name."""
    command = example_command()
    event = m.PlayLogEvent(
        event_id=uuid.UUID("0b8f6c1e-7d4a-4f0e-8c2b-6a5d4e3f2a1b"),
        device_id=DEVICE_ID,
        kind="start",
        item_id="bulletin-1207",
        media_sha256=SHA,
        at=T0 + dt.timedelta(seconds=2),
        offset_s=0.0,
        duration_s=95.5,
        priority=1,
        command_id=command.id,
    )
    manifest = sign(
        m.Manifest(
            device_id=DEVICE_ID,
            version=17,
            generated_at=T0,
            valid_from=T0,
            valid_until=T0 + dt.timedelta(hours=48),
            timezone="Asia/Ho_Chi_Minh",
            windows=[m.Window(start="05:00", end="21:00")],
            entries=[
                m.ManifestEntry(
                    entry_id="sch-88/2026-03-03T06:00",
                    start=T0 - dt.timedelta(hours=2) + dt.timedelta(days=1),
                    end=T0 - dt.timedelta(hours=2) + dt.timedelta(days=1, minutes=30),
                    item_id="programme-5/item-1",
                    media_url="https://loa.example.vn/media/9f86d081884c7d65.opus",
                    sha256=SHA,
                    duration_s=95.5,
                    priority=4,
                    volume=70,
                    schedule_id="sch-88",
                )
            ],
        ),
        EXAMPLE_PRIVATE_KEY,
    )
    return {
        "EnrolRequest": m.EnrolRequest(
            code="K7Q2-M9XD",
            serial="HT-2025-000731",
            imei="356938035643809",
            vendor="Loa",
            model="ref-pi4",
            firmware="loa-agent 0.1.0",
        ),
        "EnrolResponse": m.EnrolResponse(
            device_id=DEVICE_ID,
            mqtt_url="mqtts://mqtt.loa.example.vn:8883",
            mqtt_username=DEVICE_ID,
            mqtt_password="q8Jd2v0cXr6b1Yw3Ke5Tn9Lp",  # noqa: S106 - documentation example
            server_public_key=EXAMPLE_PUBLIC_KEY,
            unit_codes=UNIT_CODES,
            subscriptions=[
                f"loa/v1/dev/{DEVICE_ID}/cmd",
                f"loa/v1/dev/{DEVICE_ID}/manifest",
                "loa/v1/g/22/cmd",
                "loa/v1/g/22/06652/cmd",
                "loa/v1/g/22/06652/06652.001/cmd",
            ],
            media_base_url="https://loa.example.vn/media/",
            manifest_url=f"https://loa.example.vn/api/v1/broadcast/manifests/{DEVICE_ID}",
        ),
        "Status": m.Status(
            device_id=DEVICE_ID,
            ts=T0,
            uptime_s=86400,
            state="playing",
            current_item="bulletin-1207",
            priority=1,
            volume=90,
            link="4g",
            signal_dbm=-87,
            lat=20.9517,
            lon=107.0812,
            power="mains",
            battery_pct=None,
            temperature_c=41.5,
            storage_free_mb=5120,
            firmware="loa-agent 0.1.0",
            clock_offset_ms=-35,
            manifest_version=17,
        ),
        "PlayLogEvent": event,
        "PlayLogBatch": m.PlayLogBatch(device_id=DEVICE_ID, events=[event]),
        "CommandAck": m.CommandAck(
            command_id=command.id,
            device_id=DEVICE_ID,
            status="refused",
            reason="expired",
            at=T0 + dt.timedelta(minutes=11),
        ),
        "ManifestAck": m.ManifestAck(
            device_id=DEVICE_ID, manifest_version=18, reason="bad_signature", at=T0 + dt.timedelta(minutes=1)
        ),
        "Command": command,
        "Manifest": manifest,
    }
