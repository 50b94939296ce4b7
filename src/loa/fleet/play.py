""" "Play now": what an operator asks to play, turned into a signed ``play`` command.

A play command names its audio by a URL and a sha256 that devices download and verify. Devices only play **our**
content: the sha256 must be a processed audio asset of the media library, and the URL is the library's
content-addressed URL for it (``LOA_PUBLIC_URL`` + ``/media/files/<sha256>.mp3``, see docs/media.md). Nobody
types a URL any more; the operator picks what to play:

| source | who may | priority unless the operator says otherwise |
|---|---|---|
| a published bulletin the user can see (its processed audio; a text bulletin is read by TTS) | ``bulletin.view`` on it (an inbox counts), ``tts.use`` if it has no audio yet | MucDoUuTien 1 → 1, 2 → 3, 3 → 4 |
| a media asset | :func:`loa.media.access.access_media_asset` (own library, or the audio of a visible published bulletin) | 4 |
| text, synthesised by :func:`loa.tts.services.do_synthesize` into the target's library | ``tts.use`` on the target | 4 |
| a sha256 (API clients), with or without our URL | like a media asset | 4 |

The TOTP rules of :func:`loa.fleet.services.totp_required` apply to the resulting command (emergency or live
priority, more than one commune).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from loa.accounts.access import access_unit
from loa.fleet.models import Command, Device
from loa.fleet.services import FleetError, do_send_command, totp_required
from loa.media.access import MediaAssetNotFound, access_media_asset, usable_media_assets
from loa.media.models import MediaAsset
from loa.units.models import Level, Unit

# MucDoUuTien (bulletin priority) → device priority class (DESIGN §4 priority ladder).
BULLETIN_PRIORITY = {1: 1, 2: 3, 3: 4}
DEFAULT_PRIORITY = 4
SHA256_HEX = frozenset("0123456789abcdef")


def media_url(sha256: str) -> str:
    """Where a device downloads library audio: the content-addressed capability URL (no session needed)."""
    return str(settings.LOA_PUBLIC_URL).rstrip("/") + reverse("media:file", args=[sha256])


def bulletin_item_id(bulletin: Any) -> str:
    """The item id of a bulletin on devices; broadcasting uses the same, so a cancel broadcast stops it too."""
    return f"bt-{bulletin.uid.hex[:16]}"


def check_play_media(params: dict[str, Any]) -> None:
    """Every play command (whoever sends it) names library audio by its own URL: never an arbitrary address."""
    sha = str(params.get("sha256", ""))
    if not MediaAsset.objects.filter(sha256=sha, kind=MediaAsset.Kind.AUDIO).exists():
        raise FleetError("media_not_found", "Âm thanh cần phát không có trong thư viện của hệ thống.", 404)
    if params.get("media_url") != media_url(sha):
        raise FleetError(
            "media_url_not_allowed",
            "Cụm loa chỉ phát nội dung của hệ thống: địa chỉ tệp phải là địa chỉ của thư viện âm thanh.",
        )


@dataclass(frozen=True)
class PlaySource:
    """Exactly one of: a bulletin, a media asset, text to read, or a sha256 of library audio."""

    bulletin_id: int | None = None
    media_asset_id: int | None = None
    text: str = ""
    voice: str | None = None
    sha256: str = ""
    media_url: str = ""

    def kinds(self) -> list[str]:
        given = {
            "bulletin": self.bulletin_id is not None,
            "media_asset": self.media_asset_id is not None,
            "text": bool(self.text.strip()),
            "sha256": bool(self.sha256.strip() or self.media_url.strip()),
        }
        return [k for k, v in given.items() if v]


@dataclass
class ResolvedPlay:
    item_id: str
    sha256: str
    duration_s: float
    default_priority: int
    title: str
    play_until: Any = None
    audit: dict[str, Any] = field(default_factory=dict)


def library_unit(target_unit: Unit | None, target_device: Device | None) -> Unit:
    """Where audio made for a command is filed: the target's commune (or province), never a zone."""
    unit = target_device.unit if target_device is not None else target_unit
    assert unit is not None
    if unit.level == Level.ZONE and unit.parent_id:
        return Unit.objects.get(pk=unit.parent_id)
    return unit


def _check_one_source(source: PlaySource) -> str:
    kinds = source.kinds()
    if len(kinds) != 1:
        raise FleetError(
            "play_source_invalid",
            "Chọn đúng một nội dung để phát: một bản tin đã phát hành, một tệp âm thanh, hoặc văn bản để đọc.",
        )
    return kinds[0]


