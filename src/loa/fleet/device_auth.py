"""A device proves who it is over HTTPS with its own MQTT credentials as HTTP Basic auth (manifest poll, media).

There is no second secret to issue, rotate or expire: enrolment gives the device one password, revocation drops it
(the device is no longer active), and every HTTPS use follows at once. The password is checked against the same
PBKDF2 hash the broker's password file holds.
"""

from __future__ import annotations

import base64
from typing import Any

from loa.fleet import broker
from loa.fleet.models import Command, CommandDelivery, Device


def basic_credentials(request: Any) -> tuple[str, str] | None:
    """``(user, password)`` of an ``Authorization: Basic`` header, or ``None`` when there is none or it is
    malformed."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        user, sep, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (user, password) if sep and user and password else None


def authenticated_device(request: Any) -> Device | None:
    """The active (not revoked) device whose credentials the request carries, or ``None``."""
    credentials = basic_credentials(request)
    if credentials is None:
        return None
    user, password = credentials
    device = (
        Device.objects.active()
        .filter(device_id=user)
        .only("device_id", "credentials_hash", "unit_id", "revoked_at")
        .first()
    )
    if device is None or not device.credentials_hash:
        return None
    return device if broker.check_password(password, device.credentials_hash) else None


def commanded_media(device: Device, sha256: str) -> bool:
    """Whether a play command addressed to ``device`` (alone or with its unit) names the media ``sha256``: by its
    delivery row, or — a large fan-out is published before its rows are written (docs/fleet.md "Commands") — by an
    unexpired play command on a topic the device subscribes to (its own, its unit's or an ancestor's group topic)."""
    from django.utils import timezone

    from loa.units.models import Unit
    from loa_protocol import topics

    if CommandDelivery.objects.filter(
        device_id=device.device_id, command__action=Command.Action.PLAY, command__params__sha256=sha256
    ).exists():
        return True
    path = Unit.objects.filter(pk=device.unit_id).values_list("path", flat=True).first()
    if path is None:
        return False
    return Command.objects.filter(
        action=Command.Action.PLAY,
        params__sha256=sha256,
        expires_at__gt=timezone.now(),
        topic__in=topics.device_subscriptions(device.device_id, broker.unit_codes_of(path)),
    ).exists()
