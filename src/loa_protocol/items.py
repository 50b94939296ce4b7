"""Item ids: how the server names what a device plays. The agent treats them as opaque strings (it stops, logs and
de-duplicates by them); the server and the proof-of-play reports read them back, so they are formed here only.

| item | id |
|---|---|
| a published bulletin (play now, hand-off, programme) | ``bt-`` + the first 16 hex digits of its uid: one id wherever it plays, so a cancel broadcast stops it |
| a library asset played now | ``media-<asset id>`` |
| text read by TTS and played now | ``tts-<12 hex>`` |
| an emergency broadcast | ``em-<12 hex>`` |
| a programme item in a manifest | ``pi-<programme item id>`` |
| a manifest entry | ``s<schedule id>-<UTC start YYYYmmddTHHMMSS>Z-<position>`` (stable across recompiles) |
"""

from __future__ import annotations

import datetime as dt
import uuid

PROGRAMME_ITEM_PREFIX = "pi-"


def _token() -> str:
    return uuid.uuid4().hex[:12]


def bulletin_item_id(bulletin_uid: uuid.UUID | str) -> str:
    hex_ = bulletin_uid.hex if isinstance(bulletin_uid, uuid.UUID) else uuid.UUID(str(bulletin_uid)).hex
    return f"bt-{hex_[:16]}"


def media_item_id(asset_id: int) -> str:
    return f"media-{int(asset_id)}"


def tts_item_id() -> str:
    return f"tts-{_token()}"


def emergency_item_id() -> str:
    return f"em-{_token()}"


def programme_item_id(item_id: int) -> str:
    return f"{PROGRAMME_ITEM_PREFIX}{int(item_id)}"


def programme_item_pk(item_id: str) -> int | None:
    """The programme item a manifest item id names, or ``None`` for any other id."""
    if not item_id.startswith(PROGRAMME_ITEM_PREFIX):
        return None
    rest = item_id[len(PROGRAMME_ITEM_PREFIX) :]
    return int(rest) if rest.isdigit() else None


def entry_id(schedule_id: int, start: dt.datetime, position: int) -> str:
    return f"s{int(schedule_id)}-{start.astimezone(dt.UTC):%Y%m%dT%H%M%S}Z-{int(position)}"
