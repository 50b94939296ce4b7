"""What plays: the one resolver that turns an item — a library asset, a published bulletin, text to read, a relay —
into the audio a device plays, checked against the actor's rights.

Every path that makes devices play goes through :func:`resolve`: "play now" (fleet), programme items (and so
schedules), emergency broadcasts and the bulletin hand-offs. It never applies a rule of its own about who may use
what: an asset goes through :func:`loa.media.access.access_media_asset`, a bulletin through
:func:`loa.content.access.access_bulletin`, speech through ``access_unit(…, "tts.use")``. A background job passes
:data:`loa.accounts.system.SYSTEM` as the actor; there is no ``None`` shortcut.

| item | who may | plays as (class unless the caller says otherwise) |
|---|---|---|
| a media asset (by id, or by sha256 for API clients) | ``media.view`` on it: its unit's library, or the audio of a published bulletin the actor sees | the file; normal |
| a published, still valid bulletin | ``bulletin.view`` on it (an inbox counts); its audio as above; ``tts.use`` on the unit if it has no audio | its audio or its text read by TTS; MucDoUuTien 1 → emergency, 2 → priority, 3 → normal |
| text | ``tts.use`` on the unit | the synthesised clip, filed in the unit's library; normal |
| a relay source | on the province's allow-list, active, the unit inside that province | a stream for the given minutes (30 by default); normal |

Refusals are :class:`PlayableError` (a :class:`~loa.errors.Refusal`): 404 for what the actor may not see (the same
answer as reading it directly, so nothing leaks), 400/409 for what cannot be played.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from loa.accounts.access import access_unit
from loa.errors import Refusal
from loa.media.access import MediaAssetNotFound, access_media_asset, usable_media_assets
from loa.media.models import MediaAsset
from loa.units.models import Unit
from loa_protocol import items
from loa_protocol.ladder import PlayClass

if TYPE_CHECKING:
    from loa.accounts.models import ApiToken

# MucDoUuTien (bulletin priority) → play class (DESIGN §4 priority ladder).
BULLETIN_CLASS = {1: PlayClass.EMERGENCY, 2: PlayClass.PRIORITY, 3: PlayClass.NORMAL}
DEFAULT_RELAY_S = 1800.0
SHA256_HEX = frozenset("0123456789abcdef")


class PlayableError(Refusal):
    """An item that cannot be played by this actor (or at all)."""


class RelayLike(Protocol):
    """A relay source of the province's allow-list (``loa.broadcast.models.RelaySource``)."""

    name: str
    url: str
    is_active: bool

    @property
    def province(self) -> Unit: ...


def media_url(sha256: str) -> str:
    """Where a device downloads library audio: the content-addressed capability URL (no session needed)."""
    return str(settings.LOA_PUBLIC_URL).rstrip("/") + reverse("media:file", args=[sha256])


@dataclass(frozen=True)
class PlaySource:
    """Exactly one of: a bulletin, a media asset, text to read, a sha256 of library audio, or a relay source."""

    bulletin_id: int | None = None
    media_asset_id: int | None = None
    text: str = ""
    voice: str | None = None
    sha256: str = ""
    media_url: str = ""
    relay: RelayLike | None = None
    relay_duration_s: float | None = None

    def kinds(self) -> list[str]:
        given = {
            "bulletin": self.bulletin_id is not None,
            "media_asset": self.media_asset_id is not None,
            "text": self.text != "",  # blank text is refused by TTS as empty
            "sha256": bool(self.sha256.strip() or self.media_url.strip()),
            "relay": self.relay is not None,
        }
        return [k for k, v in given.items() if v]


@dataclass(frozen=True)
class Playable:
    """What plays. ``kind`` "stream" (a relay) has no content hash: ``sha256`` is then the hash of its URL, which
    only identifies the item on the server (manifests carry no sha256 for streams, docs/protocol.md)."""

    item_id: str
    sha256: str
    media_url: str
    duration_s: float
    title: str
    play_class: PlayClass = PlayClass.NORMAL
    kind: str = "file"
    text: str = ""
    play_until: dt.datetime | None = None
    bulletin: Any = None
    relay_source: Any = None
    audit: dict[str, Any] = field(default_factory=dict)


