"""Bulletins handed to broadcasting by the content side (:class:`loa.content.models.BroadcastHandoff`).

* ``priority`` (a province priority bulletin): a signed ``play`` command at priority 3 to the commune; every
  device inserts it at the end of the item it is playing (the ladder's AT_ITEM_END), before queued normal items.
  Outside the commune's windows the devices refuse it, as they must.
* ``emergency``: pre-empts at once only with an approver's TOTP confirmation (DESIGN §6), so it waits in the
  console's emergency page ("chờ xác nhận"), pre-filled with the bulletin's text; it is consumed when the
  emergency is sent.
* ``cancel``: a ``stop`` of the bulletin's item in that commune, and any emergency made from it is cancelled
  (a ``stop`` the system actor sends without a TOTP: the person who cancelled gave theirs, docs/adr/0009).

:func:`consume` is idempotent (rows are claimed with ``consumed_at``); it runs as a job when content sends
``broadcast_handoff`` and can be run again at any time.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from loa.accounts.system import SYSTEM
from loa.audit.log import record
from loa.broadcast.emergency import HANDOFF_CONSUMER, do_cancel_emergency
from loa.broadcast.models import Emergency
from loa.playable.resolve import PlayableError, PlaySource, resolve_now
from loa_protocol import items
from loa_protocol.ladder import PlayClass

log = logging.getLogger(__name__)
CONSUMER = HANDOFF_CONSUMER


def bulletin_item_id(bulletin: Any) -> str:
    return items.bulletin_item_id(bulletin.uid)


def _bulletin_audio(bulletin: Any, unit: Any) -> tuple[str, float]:
    """The bulletin's audio (or its text read by TTS, filed in ``unit``), resolved as the system actor."""
    playable = resolve_now(SYSTEM, PlaySource(bulletin_id=bulletin.pk), unit=unit)
    return playable.sha256, playable.duration_s


def _emergencies_made_from(bulletin: Any, unit: Any) -> list[Emergency]:
    """Active emergencies started from ``bulletin`` whose area overlaps ``unit`` (the commune, a zone of it, or
    the province above it that started one for all its communes)."""
    rows = Emergency.objects.filter(bulletin=bulletin, state=Emergency.State.ACTIVE).select_related("unit")
    return [e for e in rows if e.unit.path.startswith(unit.path) or unit.path.startswith(e.unit.path)]


def consume(limit: int = 500) -> dict[str, int]:
    """Act on waiting hand-offs, oldest first."""
    from loa.broadcast.services import BroadcastError, media_url
    from loa.content.models import BroadcastHandoff, FeedItem
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
                        "priority": PlayClass.PRIORITY,
                    }
                    if valid_until is not None:
                        params["play_until"] = valid_until.isoformat()
                    command = do_send_command(
                        actor=SYSTEM, action="play", params=params, target_unit=h.unit, ttl_s=3600
                    )
                    # the commune's inbox says it went out ("Đã chèn tự động"), not that it is still waiting
                    _set_feed_state(h, FeedItem.State.INSERTED, "bulletin.feed_inserted",
                                    data={"command": str(command.pk)})  # fmt: skip
                    counts["priority"] += 1
                elif h.kind == BroadcastHandoff.Kind.CANCEL:
                    # The person who cancelled the bulletin confirmed it with their TOTP (the cancel silences
                    # an emergency: loa.content.workflow.access_totp_confirmation), so the system's stop needs none.
                    # Emergencies made from it are cancelled first and on their own: a commune with no active
                    # cluster (the bulletin's own stop refused) must not leave a province-wide emergency playing.
                    for e in _emergencies_made_from(h.bulletin, h.unit):
                        try:
                            do_cancel_emergency(e, actor=SYSTEM)
                        except (BroadcastError, FleetError) as exc:
                            log.warning(
                                "hand-off %s: emergency %s not cancelled: %s", h.pk, e.pk, exc.message
                            )
                            counts["failed"] += 1
                    do_send_command(
                        actor=SYSTEM, action="stop", params={"item_id": bulletin_item_id(h.bulletin)},
                        target_unit=h.unit, ttl_s=3600,
                    )  # fmt: skip
                    counts["cancel"] += 1
            except (BroadcastError, FleetError, PlayableError) as exc:
                # nothing to play on (no devices, no audio): keep it consumed; the commune's inbox says why and
                # that it is theirs to take and schedule (it no longer says it waits for insertion)
                log.warning("hand-off %s (%s → %s) not broadcast: %s", h.pk, h.kind, h.unit.code, exc.message)
                if h.kind == BroadcastHandoff.Kind.PRIORITY:
                    note = NOT_INSERTED_NOTE % {"reason": str(exc.message).rstrip(". ")}
                    _set_feed_state(h, FeedItem.State.NOT_INSERTED, "bulletin.feed_not_inserted", note=note[:500],
                                    data={"code": getattr(exc, "code", "")})  # fmt: skip
                counts["failed"] += 1
    counts["emergency_waiting"] = BroadcastHandoff.objects.filter(
        consumed_at__isnull=True, kind=BroadcastHandoff.Kind.EMERGENCY
    ).count()
    return counts


# stored in the inbox item (Vietnamese, as the other notes): what happened and what the commune can do
NOT_INSERTED_NOTE = (
    "Không chèn tự động được: %(reason)s. Hãy nhận bản tin và lên lịch phát khi các cụm loa sẵn sàng."
)


def _set_feed_state(handoff: Any, state: str, action: str, *, note: str = "", data: dict[str, Any]) -> None:
    """Move the commune's waiting inbox item of ``handoff``'s bulletin to ``state`` (with ``note``), audited as
    the system's action (inside the hand-off's transaction)."""
    from loa.content.models import FeedItem

    items = list(
        FeedItem.objects.filter(
            bulletin=handoff.bulletin, unit=handoff.unit, direction=FeedItem.Direction.DOWN,
            state=FeedItem.State.QUEUED,
        )
    )  # fmt: skip
    for item in items:
        item.state = state
        fields = ["state"]
        if note:
            item.note = note
            fields.append("note")
        item.save(update_fields=fields)
        record(action, actor=SYSTEM, obj=item.bulletin, unit=item.unit, message=note,
                     data={"feed_item": item.pk, **data})  # fmt: skip


def waiting_emergencies(unit: Any) -> list[Any]:
    """Emergency bulletins handed to a unit's communes and not yet sent (for the console)."""
    from loa.content.models import BroadcastHandoff

    return list(
        BroadcastHandoff.objects.filter(
            consumed_at__isnull=True, kind=BroadcastHandoff.Kind.EMERGENCY, unit__path__startswith=unit.path
        ).select_related("bulletin", "unit")[:50]
    )


def consume_task(*, job_id: int) -> dict[str, int]:
    return consume()


def on_handoff(sender: Any, **kwargs: Any) -> None:
    """Receiver of ``loa.content.signals.broadcast_handoff``: consume in a background job."""
    from loa.jobs.run import enqueue

    try:
        enqueue("broadcast.handoffs", "loa.broadcast.handoffs.consume_task")
    except Exception:  # the queue being down must not fail the publication; a later run consumes them
        log.exception("không xếp được việc xử lý bản tin chuyển sang phát thanh")
