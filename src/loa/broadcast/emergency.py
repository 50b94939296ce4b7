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
import logging
import math
import subprocess
import tempfile
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from loa.alerts.push import prepare_cancel_push, prepare_emergency_push
from loa.audit.log import record
from loa.broadcast.models import Emergency
from loa.broadcast.services import BroadcastError, media_url
from loa.errors import Refusal
from loa.media.shared_cache import warm_shared_cache
from loa.playable.resolve import PlayableError, PlaySource, resolve_now
from loa.units.models import Level, Unit
from loa_protocol import items
from loa_protocol.ladder import PlayClass

logger = logging.getLogger(__name__)

DEFAULT_REPEAT = 3
MAX_REPEAT = 10
EMERGENCY_VOLUME = 100
COMMAND_TTL_S = 900


@dataclass(frozen=True)
class Audio:
    sha256: str
    duration_s: float
    text: str = ""


# read once when the web process starts (warm_emergency_path): numbers, a date, a unit and an abbreviation, so the
# normalizer's rules and its transliteration tables are all loaded
WARM_UP_TEXT = (
    "Cảnh báo khẩn lúc 15 giờ 30 ngày 7/12/2026: mực nước sông Hồng 2,5 m, UBND xã yêu cầu sơ tán ngay."
)


def warm_emergency_path() -> dict[str, float]:
    """Pay the emergency path's one-time costs of a process before the first emergency needs it: the URL
    resolver's reverse table (``media_url``) and the speech normalizer's imports and regular expressions. Measured
    with ``LOA_BENCH_PROFILE`` on ``loa bench emergency``: the first emergency of a process spent ≈ 0.15 s more on
    these than the next ones. No database query, no file written; the web process runs it in a thread at start
    (:mod:`loa.asgi`). Returns the seconds of each step."""
    import time

    from loa.tts.services import normalize

    t0 = time.perf_counter()
    media_url("0" * 64)
    t1 = time.perf_counter()
    normalize(WARM_UP_TEXT, include_db=False)
    return {"urls_s": t1 - t0, "normalizer_s": time.perf_counter() - t1}


def _message(
    actor: Any, unit: Unit, *, text: str, media_asset_id: int | None, token: Any, request: Any
) -> Audio:
    """The message: the asset (the actor's media rights) or the text read by TTS (``tts.use`` on the unit),
    through the one resolver (:mod:`loa.playable.resolve`)."""
    if not media_asset_id:
        earlier = _earlier_speech(actor, unit, text, token)
        if earlier is not None:
            return earlier
    source = PlaySource(media_asset_id=media_asset_id) if media_asset_id else PlaySource(text=text)
    try:
        playable = resolve_now(actor, source, unit=unit, token=token, request=request)
    except PlayableError as exc:
        raise BroadcastError(exc.code, exc.message, exc.status) from exc
    return Audio(playable.sha256, playable.duration_s, playable.text)


def _earlier_speech(actor: Any, unit: Unit, text: str, token: Any) -> Audio | None:
    """The speech this person had made of the same text for the same area within the command's lifetime: an
    attempt refused for its TOTP code (checked when the command is stored, after the speech) is retyped, and the
    retry plays that speech instead of synthesising and auditing it a second time."""
    from loa.accounts.access import access_unit
    from loa.media.models import MediaAsset
    from loa.tts.models import SpeechClip

    if not getattr(actor, "pk", None):
        return None
    since = timezone.now() - dt.timedelta(seconds=COMMAND_TTL_S)
    clip = (
        SpeechClip.objects.filter(
            unit=unit,
            created_by=actor,
            text=unicodedata.normalize("NFC", text).strip(),
            created_at__gte=since,
        )
        .order_by("-created_at")
        .first()
    )
    if clip is None or not MediaAsset.objects.filter(sha256=clip.sha256, kind=MediaAsset.Kind.AUDIO).exists():
        return None
    access_unit(actor, unit, "tts.use", token)  # the same right as synthesising it now
    return Audio(clip.sha256, clip.duration_s, clip.text)


