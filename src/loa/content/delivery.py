"""What publishing and withdrawing a bulletin does to the inboxes of the communes it reaches, and the hand-offs
to broadcasting (emergency and priority bulletins)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from loa.content import signals
from loa.content.models import (
    BroadcastHandoff,
    Bulletin,
    FeedItem,
    Priority,
)
from loa.units.models import Level, Unit


def target_communes(b: Bulletin) -> list[Unit]:
    """The communes a published bulletin reaches: receivers resolved to communes (a province: all of them)."""
    communes: dict[int, Unit] = {}
    for unit in b.receivers.all():
        if unit.level == Level.COMMUNE:
            communes[unit.pk] = unit
        elif unit.level == Level.ZONE and unit.parent is not None:
            communes[unit.parent.pk] = unit.parent
        elif unit.level == Level.PROVINCE:
            for c in Unit.objects.subtree(unit).filter(level=Level.COMMUNE, is_active=True):
                communes[c.pk] = c
    return sorted(communes.values(), key=lambda u: u.path)


_FEED_STATE = {
    Priority.NORMAL: FeedItem.State.NEW,
    Priority.PRIORITY: FeedItem.State.QUEUED,
    Priority.EMERGENCY: FeedItem.State.HANDED_OFF,
}


def publish_feed(b: Bulletin, actor: Any) -> dict[str, Any]:
    """Put the bulletin in each target commune's inbox; hand emergency (and priority) bulletins to broadcast."""
    communes = target_communes(b)
    inbox = [c for c in communes if c.pk != b.origin_unit_id]
    state = _FEED_STATE[Priority(b.priority)]
    FeedItem.objects.bulk_create(
        [
            FeedItem(bulletin=b, unit=c, direction=FeedItem.Direction.DOWN, state=state, sent_by=actor)
            for c in inbox
        ],
        ignore_conflicts=True,
    )
    handoffs: list[BroadcastHandoff] = []
    if b.priority == Priority.EMERGENCY:
        handoffs = [
            BroadcastHandoff(bulletin=b, unit=c, kind=BroadcastHandoff.Kind.EMERGENCY) for c in communes
        ]
    elif b.priority == Priority.PRIORITY:
        handoffs = [BroadcastHandoff(bulletin=b, unit=c, kind=BroadcastHandoff.Kind.PRIORITY) for c in inbox]
    BroadcastHandoff.objects.bulk_create(handoffs)
    if handoffs:
        ids = [h.bulletin_id for h in handoffs[:1]]
        transaction.on_commit(lambda: signals.broadcast_handoff.send(Bulletin, bulletin_ids=ids))
    return {"inbox": [c.code for c in inbox], "handoff": [h.unit.code for h in handoffs], "state": state}


def reached_feed_items(b: Bulletin) -> Any:
    """The feed items through which ``b`` still reaches a unit (what a cancel withdraws; its confirmation counts them)."""
    return FeedItem.objects.filter(
        bulletin=b,
        direction=FeedItem.Direction.DOWN,
        state__in=[
            FeedItem.State.NEW,
            FeedItem.State.QUEUED,
            FeedItem.State.INSERTED,
            FeedItem.State.NOT_INSERTED,
            FeedItem.State.HANDED_OFF,
            FeedItem.State.TAKEN,
        ],
    )


def withdraw_feed(b: Bulletin, *, cancel: bool) -> list[str]:
    items = reached_feed_items(b)
    units = list(items.values_list("unit_id", flat=True))
    items.filter(
        state__in=[
            FeedItem.State.NEW,
            FeedItem.State.QUEUED,
            FeedItem.State.INSERTED,
            FeedItem.State.NOT_INSERTED,
            FeedItem.State.HANDED_OFF,
        ]
    ).update(state=FeedItem.State.WITHDRAWN)
    if cancel:
        handed = set(BroadcastHandoff.objects.filter(bulletin=b).values_list("unit_id", flat=True))
        targets = sorted(set(units) | handed)
        BroadcastHandoff.objects.bulk_create(
            [BroadcastHandoff(bulletin=b, unit_id=u, kind=BroadcastHandoff.Kind.CANCEL) for u in targets]
        )
    return [str(u) for u in units]