def source_kind(source: PlaySource) -> str:
    """Which one kind of item ``source`` names (refused unless exactly one)."""
    kinds = source.kinds()
    if len(kinds) != 1:
        raise PlayableError(
            "play_source_invalid",
            "Chọn đúng một nội dung để phát: một bản tin đã phát hành, một tệp âm thanh, hoặc văn bản để đọc.",
        )
    return kinds[0]


def _ready(asset: MediaAsset) -> tuple[str, float]:
    if asset.kind != MediaAsset.Kind.AUDIO:
        raise PlayableError("media_not_audio", "Tệp đã chọn không phải âm thanh.")
    if not asset.duration_s or asset.duration_s <= 0:
        raise PlayableError("media_not_ready", "Tệp âm thanh chưa xử lý xong; hãy thử lại sau ít phút.", 409)
    return asset.sha256, float(asset.duration_s)


def _asset(actor: Any, asset: MediaAsset | None, token: ApiToken | None) -> MediaAsset:
    try:
        return access_media_asset(actor, asset, "media.view", token)
    except MediaAssetNotFound as exc:
        raise PlayableError("media_not_found", exc.message, 404) from exc


def _file(asset: MediaAsset, *, item_id: str, title: str, audit: dict[str, Any], **extra: Any) -> Playable:
    sha, duration = _ready(asset)
    return Playable(item_id=item_id, sha256=sha, media_url=media_url(sha), duration_s=duration, title=title,
                    audit=audit, **extra)  # fmt: skip


def _speak(
    actor: Any, text: str, *, read_as: str | None, voice: str | None, unit: Unit, token: Any, request: Any
) -> tuple[MediaAsset, str]:
    from loa.media.audio import MediaRejected
    from loa.tts.engines import TtsError
    from loa.tts.services import do_synthesize

    access_unit(actor, unit, "tts.use", token)
    try:
        clip = do_synthesize(text or None, voice, actor=actor, read_as=read_as, unit=unit, request=request)
    except (TtsError, MediaRejected) as exc:
        raise PlayableError(exc.code, exc.message) from exc
    return MediaAsset.objects.get(pk=int(clip.media_asset_id)), clip.text


def published_bulletin(actor: Any, bulletin_id: int, token: ApiToken | None = None) -> Any:
    """The bulletin if the actor may see it (:func:`access_bulletin`) and it is published and still valid."""
    from loa.content.access import access_bulletin
    from loa.content.errors import BulletinError
    from loa.content.models import State

    try:
        bulletin = access_bulletin(actor, bulletin_id, "bulletin.view", token)
    except BulletinError as exc:
        raise PlayableError("bulletin_not_found", exc.message, 404) from exc
    if bulletin.state != State.PUBLISHED:
        raise PlayableError("bulletin_not_published", "Chỉ phát được bản tin đã phát hành (còn hiệu lực).")
    if bulletin.valid_until is not None and bulletin.valid_until <= timezone.now():
        raise PlayableError("bulletin_expired", "Bản tin đã hết hiệu lực, không phát được nữa.")
    return bulletin


def bulletin_class(bulletin: Any) -> PlayClass:
    return BULLETIN_CLASS.get(int(bulletin.priority), PlayClass.NORMAL)


