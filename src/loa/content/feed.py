"""The inbox (feed) actions: take or decline a province bulletin, share a commune's bulletin up, republish it."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from loa.accounts.models import ApiToken
from loa.audit.log import record
from loa.content.editing import do_create_bulletin
from loa.content.errors import BulletinError
from loa.content.models import (
    Bulletin,
    FeedItem,
    State,
)
from loa.content.validation import _CONTROL_RE
from loa.content.versions import snapshot
from loa.units.models import Level

# ---- the feed ------------------------------------------------------------------------------------------


FEED_TRANSITIONS: dict[str, tuple[frozenset[str], str, str]] = {
    # name → (states it applies to, target state, label)
    "take": (
        frozenset(
            {FeedItem.State.NEW, FeedItem.State.QUEUED, FeedItem.State.INSERTED, FeedItem.State.NOT_INSERTED}
        ),
        FeedItem.State.TAKEN,
        gettext_noop("Nhận bản tin"),
    ),
    "decline": (frozenset({FeedItem.State.NEW}), FeedItem.State.DECLINED, gettext_noop("Từ chối bản tin")),
}


def do_feed_transition(
    item: FeedItem,
    name: str,
    *,
    actor: Any,
    note: str = "",
    token: ApiToken | None = None,
    request: HttpRequest | None = None,
) -> FeedItem:
    """Take or decline a bulletin in the inbox (a commune: from the province; the province: a shared one)."""
    if name not in FEED_TRANSITIONS:
        raise BulletinError("transition_unknown", _("Không có thao tác “%(name)s”.") % {"name": name}, 400)
    sources, target, label = FEED_TRANSITIONS[name]
    with transaction.atomic():
        locked = FeedItem.objects.select_for_update().select_related("bulletin").get(pk=item.pk)
        if locked.state not in sources:
            urgent = (
                FeedItem.State.QUEUED,
                FeedItem.State.INSERTED,
                FeedItem.State.NOT_INSERTED,
                FeedItem.State.HANDED_OFF,
            )
            if locked.state in urgent and name == "decline":
                raise BulletinError(
                    "feed_decline_not_allowed", _("Bản tin ưu tiên hoặc khẩn cấp không thể từ chối."), 409
                )
            raise BulletinError(
                "feed_transition_not_allowed",
                _("Không thể “%(action)s” khi bản tin đang ở trạng thái “%(state)s”.")
                % {"action": _(label).lower(), "state": locked.get_state_display()},
                409,
            )
        before = locked.state
        locked.state = target
        locked.decided_by = actor
        locked.decided_at = timezone.now()
        locked.note = _CONTROL_RE.sub("", note or "").strip()[:500]
        locked.save(update_fields=["state", "decided_by", "decided_at", "note"])
        record(
            f"bulletin.feed_{name}",
            actor=actor,
            request=request,
            unit=item.unit,
            obj=locked.bulletin,
            message=f"{label}: {locked.bulletin.title}"[:500],
            data={"feed_item": locked.pk, "from": before, "to": target, "direction": locked.direction},
        )
    item.refresh_from_db()
    return item


def do_share_up(
    b: Bulletin,
    *,
    actor: Any,
    note: str = "",
    token: ApiToken | None = None,
    request: HttpRequest | None = None,
) -> FeedItem:
    """A commune proposes its bulletin to the province, which may republish it."""
    province = b.origin_unit.parent
    if b.origin_unit.level != Level.COMMUNE or province is None:
        raise BulletinError("share_not_commune", _("Chỉ bản tin của xã mới chia sẻ lên tỉnh được."), 400)
    if b.state not in (State.APPROVED, State.PUBLISHED):
        raise BulletinError("share_not_ready", _("Chỉ chia sẻ được bản tin đã duyệt hoặc đã phát hành."), 409)
    with transaction.atomic():
        try:
            with transaction.atomic():
                item = FeedItem.objects.create(
                    bulletin=b,
                    unit=province,
                    direction=FeedItem.Direction.UP,
                    state=FeedItem.State.NEW,
                    sent_by=actor,
                    note=_CONTROL_RE.sub("", note or "").strip()[:500],
                )
        except IntegrityError:
            raise BulletinError("already_shared", _("Bản tin này đã được đề xuất lên tỉnh."), 409) from None
        record(
            "bulletin.shared_up",
            actor=actor,
            request=request,
            unit=b.origin_unit,
            obj=b,
            message=f"Đề xuất lên {province.name}: {b.title}"[:500],
            data={"province": province.code, "feed_item": item.pk},
        )
    return item


def do_republish(
    item: FeedItem, *, actor: Any, token: ApiToken | None = None, request: HttpRequest | None = None
) -> Bulletin:
    """The province takes a shared bulletin: a new provincial draft that remembers where it came from."""
    if item.direction != FeedItem.Direction.UP:
        raise BulletinError("not_shared", _("Chỉ đăng lại được bản tin do xã đề xuất."), 400)
    original = item.bulletin
    data = {k: v for k, v in snapshot(original).items() if k not in ("receivers", "produced_at")}
    with transaction.atomic():
        do_feed_transition(item, "take", actor=actor, token=token, request=request)
        copy = do_create_bulletin(
            item.unit, data, actor=actor, token=token, request=request, shared_from=original
        )
    return copy