def _tone_file(directory: Path) -> Path:
    """Two seconds of alternating 880/660 Hz, made with ffmpeg."""
    from loa.media import audio

    path = directory / "tone.wav"
    # In a filter graph a comma separates filters: the expression's own commas are escaped.
    expr = "0.6*sin(2*PI*if(lt(mod(t,0.5),0.25),880,660)*t)".replace(",", "\\,")
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
        asset = do_ingest_file(
            joined, unit=unit, actor=actor, original_name="canh-bao.wav", request=request,
            speech=bool(message.text),  # speech read by the engine stays in the speech format (ADR 0019)
        )  # fmt: skip
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
        "priority": PlayClass.EMERGENCY,
        "repeat": repeat,
        "volume": EMERGENCY_VOLUME,
    }


HANDOFF_CONSUMER = "loa.broadcast"  # who consumed a bulletin's hand-off (``BroadcastHandoff.consumed_by``)


def mark_emergency_sent(bulletin: Any, unit: Any) -> None:
    """An emergency started from ``bulletin`` in ``unit``: its waiting emergency hand-offs there are done."""
    from loa.content.models import BroadcastHandoff

    BroadcastHandoff.objects.filter(
        bulletin=bulletin, kind=BroadcastHandoff.Kind.EMERGENCY, consumed_at__isnull=True,
        unit__path__startswith=unit.path,
    ).update(consumed_at=timezone.now(), consumed_by=HANDOFF_CONSUMER)  # fmt: skip


def check_emergency(unit: Unit, *, text: str, media_asset_id: int | None, repeat: Any) -> None:
    """What an emergency needs before it is confirmed: content, a repeat count in range, an active area."""
    if not (text or "").strip() and not media_asset_id:
        raise BroadcastError(
            "emergency_content_required", "Cần nội dung phát khẩn cấp: văn bản để đọc hoặc tệp âm thanh."
        )
    if not isinstance(repeat, int) or not 1 <= repeat <= MAX_REPEAT:
        raise BroadcastError("repeat_invalid", f"Số lần phát lặp phải từ 1 đến {MAX_REPEAT}.")
    if not unit.is_active:
        raise BroadcastError("unit_inactive", "Đơn vị này đã ngừng sử dụng.")


def _audio_at_hand(
    actor: Any, unit: Unit, *, text: str, media_asset_id: int | None, token: Any, request: Any
) -> Audio | None:
    """The message's audio if nothing needs synthesising (the asset, or this person's earlier speech of the same
    text); else ``None`` once everything the synthesis would refuse is checked — the right to use TTS on the unit
    and the text itself — so that a refusal comes before the emergency is shown anywhere."""
    from loa.accounts.access import access_unit
    from loa.tts.services import TtsError, check_text

    if media_asset_id:
        return _message(actor, unit, text=text, media_asset_id=media_asset_id, token=token, request=request)
    earlier = _earlier_speech(actor, unit, text, token)
    if earlier is not None:
        return earlier
    access_unit(actor, unit, "tts.use", token)
    try:
        check_text(text)
    except TtsError as exc:
        raise BroadcastError(exc.code, exc.message) from exc
    return None


