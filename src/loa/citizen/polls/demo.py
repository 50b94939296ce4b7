"""The demo's poll (``loa demo``): one published poll of the first commune, open for a month, so the public app
and the console have something to show."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from loa.citizen.polls import services
from loa.citizen.polls.models import Poll
from loa.units.models import Unit

TITLE = "Giờ phát thanh của đài xã có phù hợp với bà con?"


def seed_demo_poll(unit: Unit, actor: Any = None) -> Poll:
    existing = Poll.objects.filter(unit=unit, title=TITLE).first()
    if existing is not None:
        return existing
    now = timezone.now()
    poll = services.do_create_poll(
        unit, actor=actor, title=TITLE, opens_at=now - dt.timedelta(hours=1), closes_at=now + dt.timedelta(days=30),
        description="Ủy ban nhân dân xã muốn biết ý kiến của bà con về giờ phát thanh và nội dung muốn nghe.",
        results=Poll.Results.ALWAYS, vote_rule=Poll.VoteRule.DEVICE,
    )  # fmt: skip
    services.do_add_question(poll, actor=actor, kind="single", text="Buổi phát thanh sáng nên bắt đầu lúc nào?",
                             choices=["5 giờ 30", "6 giờ", "6 giờ 30"])  # fmt: skip
    services.do_add_question(poll, actor=actor, kind="multiple", text="Bà con muốn nghe thêm nội dung gì?",
                             choices=["Thời tiết, thiên tai", "Giá nông sản", "Chính sách, pháp luật", "Y tế"])  # fmt: skip
    services.do_add_question(poll, actor=actor, kind="scale", text="Ở nhà bà con nghe loa có rõ không?",
                             scale_min=1, scale_max=5)  # fmt: skip
    services.do_add_question(poll, actor=actor, kind="text", text="Góp ý khác", required=False)
    services.do_publish(poll, actor=actor)
    return poll
