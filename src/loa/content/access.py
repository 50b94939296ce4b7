"""Which bulletins and inbox items a user may see and act on: the ``access_*`` chokepoints of the bulletin domain."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from loa.accounts.access import AccessDenied, access_unit, access_units, can, grants
from loa.accounts.models import ApiToken
from loa.content.errors import BulletinError, BulletinNotFound
from loa.content.models import (
    Bulletin,
    FeedItem,
    State,
)
from loa.units.models import Unit

# ---- access --------------------------------------------------------------------------------------------


def visible_bulletins(user: Any, token: ApiToken | None = None) -> QuerySet[Bulletin]:
    """Bulletins of units in the user's scope, plus those published into an inbox in the user's scope."""
    units = access_units(user, "bulletin.view", token)
    own = Q(origin_unit__in=units)
    received = Q(
        feed_items__unit__in=units,
        feed_items__direction=FeedItem.Direction.DOWN,
        state__in=[State.PUBLISHED, State.EXPIRED, State.CANCELLED],
    )
    ids = Bulletin.objects.filter(own | received).values("pk")
    return Bulletin.objects.filter(pk__in=ids)


def access_bulletin(
    user: Any, bulletin_id: int, action: str = "bulletin.view", token: ApiToken | None = None
) -> Bulletin:
    """The bulletin if the user may see it (404 otherwise) and do ``action`` on its originating unit (403)."""
    b = (
        visible_bulletins(user, token)
        .select_related("origin_unit", "created_by", "updated_by", "published_by")
        .filter(pk=bulletin_id)
        .first()
    )
    if b is None:
        raise BulletinNotFound()
    if action != "bulletin.view":
        access_unit(user, b.origin_unit, action, token)
    return b


def holds_role(user: Any, unit: Unit, role: str) -> bool:
    """True when the user holds ``role`` itself (not merely an admin role) on ``unit`` or above it."""
    return any(g.role == role and g.path is not None and unit.path.startswith(g.path) for g in grants(user))


def access_feed_item(user: Any, item_id: int, action: str, token: ApiToken | None = None) -> FeedItem:
    item = (
        FeedItem.objects.select_related("bulletin", "unit", "bulletin__origin_unit")
        .filter(pk=item_id)
        .first()
    )
    if item is None or not can(user, item.unit, "bulletin.view", token):
        raise BulletinError("feed_item_not_found", _("Không tìm thấy bản tin trong hộp thư của bạn."), 404)
    access_unit(user, item.unit, action, token)
    return item


def feed_decision_action(item: FeedItem) -> str:
    """What taking or declining an inbox item needs: a commune takes from the province (``bulletin.take``); the
    province takes a shared commune bulletin as an editor (``bulletin.edit``)."""
    return "bulletin.take" if item.direction == FeedItem.Direction.DOWN else "bulletin.edit"


def access_feed_decision(user: Any, item_id: int, token: ApiToken | None = None) -> FeedItem:
    """The inbox item, if the user may take or decline it (404 outside the scope, 403 without the right)."""
    item = access_feed_item(user, item_id, "bulletin.view", token)
    access_unit(user, item.unit, feed_decision_action(item), token)
    return item


COMMENT_ACTIONS = ("bulletin.edit", "bulletin.review", "bulletin.approve")


def can_comment(user: Any, b: Bulletin, token: ApiToken | None = None) -> bool:
    return any(can(user, b.origin_unit, a, token) for a in COMMENT_ACTIONS)


def access_comment(user: Any, b: Bulletin, token: ApiToken | None = None) -> Bulletin:
    """The bulletin, if the user may comment on it: its writers, reviewers and approvers."""
    if not can_comment(user, b, token):
        raise AccessDenied(_("Chỉ người soạn, thẩm định hoặc duyệt bản tin mới được bình luận."))
    return b
