"""Who may fetch a media file by its content address (``/media/files/<sha256>.mp3``): the one rule.

The address stays the sha256 (immutable, cacheable, covered by the signatures of commands and manifests), but
knowing it is not enough:

1. **public**: audio or an attachment of a *published* bulletin, and the audio of an *emergency broadcast in force*
   (its text is on the citizens' feed while devices may still play it, and it plays on every loudspeaker of its
   area) — anyone (the citizen app, a cache in front, the web process's memory: ADR 0019);
2. **a device**, with its own MQTT credentials as HTTP Basic auth (:mod:`loa.fleet.device_auth`): what a play
   command addressed to it names, or what its current signed manifest names. A revoked device is no longer
   active, so it gets nothing — not even files it fetched before;
3. **a signed-in user** who may see the asset (:func:`loa.media.access.can_use_media_asset`: own units' library,
   or through a published bulletin they can see).

Anything else — a draft's audio, a TTS preview, another commune's library — is never served to whoever merely
knows the address. See docs/media.md ("Who may fetch a file").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from loa.fleet.device_auth import authenticated_device, basic_credentials, commanded_media
from loa.media.access import can_use_media_asset
from loa.media.models import MediaAsset


@dataclass(frozen=True)
class FileGrant:
    public: bool  # may a shared cache keep it (Cache-Control: public) or only the requester (private)
    who: str  # "public", "device" or "user"
    until: dt.datetime | None = None  # public: when it stops being public (None: no end known)


class MediaFileRefused(Exception):
    """Not served: ``status`` 401 (authenticate: a device without valid credentials) or 404."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def public_until(asset: MediaAsset, now: dt.datetime | None = None) -> tuple[bool, dt.datetime | None]:
    """Whether anyone may fetch ``asset``'s file now, and until when (``None``: no end known).

    * the file of a bulletin anyone may read now: published, its validity started and not passed (the same rule as
      the citizens' pages; a bulletin past ``valid_until`` is public no more, even before the expiry job ran);
    * the audio of an emergency broadcast in force: not cancelled, devices may still play it (the citizens' feed
      shows its text for exactly as long, :func:`loa.citizen.public_feed.emergency_until`)."""
    from django.db.models import Q
    from django.utils import timezone

    from loa.broadcast.emergency import COMMAND_TTL_S
    from loa.broadcast.models import Emergency
    from loa.citizen.public_feed import emergency_until
    from loa.content.models import Bulletin, State

    now = now or timezone.now()
    ends: list[dt.datetime] = []
    public = False
    published = Bulletin.objects.filter(
        Q(valid_from__isnull=True) | Q(valid_from__lte=now),
        Q(valid_until__isnull=True) | Q(valid_until__gt=now),
        Q(audio_asset=asset) | Q(attachments__asset=asset),
        state=State.PUBLISHED,
    )
    for valid_until in published.values_list("valid_until", flat=True)[:20]:
        if valid_until is None:
            return True, None
        public = True
        ends.append(valid_until)
    # the citizens' feed looks as far back (loa.citizen.public_feed.active_emergencies)
    earliest = now - dt.timedelta(seconds=COMMAND_TTL_S + 3600 * 3)
    for emergency in Emergency.objects.filter(
        sha256=asset.sha256, state=Emergency.State.ACTIVE, requested_at__gte=earliest
    ).only("requested_at", "repeat", "duration_s")[:20]:
        until = emergency_until(emergency)
        if until > now:
            public = True
            ends.append(until)
    return public, (max(ends) if public and ends else None)


def _in_device_manifest(device_id: str, sha256: str) -> bool:
    from loa.broadcast.compile import manifest_payload

    payload = manifest_payload(device_id)
    return payload is not None and sha256.encode() in payload


def access_media_file(request: Any, asset: MediaAsset) -> FileGrant:
    """Allow fetching ``asset``'s file or raise :class:`MediaFileRefused`."""
    public, until = public_until(asset)
    if public:
        return FileGrant(public=True, who="public", until=until)
    if basic_credentials(request) is not None:
        device = authenticated_device(request)
        if device is None:
            raise MediaFileRefused(401)  # wrong, unknown or revoked device: nothing
        if commanded_media(device, asset.sha256) or _in_device_manifest(device.device_id, asset.sha256):
            return FileGrant(public=False, who="device")
        raise MediaFileRefused(404)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and can_use_media_asset(user, asset):
        return FileGrant(public=False, who="user")
    raise MediaFileRefused(404 if user is not None and user.is_authenticated else 401)
