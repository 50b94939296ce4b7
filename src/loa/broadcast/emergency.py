"""Emergency broadcast: one action — text (through TTS) or audio, a target area, a repeat count (3 by default, as
J-Alert does), an optional alert tone — confirmed with the approver's TOTP code.

It travels the fleet's command path (signed ``play`` commands at priority 1 on the unit's group topic, stored in
the transactional outbox the gateway publishes): one publish reaches every device of the area, which pre-empts
whatever plays, ignores quiet hours and plays at the emergency volume. A cancel is a ``stop`` of that item on the
same topic. Progress (reached / playing / finished / failed) comes from the per-device deliveries (command acks)
and the play logs.
"""

from __future__ import annotations

import datetime as dt
import math
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from loa.audit.log import record
from loa.broadcast.models import Emergency
from loa.broadcast.services import BroadcastError, media_url
from loa.units.models import Unit

DEFAULT_REPEAT = 3
MAX_REPEAT = 10
EMERGENCY_VOLUME = 100
COMMAND_TTL_S = 900


@dataclass(frozen=True)
class Audio:
    sha256: str
    duration_s: float
    text: str = ""


def _speak(text: str, unit: Unit, actor: Any, request: Any) -> Audio:
    from loa.tts.engines import TtsError
    from loa.tts.services import do_synthesize

    try:
        clip = do_synthesize(text, actor=actor, unit=unit, request=request)
    except TtsError as exc:
        raise BroadcastError(exc.code, exc.message) from exc
    return Audio(clip.sha256, float(clip.duration_s), clip.text)


def _asset_audio(asset_id: int, unit: Unit) -> Audio:
    from loa.media.models import MediaAsset

    asset = MediaAsset.objects.filter(pk=asset_id, kind="audio").select_related("unit").first()
    owner = asset.unit if asset is not None else None
    if asset is None or (
        owner is not None and not unit.path.startswith(owner.path) and not owner.path.startswith(unit.path)
    ):
        raise BroadcastError("media_not_found", "Không tìm thấy tệp âm thanh trong thư viện của đơn vị.")
    if not asset.duration_s:
        raise BroadcastError("media_not_ready", "Tệp âm thanh chưa xử lý xong.")
    return Audio(asset.sha256, float(asset.duration_s))


def _tone_file(directory: Path) -> Path:
    """Two seconds of alternating 880/660 Hz, made with ffmpeg."""
    from loa.media import audio

    path = directory / "tone.wav"
    expr = "0.6*sin(2*PI*if(lt(mod(t,0.5),0.25),880,660)*t)"
    subprocess.run(
        [audio.ffmpeg_path(), "-nostdin", "-v", "error", "-f", "lavfi", "-i", f"aevalsrc={expr}:s=44100:d=2",
         "-ac", "1", str(path)],
        check=True, timeout=30,
    )  # fmt: skip
    return path


def with_alert_tone(message: Audio, unit: Unit, actor: Any, request: Any) -> Audio:
    """The alert tone followed by the message, as one audio of the unit's library (one command, one item, so
    the repeat count repeats both). Costs one more pass of the media pipeline."""
    from loa.media import audio
    from loa.media.services import do_ingest_file

    source = audio.processed_path(Path(_store_root()), message.sha256)
    with tempfile.TemporaryDirectory(prefix="loa-tone-") as tmp:
        tone = _tone_file(Path(tmp))
        joined = Path(tmp) / "canh-bao.wav"
        subprocess.run(
            [audio.ffmpeg_path(), "-nostdin", "-v", "error", "-i", str(tone), "-i", str(source), "-filter_complex",
             "[0:a]aresample=44100,aformat=channel_layouts=mono[a];[1:a]aresample=44100,aformat=channel_layouts=mono[b];"
             "[a][b]concat=n=2:v=0:a=1[out]", "-map", "[out]", str(joined)],
            check=True, timeout=60,
        )  # fmt: skip
        asset = do_ingest_file(joined, unit=unit, actor=actor, original_name="canh-bao.wav", request=request)
    return Audio(asset.sha256, float(asset.duration_s or message.duration_s + 2), message.text)


def _store_root() -> Path:
    from loa.media.services import store_root

    return store_root()


def _play_params(item_id: str, a: Audio, repeat: int) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "media_url": media_url(a.sha256),
        "sha256": a.sha256,
        "duration_s": max(0.1, round(a.duration_s, 3)),
        "priority": 1,
        "repeat": repeat,
        "volume": EMERGENCY_VOLUME,
    }


