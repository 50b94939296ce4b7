"""What a bulletin action reaches, said before it happens: publishing (to how many communes, auto-playing on how
many loudspeaker clusters), cancelling (withdrawn from how many communes, stopped on how many clusters),
declining a province bulletin. Computed from the same rules the actions follow (:func:`loa.content.delivery.target_communes`,
the hand-offs of :func:`~loa.content.delivery.publish_feed` and :func:`~loa.content.delivery.withdraw_feed`);
reads only."""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from loa.content.delivery import reached_feed_items, target_communes
from loa.content.models import BroadcastHandoff, Bulletin, FeedItem, Priority, State
from loa.units.models import Unit


def clusters_in(units: list[Unit]) -> int:
    """Active loudspeaker clusters in these units and below (the devices a play command to them addresses)."""
    from loa.fleet.models import Device

    if not units:
        return 0
    return (
        Device.objects.active().filter(reduce(or_, (Q(unit__path__startswith=u.path) for u in units))).count()
    )


@dataclass(frozen=True)
class Scope:
    communes: int  # communes the action concerns
    clusters: int  # loudspeaker clusters it makes play (or stop)
    lines: list[str]  # what it reaches, in sentences for the confirmation page


def publish_scope(b: Bulletin) -> Scope:
    communes = target_communes(b)
    inbox = [c for c in communes if c.pk != b.origin_unit_id]
    n = len(communes)
    lines = [
        ngettext(
            "Phát hành tới %(n)s xã/phường (vào hộp thư bản tin của xã).",
            "Phát hành tới %(n)s xã/phường (vào hộp thư bản tin của các xã).",
            n,
        )
        % {"n": n}
    ]
    clusters = 0
    if b.priority == Priority.PRIORITY:
        clusters = clusters_in(inbox)
        lines.append(
            _(
                "Bản tin ưu tiên sẽ tự phát ngay trên %(m)s cụm loa của %(k)s xã/phường "
                "(chèn sau mục đang phát, trong khung giờ được phép)."
            )
            % {"m": clusters, "k": len(inbox)}
        )
    elif b.priority == Priority.EMERGENCY:
        clusters = clusters_in(communes)
        lines.append(
            _(
                "Bản tin khẩn cấp: %(k)s xã/phường (%(m)s cụm loa) được yêu cầu phát khẩn cấp, "
                "chờ người có quyền xác nhận bằng mã TOTP."
            )
            % {"m": clusters, "k": n}
        )
    else:
        lines.append(_("Bản tin thường không tự phát: mỗi xã nhận rồi lên lịch phát."))
    return Scope(n, clusters, lines)


def cancel_scope(b: Bulletin) -> Scope:
    if b.state != State.PUBLISHED:
        return Scope(
            0, 0, [_("Bản tin chưa phát hành: hủy chỉ dừng quy trình, không nơi nào nhận được bản tin.")]
        )
    unit_ids = set(reached_feed_items(b).values_list("unit_id", flat=True))
    unit_ids |= set(BroadcastHandoff.objects.filter(bulletin=b).values_list("unit_id", flat=True))
    units = list(Unit.objects.filter(pk__in=unit_ids))
    clusters = clusters_in(units)
    lines = [
        _("Bản tin bị rút khỏi %(n)s xã/phường và dừng phát trên %(m)s cụm loa của các xã đó.")
        % {"n": len(units), "m": clusters},
        _("Không hoàn tác được: muốn phát lại phải tạo bản tin mới."),
    ]
    return Scope(len(units), clusters, lines)


def decline_scope(item: FeedItem) -> Scope:
    return Scope(
        1,
        0,
        [
            _("%(unit)s sẽ không nhận bản tin “%(title)s”: bản tin không vào lịch phát của xã.")
            % {"unit": item.unit.name, "title": item.bulletin.title},
            _("Nơi gửi thấy xã đã từ chối, kèm lý do bạn ghi."),
        ],
    )