def check_loudspeakers(unit: Unit) -> None:
    """The area has loudspeaker clusters to send the emergency to (what the fleet checks again when it stores the
    command), checked before the emergency is shown on the boards."""
    from loa.fleet.models import Device, DeviceKind

    if not Device.objects.active().in_unit(unit).filter(kind=DeviceKind.LOUDSPEAKER).exists():
        raise BroadcastError("no_devices", f"Không có cụm loa nào đang hoạt động trong {unit.name}.")


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
    token: Any = None,
) -> Emergency:
    """Show the emergency on the boards of ``unit``, then synthesize (or take) the audio and send it to every
    loudspeaker cluster there, confirmed by ``totp``; returns once the loudspeakers' command is stored.

    In three steps (issue 9: boards only need the text and must not wait for the speech):

    1. every check that can refuse — content, repeat, the asset or the right to use TTS and the text, clusters in
       the area, the TOTP code — so a refusal stores and shows nothing;
    2. the :class:`Emergency` row is committed: the boards' push streams read it from the database
       (:mod:`loa.signage.player_push`) and take over the screen while the speech is made;
    3. the speech (and the alert tone), then in one transaction the signed command (the outbox the gateway is poked
       to publish at once), the row's audio, the citizens' Web Push and the audit entry. The boards' manifests are
       recompiled when this commits, after the gateway's poke, as before.

    If step 3 fails the emergency is taken off the boards again (cancelled, audited) and the error is raised: the
    caller never gets an emergency whose loudspeakers are not commanded. The caller has checked
    ``access_unit(…, "broadcast.emergency")``."""
    from loa.fleet.services import FleetError, confirm_totp

    requested_at = requested_at or timezone.now()
    text = (text or "").strip()
    check_emergency(unit, text=text, media_asset_id=media_asset_id, repeat=repeat)
    if not "".join((totp or "").split()):
        raise BroadcastError(
            "totp_required", "Phát khẩn cấp cần mã xác thực một lần (TOTP) từ ứng dụng xác thực của bạn.", 403
        )
    at_hand = _audio_at_hand(
        actor, unit, text=text, media_asset_id=media_asset_id, token=token, request=request
    )
    check_loudspeakers(unit)
    try:
        confirmed = confirm_totp(actor, totp)
    except FleetError as exc:
        raise BroadcastError(exc.code, exc.message, exc.status) from exc

    item_id = items.emergency_item_id()
    title = " ".join((title or text or "Phát khẩn cấp").split())[:300]
    shown_text = at_hand.text if at_hand is not None and at_hand.text else unicodedata.normalize("NFC", text)
    with transaction.atomic():
        # bulk_create sends no post_save: the boards' manifests are not recompiled here (their push streams read the
        # row itself), but after step 3, so the compilation does not delay the speech and the loudspeakers.
        (emergency,) = Emergency.objects.bulk_create(
            [
                Emergency(
                    unit=unit, title=title, text=shown_text, item_id=item_id, sha256="", media_url="",
                    duration_s=0.0, repeat=repeat, alert_tone=tone, bulletin=bulletin, requested_at=requested_at,
                    created_by=actor if getattr(actor, "pk", None) else None,
                )
            ]
        )  # fmt: skip
    try:
        return do_send_emergency_to_loudspeakers(
            emergency, at_hand, confirmed=confirmed, actor=actor, text=text, media_asset_id=media_asset_id,
            tone=tone, token=token, request=request,
        )  # fmt: skip
    except BaseException as exc:
        _withdraw(emergency, exc, actor=actor, request=request)
        if isinstance(exc, FleetError):
            raise BroadcastError(exc.code, exc.message, exc.status) from exc
        raise


