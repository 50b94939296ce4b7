""" "Play now": what an operator asks to play, turned into a signed ``play`` command.

A play command names its audio by a URL and a sha256 that devices download and verify. Devices only play **our**
content: the sha256 must be a processed audio asset of the media library, and the URL is the library's
content-addressed URL for it (``LOA_PUBLIC_URL`` + ``/media/files/<sha256>.mp3``, see docs/media.md). Nobody
types a URL any more; the operator picks what to play:

| source | who may | priority unless the operator says otherwise |
|---|---|---|
| a published bulletin the user can see (its processed audio; a text bulletin is read by TTS) | ``bulletin.view`` on it (an inbox counts), ``tts.use`` if it has no audio yet | MucDoUuTien 1 → 1, 2 → 3, 3 → 4 |
| a media asset | :func:`loa.media.access.access_media_asset` (own library, or the audio of a visible published bulletin) | 4 |
| a sha256 (API clients), with or without our URL | like a media asset | 4 |

A media asset or a sha256 plays only when it is **approved audio** (the audio of a published bulletin, or an item
of an approved programme); typed text is refused (``play_text_not_approved``) before any synthesis: unapproved
content goes through a bulletin or a programme that an approver approves (docs/adr/0007,
:mod:`loa.broadcast.approval`).

The TOTP rules of :func:`loa.fleet.services.totp_required` apply to the resulting command (emergency or live
priority, more than one commune).
"""

from __future__ import annotations

from typing import Any

from loa.broadcast.approval import ApprovalRefusal, check_play_source
from loa.fleet.models import Command, Device
from loa.fleet.services import FleetError, check_play_media, check_totp, do_send_command, totp_required
from loa.playable.resolve import (
    Playable,
    PlayableError,
    PlaySource,
    bulletin_class,
    media_url,
    published_bulletin,
    resolve,
    source_kind,
)
from loa.units.models import Level, Unit
from loa_protocol.ladder import PlayClass

__all__ = [
    "PlaySource",
    "check_play_media",
    "check_play_now",
    "do_play_now",
    "library_unit",
    "media_url",
    "resolve_play",
]


def library_unit(target_unit: Unit | None, target_device: Device | None) -> Unit:
    """Where audio made for a command is filed: the target's commune (or province), never a zone."""
    unit = target_device.unit if target_device is not None else target_unit
    assert unit is not None
    if unit.level == Level.ZONE and unit.parent_id:
        return Unit.objects.get(pk=unit.parent_id)
    return unit


def resolve_play(
    actor: Any, source: PlaySource, *, unit: Unit, token: Any = None, request: Any = None, speak: bool = True
) -> Playable | None:
    """What ``source`` plays, checked against the actor's rights (:func:`loa.playable.resolve.resolve`)."""
    try:
        return resolve(actor, source, unit=unit, token=token, request=request, speak=speak)
    except PlayableError as exc:
        raise FleetError(exc.code, exc.message, exc.status) from exc


def _check_one_source(source: PlaySource) -> str:
    try:
        return source_kind(source)
    except PlayableError as exc:
        raise FleetError(exc.code, exc.message, exc.status) from exc


def _check_approved(kind: str, sha256: str | None = None) -> None:
    try:
        check_play_source(kind, sha256)
    except ApprovalRefusal as exc:
        raise FleetError(exc.code, exc.message, exc.status) from exc


def _priority(value: Any, default: int) -> int:
    """The class the operator asked for (a number on the wire), or ``default``."""
    if value is None or value == "":
        return default
    try:
        priority = int(value)
    except (TypeError, ValueError):
        priority = 0
    if not PlayClass.EMERGENCY <= priority <= PlayClass.NORMAL:
        raise FleetError(
            "priority_invalid",
            "Mức ưu tiên phải từ 1 đến 4 (1 khẩn cấp, 2 trực tiếp, 3 bản tin ưu tiên, 4 thông thường).",
        )
    return priority


def check_play_now(
    actor: Any,
    source: PlaySource,
    *,
    target_unit: Unit | None,
    target_device: Device | None,
    priority: int | None = None,
    token: Any = None,
) -> Playable | None:
    """What "play now" refuses before any audio is made or any command signed — the target, the one source, the
    actor's rights to it, its approval and the priority — so the console's confirmation asks only what can be sent.
    Returns what plays when that needs no synthesis (else None: speech is made at the send)."""
    if (target_unit is None) == (target_device is None):
        raise FleetError("target_invalid", "Chọn đúng một đích: một cụm loa hoặc một đơn vị.")
    unit = library_unit(target_unit, target_device)
    if target_device is not None and target_device.revoked_at is not None:
        raise FleetError("device_revoked", "Cụm loa này đã bị thu hồi.")
    if target_unit is not None and not Device.objects.active().in_unit(target_unit).exists():
        raise FleetError("no_devices", f"Không có cụm loa nào đang hoạt động trong {target_unit.name}.")
    kind = _check_one_source(source)
    _check_approved(kind)  # typed text never plays directly (docs/adr/0007), refused before any synthesis
    cheap = resolve_play(actor, source, unit=unit, token=token, speak=False)
    if cheap is not None:
        _check_approved(kind, cheap.sha256)
        _priority(priority, cheap.play_class)
    else:
        _priority(priority, PlayClass.NORMAL)
    return cheap


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
    cheap = check_play_now(
        actor, source, target_unit=target_unit, target_device=target_device, priority=priority, token=token
    )
    unit = library_unit(target_unit, target_device)
    kind = _check_one_source(source)
    if cheap is None:  # synthesis ahead: refuse a missing TOTP before making audio nobody will play
        default = PlayClass.NORMAL
        if source.bulletin_id is not None:
            try:
                default = bulletin_class(published_bulletin(actor, source.bulletin_id, token))
            except PlayableError as exc:
                raise FleetError(exc.code, exc.message, exc.status) from exc
        wanted = {"priority": _priority(priority, default)}
        if totp_required("play", wanted, target_unit, target_device, actor=actor) and not "".join(
            (totp or "").split()
        ):
            check_totp(actor, "")  # raises totp_required
        resolved = resolve_play(actor, source, unit=unit, token=token, request=request)
        assert resolved is not None
    else:
        resolved = cheap
    _check_approved(kind, resolved.sha256)  # library audio: only audio that went through approval
    params: dict[str, Any] = {
        "item_id": (item_id or "").strip() or resolved.item_id,
        "media_url": media_url(resolved.sha256),
        "sha256": resolved.sha256,
        "duration_s": max(0.1, round(resolved.duration_s, 3)),
        "priority": _priority(priority, resolved.play_class),
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