def resolve(
    actor: Any,
    source: PlaySource,
    *,
    unit: Unit,
    token: ApiToken | None = None,
    request: Any = None,
    speak: bool = True,
) -> Playable | None:
    """What ``source`` plays in ``unit`` (where synthesised speech is filed; the relay's province is checked
    against it), checked against ``actor``'s rights. With ``speak=False`` a source that needs synthesis answers
    ``None`` (so a caller can check a TOTP code before the expensive part)."""
    kind = source_kind(source)
    if kind == "media_asset":
        asset = _asset(actor, MediaAsset.objects.select_related("unit").filter(pk=source.media_asset_id or 0).first(),
                       token)  # fmt: skip
        return _file(asset, item_id=items.media_item_id(asset.pk), title=asset.original_name or asset.sha256[:12],
                     audit={"source": "media_asset", "media_asset": asset.pk})  # fmt: skip
    if kind == "sha256":
        sha = source.sha256.strip().lower()
        if len(sha) != 64 or not set(sha) <= SHA256_HEX:
            raise PlayableError("sha256_invalid", "Mã sha256 phải gồm 64 chữ số hex.")
        if source.media_url.strip() and source.media_url.strip() != media_url(sha):
            raise PlayableError(
                "media_url_not_allowed",
                "Cụm loa chỉ phát nội dung của hệ thống: không nhận địa chỉ tệp bên ngoài. "
                "Hãy chọn tệp trong thư viện (media_asset_id) hoặc bản tin (bulletin_id).",
            )
        found = usable_media_assets(actor, token).filter(sha256=sha).order_by("pk").first()
        if found is None:
            raise PlayableError(
                "media_not_found", "Không có tệp âm thanh này trong thư viện bạn được dùng.", 404
            )
        return _file(found, item_id=items.media_item_id(found.pk), title=found.original_name or sha[:12],
                     audit={"source": "sha256", "media_asset": found.pk})  # fmt: skip
    if kind == "bulletin":
        assert source.bulletin_id is not None
        bulletin = published_bulletin(actor, source.bulletin_id, token)
        base: dict[str, Any] = {
            "item_id": items.bulletin_item_id(bulletin.uid),
            "title": bulletin.title,
            "play_class": bulletin_class(bulletin),
            "play_until": bulletin.valid_until,
            "bulletin": bulletin,
        }
        audit = {"source": "bulletin", "bulletin": bulletin.pk, "bulletin_uid": str(bulletin.uid)}
        if bulletin.audio_asset_id:
            asset = _asset(actor, bulletin.audio_asset, token)
            return _file(asset, audit=audit | {"media_asset": asset.pk}, **base)
        text = "\n".join(p for p in (bulletin.title, bulletin.body or bulletin.summary) if p)
        if not (bulletin.read_as or text).strip():
            raise PlayableError("bulletin_no_audio", "Bản tin chưa có âm thanh và không có nội dung để đọc.")
        if not speak:
            return None
        asset, spoken = _speak(actor, text, read_as=bulletin.read_as or None, voice=source.voice, unit=unit,
                               token=token, request=request)  # fmt: skip
        return _file(asset, audit=audit | {"tts_asset": asset.pk}, text=spoken, **base)
    if kind == "relay":
        relay = source.relay
        assert relay is not None
        if not relay.is_active or not unit.path.startswith(relay.province.path):
            raise PlayableError(
                "relay_not_allowed", "Nguồn tiếp sóng không có trong danh sách được phép của tỉnh."
            )
        seconds = source.relay_duration_s or DEFAULT_RELAY_S
        if not 60 <= seconds <= 240 * 60:
            raise PlayableError("relay_duration_invalid", "Thời lượng tiếp sóng phải từ 1 đến 240 phút.")
        return Playable(
            item_id="", sha256=hashlib.sha256(relay.url.encode()).hexdigest(), media_url=relay.url,
            duration_s=float(seconds), title=relay.name, kind="stream", relay_source=relay,
            audit={"source": "relay", "relay_source": getattr(relay, "pk", None)},
        )  # fmt: skip
    # text
    if not speak:
        return None
    asset, spoken = _speak(actor, source.text, read_as=None, voice=source.voice, unit=unit, token=token,
                           request=request)  # fmt: skip
    return _file(asset, item_id=items.tts_item_id(), title=" ".join(source.text.split())[:80], text=spoken,
                 audit={"source": "text", "tts_asset": asset.pk})  # fmt: skip


def resolve_now(
    actor: Any, source: PlaySource, *, unit: Unit, token: ApiToken | None = None, request: Any = None
) -> Playable:
    """:func:`resolve`, synthesising speech when needed (never ``None``)."""
    playable = resolve(actor, source, unit=unit, token=token, request=request)
    assert playable is not None
    return playable
