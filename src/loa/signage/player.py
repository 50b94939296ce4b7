"""The reference board player's server side: what a board fetches with its own credentials (HTTP Basic, as
:mod:`loa.fleet.device_auth`), what its push stream watches, and the proof of display it uploads.

* the signed manifest: the payload S2's compiler stored (:class:`loa.signage.models.BoardManifestRow`), served as is;
* the area's emergency as a board shows it (:func:`board_emergency`): a :class:`loa_protocol.board.BoardEmergency`
  signed with the server's command key, sent alone on the push stream and put by the compiler in the manifest;
* the push stream's state (:func:`board_state`): the manifest version, the emergency, whether commands wait. New
  emergencies are seen through one cheap process-wide check (:func:`emergency_generation`, at most one query every
  :data:`EMERGENCY_CHECK_S` for every stream of the process); only when it moves does a stream look at its own area;
* proof of display (:func:`ingest_proof`): at-least-once upload, exactly-once ingest by (device, event id).

Permission: a board reaches only its own manifest, media of its own manifest, its own stream and its own proof —
:func:`access_board` is the one guard (the device's credentials and kind).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
import uuid
from typing import Annotated, Any

from django.db.models import Max
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field

from loa.fleet import keys
from loa.fleet.device_auth import authenticated_device
from loa.fleet.models import Device, DeviceKind
from loa.signage.models import ProofOfDisplay
from loa_protocol.board import BoardEmergency, signed_emergency
from loa_protocol.messages import Sha256, UtcDatetime

EMERGENCY_CHECK_S = 0.15
MAX_PROOF_BATCH = 500


# ---- the board's identity ------------------------------------------------------------------------------------


def access_board(request: Any) -> Device | None:
    """The active board whose credentials the request carries, or ``None`` (a cluster's credentials do not open
    the board endpoints)."""
    device = authenticated_device(request)
    if device is None or device.kind != DeviceKind.EBOARD:
        return None
    return device


# ---- manifest ------------------------------------------------------------------------------------------------


def manifest_row(device: Device) -> Any:
    from loa.signage.models import BoardManifestRow

    return BoardManifestRow.objects.filter(device_id=device.device_id).first()


def manifest_payload(device: Device) -> bytes | None:
    """The board's current signed manifest, byte for byte as the compiler stored it, or ``None``."""
    row = manifest_row(device)
    return bytes(row.payload) if row is not None and row.payload else None


def manifest_version(device_id: str) -> int:
    from loa.signage.models import BoardManifestRow

    return int(
        BoardManifestRow.objects.filter(device_id=device_id).values_list("version", flat=True).first() or 0
    )


# ---- emergencies ---------------------------------------------------------------------------------------------

_generation_lock = threading.Lock()
_generation: tuple[float, tuple[Any, ...]] = (0.0, ())


def emergency_generation() -> tuple[Any, ...]:
    """A token that changes whenever any emergency starts or is cancelled (the newest id, the latest cancel),
    read from the database at most once per :data:`EMERGENCY_CHECK_S` for the whole process."""
    global _generation
    from loa.broadcast.models import Emergency

    now = time.monotonic()
    with _generation_lock:
        if now - _generation[0] < EMERGENCY_CHECK_S:
            return _generation[1]
    token = tuple(Emergency.objects.aggregate(a=Max("pk"), b=Max("cancelled_at")).values())
    with _generation_lock:
        _generation = (time.monotonic(), token)
    return token


def _area_paths(path: str) -> list[str]:
    return [path[: i + 1] for i, ch in enumerate(path) if ch == "/"]


def area_emergency(device: Device) -> Any:
    """The newest emergency of the board's unit or one of its ancestors: the active one, else the latest cancelled
    one (so a player that shows it learns of the cancel), or ``None``."""
    return area_emergency_at(device.unit.path)


def area_emergency_at(unit_path: str) -> Any:
    """:func:`area_emergency` for the boards of the unit at ``unit_path``."""
    from loa.broadcast.models import Emergency

    emergencies = Emergency.objects.filter(unit__path__in=_area_paths(unit_path)).select_related("unit")
    active = emergencies.filter(state=Emergency.State.ACTIVE).order_by("-requested_at", "-pk").first()
    if active is not None:
        return active
    return emergencies.filter(state=Emergency.State.CANCELLED).order_by("-cancelled_at", "-pk").first()


def as_board_emergency(emergency: Any) -> BoardEmergency:
    """An emergency as boards show it, signed with the server's command key — the same message the manifest
    compiler puts in manifests (:func:`loa.signage.compile.emergency_json`: id ``em<pk>``, issued at its creation),
    so the player recognises one emergency whichever way it came, and its cancel."""
    return signed_emergency(
        BoardEmergency(
            emergency_id=f"em{emergency.pk}",
            unit_code=emergency.unit.code,
            title=emergency.title[:300] or "Thông báo khẩn cấp",
            text=(emergency.text or "")[:5000],
            issued_at=emergency.created_at,
            cancelled_at=emergency.cancelled_at,
        ),
        keys.private_key(),
    )


