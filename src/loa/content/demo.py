"""``loa demo``'s bulletins: a province notice sent down to the demo's communes and a commune's own notice, each
written, read by TTS, submitted, approved by another person and published through the same services as the
console — so a new user finds something to read, schedule and play ("Phát ngay") at once, and the citizens' app
of those communes is not empty."""

from __future__ import annotations

from typing import Any

from loa.content.editing import do_create_bulletin, do_make_audio
from loa.content.models import Bulletin
from loa.content.workflow import do_transition
from loa.units.models import Unit

PROVINCE_NOTICE = {
    "title": "Lịch tiêm chủng mở rộng tháng này",
    "summary": "Trẻ em dưới 5 tuổi được tiêm miễn phí tại trạm y tế xã.",
    "body": "Sở Y tế thông báo: từ 7 giờ 30 sáng thứ Bảy, các trạm y tế xã tổ chức tiêm chủng mở rộng miễn phí "
    "cho trẻ em dưới 5 tuổi. Phụ huynh mang theo sổ tiêm chủng và đưa trẻ đến đúng giờ.",
    "field": 4,
    "content_type": 1,
    "priority": 3,
}
COMMUNE_NOTICE = {
    "title": "Thông báo họp dân về làm đường liên thôn",
    "summary": "Họp dân lúc 19 giờ tối thứ Sáu tại nhà văn hóa thôn.",
    "body": "Ủy ban nhân dân xã mời đại diện các hộ gia đình dự họp bàn việc làm đường liên thôn lúc 19 giờ tối "
    "thứ Sáu tại nhà văn hóa thôn. Đề nghị bà con đến đúng giờ.",
    "field": 1,
    "content_type": 1,
    "priority": 3,
}


def _publish(
    origin: Unit, data: dict[str, Any], receivers: list[Unit], *, author: Any, approver: Any
) -> Bulletin:
    b = do_create_bulletin(origin, {**data, "receivers": [u.code for u in receivers]}, actor=author)
    b = do_make_audio(b, actor=author)
    b = do_transition(b, "submit", actor=author)
    b = do_transition(b, "approve", actor=approver, version=b.version)
    return do_transition(b, "publish", actor=approver, version=b.version)


def seed_demo_bulletins(
    province: Unit,
    communes: list[Unit],
    *,
    province_editor: Any,
    province_approver: Any,
    commune_operator: Any,
    commune_approver: Any,
) -> list[Bulletin]:
    """Once: a second seed finds them (by title and origin) and adds nothing."""
    commune = communes[0]
    if Bulletin.objects.filter(
        origin_unit__in=[province, commune], title__in=[PROVINCE_NOTICE["title"], COMMUNE_NOTICE["title"]]
    ).exists():
        return []
    return [
        _publish(province, PROVINCE_NOTICE, communes, author=province_editor, approver=province_approver),
        _publish(commune, COMMUNE_NOTICE, [commune], author=commune_operator, approver=commune_approver),
    ]