def _asset_audio(asset: MediaAsset) -> tuple[str, float]:
    if asset.kind != MediaAsset.Kind.AUDIO:
        raise FleetError("media_not_audio", "Tệp đã chọn không phải âm thanh.")
    if not asset.duration_s or asset.duration_s <= 0:
        raise FleetError("media_not_ready", "Tệp âm thanh chưa xử lý xong; hãy thử lại sau ít phút.", 409)
    return asset.sha256, float(asset.duration_s)


def _speak(
    text: str, *, read_as: str | None, voice: str | None, actor: Any, unit: Unit, token: Any, request: Any
) -> MediaAsset:
    from loa.media.audio import MediaRejected
    from loa.tts.engines import TtsError
    from loa.tts.services import do_synthesize

    access_unit(actor, unit, "tts.use", token)
    try:
        clip = do_synthesize(text, voice, actor=actor, read_as=read_as, unit=unit, request=request)
    except (TtsError, MediaRejected) as exc:
        raise FleetError(exc.code, exc.message) from exc
    return MediaAsset.objects.get(pk=int(clip.media_asset_id))


def _bulletin(actor: Any, bulletin_id: int, token: Any) -> Any:
    from loa.content.models import State
    from loa.content.services import BulletinError, access_bulletin

    try:
        bulletin = access_bulletin(actor, bulletin_id, "bulletin.view", token)
    except BulletinError as exc:
        raise FleetError("bulletin_not_found", exc.message, 404) from exc
    if bulletin.state != State.PUBLISHED:
        raise FleetError("bulletin_not_published", "Chỉ phát ngay được bản tin đã phát hành (còn hiệu lực).")
    if bulletin.valid_until is not None and bulletin.valid_until <= timezone.now():
        raise FleetError("bulletin_expired", "Bản tin đã hết hiệu lực, không phát được nữa.")
    return bulletin


def resolve_play(
    actor: Any, source: PlaySource, *, unit: Unit, token: Any = None, request: Any = None, speak: bool = True
) -> ResolvedPlay | None:
    """What ``source`` plays, checked against the actor's rights. With ``speak=False`` a source that needs
    synthesis answers ``None`` (so the TOTP can be checked before the expensive part)."""
    kind = _check_one_source(source)
    if kind == "bulletin":
        assert source.bulletin_id is not None
        bulletin = _bulletin(actor, source.bulletin_id, token)
        base = {
            "item_id": bulletin_item_id(bulletin),
            "default_priority": BULLETIN_PRIORITY.get(int(bulletin.priority), DEFAULT_PRIORITY),
            "title": bulletin.title,
            "play_until": bulletin.valid_until,
        }
        audit = {"source": "bulletin", "bulletin": bulletin.pk, "bulletin_uid": str(bulletin.uid)}
        if bulletin.audio_asset_id:
            asset = access_media_asset(actor, bulletin.audio_asset, "media.view", token)
            sha, duration = _asset_audio(asset)
            return ResolvedPlay(
                sha256=sha, duration_s=duration, audit=audit | {"media_asset": asset.pk}, **base
            )
        text = "\n".join(p for p in (bulletin.title, bulletin.body or bulletin.summary) if p)
        if not (bulletin.read_as or text).strip():
            raise FleetError("bulletin_no_audio", "Bản tin chưa có âm thanh và không có nội dung để đọc.")
        if not speak:
            return None
        asset = _speak(text, read_as=bulletin.read_as or None, voice=source.voice, actor=actor, unit=unit,
                       token=token, request=request)  # fmt: skip
        sha, duration = _asset_audio(asset)
        return ResolvedPlay(sha256=sha, duration_s=duration, audit=audit | {"tts_asset": asset.pk}, **base)
    if kind == "media_asset":
        try:
            asset = access_media_asset(
                actor,
                MediaAsset.objects.select_related("unit").filter(pk=source.media_asset_id or 0).first(),
                "media.view",
                token,
            )
        except MediaAssetNotFound as exc:
            raise FleetError("media_not_found", exc.message, 404) from exc
        sha, duration = _asset_audio(asset)
        return ResolvedPlay(
            item_id=f"media-{asset.pk}", sha256=sha, duration_s=duration, default_priority=DEFAULT_PRIORITY,
            title=asset.original_name or sha[:12], audit={"source": "media_asset", "media_asset": asset.pk},
        )  # fmt: skip
    if kind == "sha256":
        sha = source.sha256.strip().lower()
        if len(sha) != 64 or not set(sha) <= SHA256_HEX:
            raise FleetError("sha256_invalid", "Mã sha256 phải gồm 64 chữ số hex.")
        if source.media_url.strip() and source.media_url.strip() != media_url(sha):
            raise FleetError(
                "media_url_not_allowed",
                "Cụm loa chỉ phát nội dung của hệ thống: không nhận địa chỉ tệp bên ngoài. "
                "Hãy chọn tệp trong thư viện (media_asset_id) hoặc bản tin (bulletin_id).",
            )
        asset = usable_media_assets(actor, token).filter(sha256=sha).order_by("pk").first()
        if asset is None:
            raise FleetError(
                "media_not_found", "Không có tệp âm thanh này trong thư viện bạn được dùng.", 404
            )
        sha, duration = _asset_audio(asset)
        return ResolvedPlay(
            item_id=f"media-{asset.pk}", sha256=sha, duration_s=duration, default_priority=DEFAULT_PRIORITY,
            title=asset.original_name or sha[:12], audit={"source": "sha256", "media_asset": asset.pk},
        )  # fmt: skip
    # text
    if not speak:
        return None
    asset = _speak(source.text, read_as=None, voice=source.voice, actor=actor, unit=unit, token=token,
                   request=request)  # fmt: skip
    sha, duration = _asset_audio(asset)
    return ResolvedPlay(
        item_id=f"tts-{uuid.uuid4().hex[:12]}", sha256=sha, duration_s=duration,
        default_priority=DEFAULT_PRIORITY, title=" ".join(source.text.split())[:80],
        audit={"source": "text", "tts_asset": asset.pk},
    )  # fmt: skip


