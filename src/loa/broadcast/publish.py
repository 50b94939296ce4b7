"""Publishing compiled manifests, retained, on ``loa/v1/dev/{id}/manifest`` — called by the gateway (the only
process that speaks MQTT) from its outbox loop. A row is pending while ``published_version < version``; it is
marked published only after the broker's PUBACK, and only for the version that was sent (a newer version compiled
meanwhile stays pending)."""

from __future__ import annotations

import time
from typing import Any

from django.db.models import F
from django.utils import timezone

from loa.broadcast.models import DeviceManifest
from loa.gateway.confirm import publish_confirmed
from loa_protocol import topics

MIN_INTERVAL_S = 1.0
BATCH = 1000
_last_run = 0.0


def pending(limit: int = BATCH) -> list[tuple[int, str, int, bytes]]:
    rows = DeviceManifest.objects.filter(published_version__lt=F("version")).order_by("pk")[:limit]
    return [(r.pk, str(r.device_id), r.version, bytes(r.payload)) for r in rows]


def mark_published(sent: list[tuple[int, int]]) -> None:
    now = timezone.now()
    for pk, version in sent:
        DeviceManifest.objects.filter(pk=pk, version=version).update(
            published_version=version, published_at=now
        )


def publish_manifests(client: Any, *, force: bool = False, wait_s: float = 5.0) -> int:
    """Publish pending manifests with ``client`` (a connected paho client); at most once a second."""
    global _last_run
    now = time.monotonic()
    if not force and now - _last_run < MIN_INTERVAL_S:
        return 0
    _last_run = now
    rows = pending()
    sent = publish_confirmed(
        client,
        (
            ((pk, version), topics.manifest_topic(device_id), payload)
            for pk, device_id, version, payload in rows
        ),
        qos=topics.MANIFEST_QOS,
        retain=True,
        wait_s=wait_s,
    )
    if sent:
        mark_published(sent)
    return len(sent)
