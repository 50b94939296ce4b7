"""A bulletin's validity as a reader sees it, without changing anything.

The periodic job ``loa.content.expire_bulletins`` (every minute, :func:`loa.content.workflow.expire_due`) moves a
bulletin whose ``valid_until`` has passed to "expired" and withdraws it from the inboxes. Until it has run, a read
must not show such a bulletin as still published — and a read must not run it either (a GET never changes state).
So pages and the API read through these helpers: a bulletin past its validity is *shown* expired, and its unanswered
inbox items are *shown* withdrawn.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TypeVar

from django.db.models import Q, QuerySet
from django.utils import timezone

from loa.content.models import Bulletin, FeedItem, State

# States that end in "expired" when the validity passes (the workflow's "expire" transition applies to them).
LAPSING = frozenset({State.SUBMITTED, State.APPROVED, State.PUBLISHED})
# Inbox items that the expiry withdraws.
WITHDRAWABLE = frozenset(
    {FeedItem.State.NEW, FeedItem.State.QUEUED, FeedItem.State.NOT_INSERTED, FeedItem.State.HANDED_OFF}
)

B = TypeVar("B", bound=Bulletin)
F = TypeVar("F", bound=FeedItem)


def lapsed_q(now: dt.datetime | None = None, prefix: str = "") -> Q:
    """Bulletins (or, with ``prefix="bulletin__"``, rows pointing at one) whose validity has passed."""
    now = now or timezone.now()
    return Q(
        **{
            f"{prefix}state__in": list(LAPSING),
            f"{prefix}valid_until__isnull": False,
            f"{prefix}valid_until__lte": now,
        }
    )


def is_lapsed(b: Bulletin, now: dt.datetime | None = None) -> bool:
    return b.state in LAPSING and b.valid_until is not None and b.valid_until <= (now or timezone.now())


def filter_state(qs: QuerySet[Bulletin], state: str, now: dt.datetime | None = None) -> QuerySet[Bulletin]:
    """Bulletins in ``state`` as a reader sees it now."""
    lapsed = lapsed_q(now)
    if state == State.EXPIRED:
        return qs.filter(Q(state=State.EXPIRED) | lapsed)
    if state in LAPSING:
        return qs.filter(state=state).exclude(lapsed)
    return qs.filter(state=state)


def filter_feed_state(
    qs: QuerySet[FeedItem], state: str, now: dt.datetime | None = None
) -> QuerySet[FeedItem]:
    """Inbox items in ``state`` as a reader sees it now."""
    withdrawn = Q(direction=FeedItem.Direction.DOWN, state__in=list(WITHDRAWABLE)) & lapsed_q(
        now, "bulletin__"
    )
    if state == FeedItem.State.WITHDRAWN:
        return qs.filter(Q(state=FeedItem.State.WITHDRAWN) | withdrawn)
    if state in WITHDRAWABLE:
        return qs.filter(state=state).exclude(withdrawn)
    return qs.filter(state=state)


def as_read_now(b: B, now: dt.datetime | None = None) -> B:
    """``b`` as a reader sees it now: "expired" (in memory only, never saved) once its validity has passed."""
    if is_lapsed(b, now):
        b.state = State.EXPIRED
    return b


def feed_as_read_now(item: F, now: dt.datetime | None = None) -> F:
    """An inbox item as a reader sees it now: "withdrawn" (in memory only) once its bulletin has lapsed."""
    if (
        item.direction == FeedItem.Direction.DOWN
        and item.state in WITHDRAWABLE
        and is_lapsed(item.bulletin, now)
    ):
        item.state = FeedItem.State.WITHDRAWN
    as_read_now(item.bulletin, now)
    return item


def all_as_read_now(bulletins: Iterable[B], now: dt.datetime | None = None) -> list[B]:
    now = now or timezone.now()
    return [as_read_now(b, now) for b in bulletins]


def feed_all_as_read_now(items: Iterable[F], now: dt.datetime | None = None) -> list[F]:
    now = now or timezone.now()
    return [feed_as_read_now(i, now) for i in items]