def do_start_emergency(
    unit: Unit,
    *,
    actor: Any,
    totp: str,
    title: str = "",
    text: str = "",
    media_asset_id: int | None = None,
    repeat: int = DEFAULT_REPEAT,
    tone: bool = False,
    bulletin: Any = None,
    requested_at: dt.datetime | None = None,
    request: Any = None,
) -> Emergency:
    """Synthesize (or take) the audio and send it to every device of ``unit`` at once, confirmed by ``totp``.

    The caller has checked ``access_unit(…, "broadcast.emergency")``; the TOTP code is checked by the fleet when
    the command is stored, so a wrong code stores nothing."""
    from loa.fleet.services import FleetError, do_send_command

    requested_at = requested_at or timezone.now()
    text = (text or "").strip()
    if not text and not media_asset_id:
        raise BroadcastError(
            "emergency_content_required", "Cần nội dung phát khẩn cấp: văn bản để đọc hoặc tệp âm thanh."
        )
    if not isinstance(repeat, int) or not 1 <= repeat <= MAX_REPEAT:
        raise BroadcastError("repeat_invalid", f"Số lần phát lặp phải từ 1 đến {MAX_REPEAT}.")
    if not unit.is_active:
        raise BroadcastError("unit_inactive", "Đơn vị này đã ngừng sử dụng.")
    if not "".join((totp or "").split()):
        raise BroadcastError(
            "totp_required", "Phát khẩn cấp cần mã xác thực một lần (TOTP) từ ứng dụng xác thực của bạn.", 403
        )
    message = _asset_audio(media_asset_id, unit) if media_asset_id else _speak(text, unit, actor, request)
    if tone:
        message = with_alert_tone(message, unit, actor, request)
    item_id = f"em-{uuid.uuid4().hex[:12]}"
    title = " ".join((title or text or "Phát khẩn cấp").split())[:300]
    try:
        with transaction.atomic():
            command = do_send_command(
                actor=actor,
                action="play",
                params=_play_params(item_id, message, repeat),
                target_unit=unit,
                totp=totp,
                ttl_s=COMMAND_TTL_S,
                request=request,
            )
            emergency = Emergency.objects.create(
                unit=unit,
                title=title,
                text=message.text or text,
                item_id=item_id,
                sha256=message.sha256,
                media_url=media_url(message.sha256),
                duration_s=message.duration_s,
                repeat=repeat,
                alert_tone=tone,
                bulletin=bulletin,
                command_id=command.id,
                requested_at=requested_at,
                created_by=actor if getattr(actor, "pk", None) else None,
            )
            if bulletin is not None:
                from loa.broadcast.handoffs import mark_emergency_sent

                mark_emergency_sent(bulletin, unit)
            record(
                "broadcast.emergency_started",
                actor=actor,
                request=request,
                unit=unit,
                obj=emergency,
                message=f"Phát khẩn cấp tới {unit.name}: “{title}” ({repeat} lần)",
                data={"item_id": item_id, "command": str(command.id), "repeat": repeat, "tone": tone,
                      "duration_s": message.duration_s},
            )  # fmt: skip
    except FleetError as exc:
        raise BroadcastError(exc.code, exc.message, exc.status) from exc
    return emergency


def do_cancel_emergency(
    emergency: Emergency, *, actor: Any, totp: str = "", request: Any = None
) -> Emergency:
    """A cancel broadcast: ``stop`` of the emergency's item on the same area (devices drop it if queued)."""
    from loa.fleet.services import FleetError, do_send_command

    if emergency.state == Emergency.State.CANCELLED:
        raise BroadcastError("emergency_cancelled", "Phát khẩn cấp này đã được hủy.")
    try:
        with transaction.atomic():
            command = do_send_command(
                actor=actor, action="stop", params={"item_id": emergency.item_id}, target_unit=emergency.unit,
                totp=totp, ttl_s=COMMAND_TTL_S, request=request,
            )  # fmt: skip
            emergency.state = Emergency.State.CANCELLED
            emergency.cancel_command_id = command.id
            emergency.cancelled_at = timezone.now()
            emergency.cancelled_by = actor if getattr(actor, "pk", None) else None
            emergency.save(update_fields=["state", "cancel_command_id", "cancelled_at", "cancelled_by"])
            record(
                "broadcast.emergency_cancelled",
                actor=actor,
                request=request,
                unit=emergency.unit,
                obj=emergency,
                message=f"Hủy phát khẩn cấp “{emergency.title}” tại {emergency.unit.name}",
                data={"command": str(command.id)},
            )
    except FleetError as exc:
        raise BroadcastError(exc.code, exc.message, exc.status) from exc
    return emergency


@dataclass
class Progress:
    devices: int
    reached: int  # acknowledged receipt (or done)
    playing: int  # started playing (play log "start")
    finished: int  # played every repetition to the end
    failed: int  # refused, failed or expired delivery, or a play error
    pending: int
    latencies_s: list[float]

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "latencies_s"}


def progress(emergency: Emergency) -> Progress:
    """Live progress from the command's deliveries and the play logs (what the console shows)."""
    from loa.fleet.models import CommandDelivery, DeliveryState, PlayLog

    deliveries = dict(
        CommandDelivery.objects.filter(command_id=emergency.command_id or uuid.UUID(int=0))
        .values_list("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )
    total = sum(deliveries.values())
    reached = deliveries.get(DeliveryState.RECEIVED, 0) + deliveries.get(DeliveryState.DONE, 0)
    failed_delivery = sum(
        deliveries.get(s, 0) for s in (DeliveryState.REFUSED, DeliveryState.FAILED, DeliveryState.EXPIRED)
    )
    logs = PlayLog.objects.filter(item_id=emergency.item_id, unit__path__startswith=emergency.unit.path)
    first_starts = dict(
        logs.filter(kind="start")
        .values_list("device_id")
        .annotate(first=models_min("at"))
        .values_list("device_id", "first")
    )
    finished = (
        logs.filter(kind="end")
        .values("device_id")
        .annotate(n=Count("id"))
        .filter(n__gte=emergency.repeat)
        .count()
    )
    errors = logs.filter(kind__in=["error", "refused"]).values("device_id").distinct().count()
    latencies = sorted((at - emergency.requested_at).total_seconds() for at in first_starts.values())
    return Progress(
        devices=total,
        reached=reached,
        playing=len(first_starts),
        finished=finished,
        failed=failed_delivery + errors,
        pending=deliveries.get(DeliveryState.PENDING, 0) + deliveries.get(DeliveryState.SENT, 0),
        latencies_s=latencies,
    )


def models_min(field: str) -> Any:
    from django.db.models import Min

    return Min(field)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))
    return ordered[k]
