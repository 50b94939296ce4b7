"""'Giới hạn phát' on the unit's settings (issue 19, item 7): each field explained, the inherited value and who set
it, saving through the guardrail service (tightening only below the province) with an audit entry."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.test import Client

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.broadcast.compile import effective_limits
from loa.units.models import Unit

FORM = {"windows": "", "max_sessions_per_day": "", "max_days_per_week": "", "max_minutes_per_session": "",
        "max_volume": "", "allowed_weekdays": ["0", "1", "2", "3", "4", "5", "6"]}  # fmt: skip


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_officer_sets_limits_on_a_screen(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    province, commune = tree["province"], tree["a"]
    admin = client_for(make_user("Trần Văn Tỉnh", Role.PROVINCE_ADMIN, province))
    r = admin.post(
        f"/broadcast/limits/{province.code}/", {**FORM, "windows": "05:00-22:00", "max_volume": "90"}
    )
    assert r.status_code == 302, r.content.decode()[:500]

    approver = client_for(make_user("chu.tich", Role.APPROVER, commune))
    unit_page = approver.get(f"/units/{commune.code}/").content.decode()
    assert f'href="/broadcast/limits/{commune.code}/"' in unit_page, "reached from the unit's settings"
    page = _text(approver.get(f"/broadcast/limits/{commune.code}/").content.decode())
    assert "Khung giờ được phát" in page and "Ngoài các khung giờ này loa im lặng" in page, (
        "each field explained"
    )
    assert "theo tỉnh Quảng Ninh: 05:00–22:00" in page
    assert "Trần Văn Tỉnh đặt ngày" in page, "who set the inherited value"
    assert "theo tỉnh Quảng Ninh: 90" in page

    r = approver.post(
        f"/broadcast/limits/{commune.code}/", {**FORM, "windows": "06:00-21:00", "max_volume": "70",
                                               "max_minutes_per_session": "30"},
    )  # fmt: skip
    assert r.status_code == 302
    limits = effective_limits(commune)
    assert limits.max_volume == 70 and limits.max_minutes_per_session == 30
    assert limits.windows == ((6 * 60, 21 * 60),)
    entry = AuditEntry.objects.filter(action="broadcast.guardrails_changed", unit_code=commune.code).get()
    assert entry.actor is not None and entry.actor.username == "chu.tich"

    loosen = approver.post(f"/broadcast/limits/{commune.code}/", {**FORM, "windows": "04:00-23:00"})
    assert loosen.status_code == 400
    assert "chặt hơn cấp trên" in loosen.content.decode()
    assert 'value="04:00-23:00"' in loosen.content.decode(), "what was typed stays in the form"
    assert effective_limits(commune).windows == ((6 * 60, 21 * 60),), "nothing changed"

    operator = client_for(make_user("van.hanh", Role.COMMUNE_OPERATOR, commune))
    seen = operator.get(f"/broadcast/limits/{commune.code}/")
    assert seen.status_code == 200 and "Lưu giới hạn phát" not in seen.content.decode()
    assert (
        operator.post(f"/broadcast/limits/{commune.code}/", {**FORM, "max_volume": "10"}).status_code == 403
    )
    other = client_for(make_user("xa.khac", Role.APPROVER, tree["b"]))
    assert other.get(f"/broadcast/limits/{commune.code}/").status_code == 404