def do_send_emergency_to_loudspeakers(
    emergency: Emergency,
    message: Audio | None,
    *,
    confirmed: Any,
    actor: Any,
    text: str,
    media_asset_id: int | None,
    tone: bool,
    token: Any,
    request: Any,
) -> Emergency:
    """Step 3 of :func:`do_start_emergency`: the audio, then the command with everything that goes with it."""
    from loa.fleet.services import do_send_command

    unit = emergency.unit
    if message is None:
        message = _message(
            actor, unit, text=text, media_asset_id=media_asset_id, token=token, request=request
        )
    tone_failed = False
    if tone:
        try:
            message = with_alert_tone(message, unit, actor, request)
        except (OSError, subprocess.SubprocessError, Refusal) as exc:
            # The tone is optional: the message goes out without it, and the page and the audit entry say so.
            logger.error("Alert tone failed, the emergency goes out without it: %s", exc)
            tone_failed = True
    repeat, title, item_id = emergency.repeat, emergency.title, emergency.item_id
    with transaction.atomic():
        # once committed the audio is public (the emergency in force): the shared cache in front fetches it, started
        # before the gateway's poke (on_commit runs in this order) so it is kept before the devices ask for it
        sha256 = message.sha256
        transaction.on_commit(lambda: warm_shared_cache(sha256))
        command = do_send_command(
            actor=actor,
            action="play",
            params=_play_params(item_id, message, repeat),
            target_unit=unit,
            totp=confirmed,
            ttl_s=COMMAND_TTL_S,
            request=request,
        )
        emergency.sha256 = message.sha256
        emergency.media_url = media_url(message.sha256)
        emergency.duration_s = message.duration_s
        emergency.alert_tone = tone and not tone_failed
        emergency.tone_failed = tone_failed
        emergency.command_id = command.id
        fields = ["sha256", "media_url", "duration_s", "alert_tone", "tone_failed", "command_id"]
        # only a row still waiting for its command takes it: one withdrawn meanwhile (do_withdraw_orphaned, after
        # ORPHAN_AFTER) is off the boards, so its loudspeakers must not play it either (the command rolls back)
        if not Emergency.objects.filter(
            pk=emergency.pk, state=Emergency.State.ACTIVE, command_id__isnull=True
        ).update(**{f: getattr(emergency, f) for f in fields}):
            raise BroadcastError(
                "emergency_withdrawn",
                "Phát khẩn cấp này đã bị gỡ vì quá lâu chưa gửi được tới cụm loa: hãy phát lại nếu vẫn cần.",
                409,
            )
        emergency.save(update_fields=fields)  # the same values: the boards' receivers run (post_save)
        if emergency.bulletin is not None:
            mark_emergency_sent(emergency.bulletin, unit)
        # the citizens who subscribed in the area: a Web Push job queued on commit, after the gateway's poke
        prepare_emergency_push(emergency)
        record(
            "broadcast.emergency_started",
            actor=actor,
            request=request,
            unit=unit,
            obj=emergency,
            message=f"Phát khẩn cấp tới {unit.name}: “{title}” ({repeat} lần)"
            + (" — không tạo được chuông báo động, đã phát không có chuông" if tone_failed else ""),
            data={"item_id": item_id, "command": str(command.id), "repeat": repeat,
                  "tone": tone and not tone_failed, "tone_failed": tone_failed,
                  "devices": command.reached,
                  "duration_s": message.duration_s},
        )  # fmt: skip
    return emergency


def _withdraw(emergency: Emergency, exc: BaseException, *, actor: Any, request: Any) -> None:
    """The emergency's audio or command could not be made: it leaves the boards (cancelled) and the audit says why."""
    reason = getattr(exc, "message", "") or exc.__class__.__name__
    if getattr(exc, "code", "") == "emergency_withdrawn":
        return  # withdrawn (and audited) already by do_withdraw_orphaned
    try:
        with transaction.atomic():
            emergency.state = Emergency.State.CANCELLED
            emergency.cancelled_at = timezone.now()
            emergency.save(update_fields=["state", "cancelled_at"])
            record(
                "broadcast.emergency_cancelled",
                actor=actor,
                request=request,
                unit=emergency.unit,
                obj=emergency,
                message=f"Phát khẩn cấp “{emergency.title}” tại {emergency.unit.name} không gửi được tới cụm loa "
                f"({reason}): đã gỡ khỏi bảng tin",
                data={"withdrawn": True, "reason": getattr(exc, "code", "") or exc.__class__.__name__},
            )
    except Exception:
        logger.exception("Emergency %s could not be taken off the boards", emergency.pk)


# An emergency row that has waited this long for its loudspeaker command never gets one: the process making its speech
# died between steps 2 and 3 of do_start_emergency (a crash, a kill, a power cut), so neither the command nor
# _withdraw ran. Speech takes seconds; the periodic job "loa.broadcast.orphaned_emergencies" withdraws it after this.
ORPHAN_AFTER = dt.timedelta(minutes=3)