def _priority(value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        priority = int(value)
    except (TypeError, ValueError):
        priority = 0
    if not 1 <= priority <= 4:
        raise FleetError(
            "priority_invalid",
            "Mức ưu tiên phải từ 1 đến 4 (1 khẩn cấp, 2 trực tiếp, 3 bản tin ưu tiên, 4 thông thường).",
        )
    return priority


def do_play_now(
    *,
    actor: Any,
    source: PlaySource,
    target_unit: Unit | None = None,
    target_device: Device | None = None,
    priority: int | None = None,
    repeat: int = 1,
    volume: int | None = None,
    item_id: str = "",
    totp: str = "",
    ttl_s: int | None = None,
    token: Any = None,
    request: Any = None,
) -> Command:
    """Resolve ``source`` (with the actor's rights), then send the signed play command (audited there)."""
    if (target_unit is None) == (target_device is None):
        raise FleetError("target_invalid", "Chọn đúng một đích: một cụm loa hoặc một đơn vị.")
    unit = library_unit(target_unit, target_device)
    if target_device is not None and target_device.revoked_at is not None:
        raise FleetError("device_revoked", "Cụm loa này đã bị thu hồi.")
    if target_unit is not None and not Device.objects.active().in_unit(target_unit).exists():
        raise FleetError("no_devices", f"Không có cụm loa nào đang hoạt động trong {target_unit.name}.")
    cheap = resolve_play(actor, source, unit=unit, token=token, request=request, speak=False)
    if cheap is None:  # synthesis ahead: refuse a missing TOTP before making audio nobody will play
        default = DEFAULT_PRIORITY
        if source.bulletin_id is not None:
            bulletin = _bulletin(actor, source.bulletin_id, token)
            default = BULLETIN_PRIORITY.get(int(bulletin.priority), DEFAULT_PRIORITY)
        wanted = {"priority": _priority(priority, default)}
        if totp_required("play", wanted, target_unit, target_device) and not "".join((totp or "").split()):
            from loa.fleet.services import check_totp

            check_totp(actor, "")  # raises totp_required
        resolved = resolve_play(actor, source, unit=unit, token=token, request=request)
        assert resolved is not None
    else:
        resolved = cheap
    params: dict[str, Any] = {
        "item_id": (item_id or "").strip() or resolved.item_id,
        "media_url": media_url(resolved.sha256),
        "sha256": resolved.sha256,
        "duration_s": max(0.1, round(resolved.duration_s, 3)),
        "priority": _priority(priority, resolved.default_priority),
        "repeat": repeat,
    }
    if volume is not None:
        params["volume"] = volume
    if resolved.play_until is not None:
        params["play_until"] = resolved.play_until.isoformat()
    return do_send_command(
        actor=actor,
        action="play",
        params=params,
        target_unit=target_unit,
        target_device=target_device,
        totp=totp,
        ttl_s=ttl_s,
        request=request,
        audit_data=resolved.audit | {"title": resolved.title},
    )
