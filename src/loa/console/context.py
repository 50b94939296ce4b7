"""Template context shared by every console page: navigation and the unit picker."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from loa.accounts.access import scope_roots

NAVIGATION = [
    ("dashboard", _("Tổng quan"), reverse_lazy("console:dashboard")),
    ("units", _("Đơn vị"), reverse_lazy("console:units")),
    ("bulletins", _("Bản tin"), reverse_lazy("content:library")),
    ("bulletin_inbox", _("Hộp thư bản tin"), reverse_lazy("content:inbox")),
    ("bulletin_approvals", _("Chờ duyệt"), reverse_lazy("content:approvals")),
    ("media", _("Thư viện âm thanh"), reverse_lazy("media:library")),
    ("loudspeakers", _("Cụm loa"), reverse_lazy("fleet:list")),
    ("schedules", _("Lịch phát"), reverse_lazy("broadcast:overview")),
    ("boards", _("Bảng tin điện tử"), reverse_lazy("console:area", args=["boards"])),
    ("citizens", _("Người dân"), reverse_lazy("console:area", args=["citizens"])),
    ("reports", _("Báo cáo"), reverse_lazy("console:area", args=["reports"])),
    ("users", _("Người dùng"), reverse_lazy("console:users")),
    ("audit", _("Nhật ký"), reverse_lazy("console:audit")),
]


def console(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from loa.console.current import current_unit
    from loa.units.models import Level

    unit = current_unit(request)
    picker = list(scope_roots(user))
    if unit is not None:
        for u in [*unit.ancestors(), unit]:
            if u not in picker and any(u.is_within(r) for r in picker):
                picker.append(u)
        if unit.level == Level.PROVINCE:
            picker += [c for c in unit.children.filter(is_active=True).order_by("name") if c not in picker]
    return {"nav_items": NAVIGATION, "picker_units": picker, "current_unit": unit}