def do_withdraw_orphaned(now: dt.datetime | None = None) -> int:
    """Take emergencies whose loudspeakers were never commanded off the boards and the citizens' banner (cancelled,
    audited, logged), as :func:`_withdraw` does for a failure the process lived to see; returns how many."""
    from django.db.models.signals import post_save

    now = now or timezone.now()
    stale = Emergency.objects.filter(
        state=Emergency.State.ACTIVE, command_id__isnull=True, requested_at__lt=now - ORPHAN_AFTER
    )
    withdrawn = 0
    for pk in list(stale.values_list("pk", flat=True)[:100]):
        with transaction.atomic():
            # conditional: a step 3 that commits first keeps its emergency (and then this matches nothing)
            if not Emergency.objects.filter(
                pk=pk, state=Emergency.State.ACTIVE, command_id__isnull=True
            ).update(state=Emergency.State.CANCELLED, cancelled_at=now):
                continue
            e = Emergency.objects.select_related("unit").get(pk=pk)
            post_save.send(
                sender=Emergency, instance=e, created=False, update_fields={"state", "cancelled_at"}
            )
            record(
                "broadcast.emergency_cancelled",
                unit=e.unit,
                obj=e,
                message=f"Phát khẩn cấp “{e.title}” tại {e.unit.name} không gửi được tới cụm loa (máy chủ dừng khi "
                "đang tạo âm thanh): đã gỡ khỏi bảng tin; hãy phát lại nếu vẫn cần",
                data={"withdrawn": True, "reason": "orphaned"},
            )
        logger.warning(
            "Phát khẩn cấp %s (%s) chưa từng gửi được tới cụm loa sau %d phút: đã gỡ khỏi bảng tin",
            pk,
            e.unit.name,
            ORPHAN_AFTER.total_seconds() // 60,
        )
        withdrawn += 1
    return withdrawn


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
            prepare_cancel_push(emergency)
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


@dataclass(frozen=True)
class Reach:
    """What an emergency on ``unit`` reaches: the communes and the active loudspeaker clusters in them (the same
    devices ``do_send_command`` addresses)."""

    communes: int
    devices: int
    online: int = 0  # of ``devices``, those connected now

    @property
    def few_online(self) -> bool:
        """None, or under half, of the clusters reached are online: the confirmation warns."""
        return self.devices > 0 and self.online * 2 < self.devices

    @property
    def ttl_minutes(self) -> int:
        return COMMAND_TTL_S // 60


def reach(unit: Unit) -> Reach:
    from loa.fleet.models import Device, DeviceKind

    if unit.level >= Level.COMMUNE:
        communes = 1
    else:
        communes = Unit.objects.filter(
            path__startswith=unit.path, level=Level.COMMUNE, is_active=True
        ).count()
    # the loudspeakers only: the command goes to them (do_send_command); the area's boards show the emergency too,
    # but are not "cụm loa" and never count here (the confirmation said 8 where 6 clusters got the command)
    devices = Device.objects.active().in_unit(unit).filter(kind=DeviceKind.LOUDSPEAKER)
    return Reach(communes, devices.count(), devices.filter(online=True).count())


@dataclass(frozen=True)
class Status:
    state: str  # "active", "finished" or "cancelled"
    label: str
    finished_at: dt.datetime | None  # when the last repetition ended (the last "end" play log)


def status(emergency: Emergency, p: Progress | None = None, now: dt.datetime | None = None) -> Status:
    """Where the emergency stands, derived (a read changes nothing): cancelled; finished once every device has
    played every repetition or failed and none is still waiting, or once no device can still play it (the
    command expired and a full run of repetitions after that has passed); else still playing."""
    from loa.fleet.models import PlayLog

    if emergency.state == Emergency.State.CANCELLED:
        return Status("cancelled", str(Emergency.State.CANCELLED.label), None)
    if emergency.command_id is None:  # on the boards, its speech still being made (do_start_emergency)
        return Status("active", str(Emergency.State.ACTIVE.label), None)
    p = p or progress(emergency)
    now = now or timezone.now()
    last_chance = emergency.requested_at + dt.timedelta(
        seconds=COMMAND_TTL_S + emergency.repeat * emergency.duration_s + 60
    )
    all_done = p.devices > 0 and p.pending == 0 and p.finished + p.failed >= p.devices
    if not (all_done or p.devices == 0 or now >= last_chance):
        return Status("active", str(Emergency.State.ACTIVE.label), None)
    last_end = (
        PlayLog.objects.filter(
            item_id=emergency.item_id, unit__path__startswith=emergency.unit.path, kind="end"
        )
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    return Status("finished", _("Đã kết thúc"), last_end)


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