def board_emergency(device: Device) -> BoardEmergency | None:
    """For the manifest compiler: the emergency a board of this area must show now (signed), or ``None``."""
    from loa.broadcast.models import Emergency

    emergency = area_emergency(device)
    if emergency is None or emergency.state != Emergency.State.ACTIVE:
        return None
    return as_board_emergency(emergency)


# ---- the push stream's state ---------------------------------------------------------------------------------


def emergency_message_at(unit_path: str) -> tuple[Any, str | None]:
    """``(key, signed BoardEmergency JSON)`` of the area's emergency for the push stream, ``(None, None)`` without
    one; the key changes when another emergency starts or this one is cancelled."""
    emergency = area_emergency_at(unit_path)
    if emergency is None:
        return None, None
    message = as_board_emergency(emergency)
    return (message.emergency_id, message.cancelled_at), message.model_dump_json()


def snapshot(
    device_ids: list[str], unit_paths: set[str], generation: tuple[Any, ...] | None
) -> dict[str, Any]:
    """What every push stream of a process compares, for all its boards at once (a few queries per tick, however
    many boards are connected): manifest versions, open commands (how many, the newest's issue time: a new one
    shows even when another was acknowledged in the same tick), and — only when the emergency generation
    moved since ``generation`` — each area's emergency."""
    from django.db.models import Count

    from loa.fleet.models import CommandDelivery, DeliveryState
    from loa.signage.models import BoardManifestRow

    versions = dict(
        BoardManifestRow.objects.filter(device_id__in=device_ids).values_list("device_id", "version")
    )
    commands = {
        device_id: (n, latest)
        for device_id, n, latest in CommandDelivery.objects.filter(
            device_id__in=device_ids,
            state__in=(DeliveryState.PENDING, DeliveryState.SENT),
            command__expires_at__gt=timezone.now(),
        )
        .values("device_id")
        .annotate(n=Count("pk"), latest=Max("command__issued_at"))
        .values_list("device_id", "n", "latest")
    }
    now_generation = emergency_generation()
    emergencies = None
    if now_generation != generation:
        emergencies = {path: emergency_message_at(path) for path in unit_paths}
    return {
        "generation": now_generation,
        "versions": versions,
        "commands": commands,
        "emergencies": emergencies,
    }


# ---- proof of display ----------------------------------------------------------------------------------------


class DisplayEvent(BaseModel):
    """One slide a board showed: device-side ``event_id``, start and end, the content's sha256."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: uuid.UUID
    slide_id: Annotated[str, Field(min_length=1, max_length=200)]
    entry_id: Annotated[str, Field(max_length=200)] = ""
    playlist_id: Annotated[str, Field(max_length=200)] = ""
    schedule_id: Annotated[str, Field(max_length=200)] | None = None
    zone: Annotated[str, Field(max_length=200)] = ""
    kind: Annotated[str, Field(pattern=r"^[a-z_]{1,16}$")]
    content_sha256: Sha256
    started_at: UtcDatetime
    ended_at: UtcDatetime
    planned_s: Annotated[float, Field(gt=0, le=86_400)] | None = None
    outcome: Annotated[str, Field(pattern=r"^(shown|partial)$")] = "shown"
    reason: Annotated[str, Field(pattern=r"^[a-z_]{0,64}$")] = ""
    offline: bool = False
    manifest_version: Annotated[int, Field(ge=0)] | None = None


class DisplayBatch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str
    displays: Annotated[list[DisplayEvent], Field(min_length=1, max_length=MAX_PROOF_BATCH)]


def ingest_proof(device: Device, batch: DisplayBatch) -> list[str]:
    """Store each display once; returns every event id of the batch (new or already stored), which the player then
    deletes from its queue. A display ending before it starts, or more than a day long, is stored cut to zero."""
    now = timezone.now()
    rows = []
    for event in batch.displays:
        ended = max(event.ended_at, event.started_at)
        if ended - event.started_at > dt.timedelta(days=1):
            ended = event.started_at
        rows.append(
            ProofOfDisplay(
                device_id=device.device_id,
                event_id=event.event_id,
                unit_id=device.unit_id,
                manifest_version=event.manifest_version,
                entry_id=event.entry_id,
                playlist_id=event.playlist_id,
                schedule_id=event.schedule_id or "",
                slide_id=event.slide_id,
                zone=event.zone,
                kind=event.kind,
                content_sha256=event.content_sha256,
                started_at=event.started_at,
                ended_at=ended,
                planned_s=event.planned_s,
                outcome=event.outcome,
                reason=event.reason,
                offline=event.offline,
                received_at=now,
            )
        )
    ProofOfDisplay.objects.bulk_create(rows, ignore_conflicts=True)
    return [str(event.event_id) for event in batch.displays]


def content_sha256(slide: Any) -> str:
    """What the player reports as a slide's content hash: its media's sha256, else the sha256 of the slide's
    canonical JSON (the same canonical form signatures use)."""
    import json

    if slide.media is not None:
        return str(slide.media.sha256)
    body = slide.model_dump(mode="json")
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    ).hexdigest()
