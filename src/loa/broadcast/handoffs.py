"""Bulletins handed to broadcasting by the content side (:class:`loa.content.models.BroadcastHandoff`).

* ``priority`` (a province priority bulletin): a signed ``play`` command at priority 3 to the commune; every
  device inserts it at the end of the item it is playing (the ladder's AT_ITEM_END), before queued normal items.
  Outside the commune's windows the devices refuse it, as they must.
* ``emergency``: pre-empts at once only with an approver's TOTP confirmation (DESIGN §6), so it waits in the
  console's emergency page ("chờ xác nhận"), pre-filled with the bulletin's text; it is consumed when the
  emergency is sent.
* ``cancel``: a ``stop`` of the bulletin's item in that commune, and any emergency made from it is cancelled.

:func:`consume` is idempotent (rows are claimed with ``consumed_at``); it runs as a job when content sends
``broadcast_handoff`` and can be run again at any time.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from loa.broadcast.models import Emergency

log = logging.getLogger(__name__)
CONSUMER = "loa.broadcast"
SYSTEM = "hệ thống phát thanh"


def bulletin_item_id(bulletin: Any) -> str:
    return f"bt-{bulletin.uid.hex[:16]}"


def _bulletin_audio(bulletin: Any, unit: Any) -> tuple[str, float]:
    from loa.broadcast.services import ItemSpec, _resolve_item

    resolved = _resolve_item(
        unit, ItemSpec(kind="bulletin", bulletin_id=bulletin.pk), actor=SYSTEM, request=None
    )
    return resolved["sha256"], float(resolved["duration_s"])


def consume(limit: int = 500) -> dict[str, int]:
    """Act on waiting hand-offs, oldest first."""
    from loa.broadcast.services import BroadcastError, media_url
    from loa.content.models import BroadcastHandoff
    from loa.fleet.services import FleetError, do_send_command

    counts = {"priority": 0, "cancel": 0, "emergency_waiting": 0, "failed": 0}
    rows = list(
        BroadcastHandoff.objects.filter(consumed_at__isnull=True)
        .exclude(kind=BroadcastHandoff.Kind.EMERGENCY)
        .select_related("bulletin", "unit")
        .order_by("created_at", "pk")[:limit]
    )
    audio_cache: dict[int, tuple[str, float]] = {}
    for h in rows:
        with transaction.atomic():
            claimed = BroadcastHandoff.objects.filter(pk=h.pk, consumed_at__isnull=True).update(
                consumed_at=timezone.now(), consumed_by=CONSUMER
            )
            if not claimed:
                continue
            try:
                if h.kind == BroadcastHandoff.Kind.PRIORITY:
                    if h.bulletin_id not in audio_cache:
                        audio_cache[h.bulletin_id] = _bulletin_audio(h.bulletin, h.unit)
                    sha, duration = audio_cache[h.bulletin_id]
                    valid_until = h.bulletin.valid_until
                    params = {
                        "item_id": bulletin_item_id(h.bulletin),
                        "media_url": media_url(sha),
                        "sha256": sha,
                        "duration_s": round(duration, 3),
                        "priority": 3,
                    }
                    if valid_until is not None:
                        params["play_until"] = valid_until.isoformat()
                    do_send_command(
                        actor=SYSTEM, action="play", params=params, target_unit=h.unit, ttl_s=3600
                    )
                    counts["priority"] += 1
                elif h.kind == BroadcastHandoff.Kind.CANCEL:
                    do_send_command(
                        actor=SYSTEM, action="stop", params={"item_id": bulletin_item_id(h.bulletin)},
                        target_unit=h.unit, ttl_s=3600,
                    )  # fmt: skip
                    for e in Emergency.objects.filter(
                        bulletin=h.bulletin, unit=h.unit, state=Emergency.State.ACTIVE
                    ):
                        from loa.broadcast.emergency import do_cancel_emergency

                        do_cancel_emergency(e, actor=SYSTEM)
                    counts["cancel"] += 1
            except (BroadcastError, FleetError) as exc:
                # nothing to play on (no devices, no audio): keep it consumed, say why in the log
                log.warning("hand-off %s (%s → %s) not broadcast: %s", h.pk, h.kind, h.unit.code, exc.message)
                counts["failed"] += 1
    counts["emergency_waiting"] = BroadcastHandoff.objects.filter(
        consumed_at__isnull=True, kind=BroadcastHandoff.Kind.EMERGENCY
    ).count()
    return counts


def waiting_emergencies(unit: Any) -> list[Any]:
    """Emergency bulletins handed to a unit's communes and not yet sent (for the console)."""
    from loa.content.models import BroadcastHandoff

    return list(
        BroadcastHandoff.objects.filter(
            consumed_at__isnull=True, kind=BroadcastHandoff.Kind.EMERGENCY, unit__path__startswith=unit.path
        ).select_related("bulletin", "unit")[:50]
    )


def mark_emergency_sent(bulletin: Any, unit: Any) -> None:
    from loa.content.models import BroadcastHandoff

    BroadcastHandoff.objects.filter(
        bulletin=bulletin, kind=BroadcastHandoff.Kind.EMERGENCY, consumed_at__isnull=True,
        unit__path__startswith=unit.path,
    ).update(consumed_at=timezone.now(), consumed_by=CONSUMER)  # fmt: skip


def consume_task(*, job_id: int) -> dict[str, int]:
    return consume()


def on_handoff(sender: Any, **kwargs: Any) -> None:
    """Receiver of ``loa.content.signals.broadcast_handoff``: consume in a background job."""
    from loa.jobs.run import enqueue

    try:
        enqueue("broadcast.handoffs", "loa.broadcast.handoffs.consume_task")
    except Exception:  # the queue being down must not fail the publication; a later run consumes them
        log.exception("không xếp được việc xử lý bản tin chuyển sang phát thanh")
