"""Template context shared by every console page: navigation and the unit picker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse_lazy
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from loa.accounts.access import access_anywhere, access_unit, scope_roots
from loa.console.gateway_state import gateway_trouble
from loa.errors import Refusal
from loa.units.models import Unit


@dataclass(frozen=True)
class NavItem:
    """A menu entry, shown to whoever passes the check its page makes: ``access_unit`` on the unit the console
    is looking at (``on_unit``), else ``access_anywhere`` (the action on some unit). Any of ``actions`` will do."""

    key: str
    label: Promise
    url: Promise
    actions: tuple[str, ...]
    on_unit: bool = False

    def allowed(self, user: Any, unit: Unit | None) -> bool:
        for action in self.actions:
            try:
                if self.on_unit:
                    access_unit(user, unit, action)
                else:
                    access_anywhere(user, action)
            except Refusal:
                continue
            return True
        return False


# Only modules that exist: e-bulletin boards, citizens and reports join the menu when they are built.
NAVIGATION = [
    NavItem("dashboard", _("Tổng quan"), reverse_lazy("console:dashboard"), ("unit.view",), on_unit=True),
    NavItem("units", _("Đơn vị"), reverse_lazy("console:units"), ("unit.view",)),
    NavItem("bulletins", _("Bản tin"), reverse_lazy("content:library"), ("bulletin.view",)),
    NavItem(
        "bulletin_inbox",
        _("Hộp thư bản tin"),
        reverse_lazy("content:inbox"),
        ("bulletin.view",),
        on_unit=True,
    ),
    NavItem(
        "bulletin_approvals",
        _("Chờ duyệt"),
        reverse_lazy("content:approvals"),
        ("bulletin.approve", "bulletin.review"),
    ),
    NavItem("media", _("Thư viện âm thanh"), reverse_lazy("media:library"), ("media.view",)),
    NavItem("loudspeakers", _("Cụm loa"), reverse_lazy("fleet:list"), ("device.view",)),
    NavItem(
        "schedules", _("Lịch phát"), reverse_lazy("broadcast:overview"), ("schedule.view",), on_unit=True
    ),
    NavItem("boards", _("Bảng tin điện tử"), reverse_lazy("signage:index"), ("schedule.view",), on_unit=True),
    NavItem("feedback", _("Phản ánh"), reverse_lazy("feedback:queue"), ("feedback.view",), on_unit=True),
    NavItem("polls", _("Thăm dò ý kiến"), reverse_lazy("polls:list"), ("poll.view",), on_unit=True),
    NavItem("analytics", _("Thống kê"), reverse_lazy("analytics:overview"), ("unit.view",), on_unit=True),
    NavItem("users", _("Người dùng"), reverse_lazy("console:users"), ("user.view",)),
    NavItem("audit", _("Nhật ký"), reverse_lazy("console:audit"), ("audit.view",)),
    NavItem("tokens", _("Mã truy cập API"), reverse_lazy("console:tokens"), ("token.manage",)),
    NavItem("api_docs", _("Tài liệu API"), reverse_lazy("api:openapi-view"), ("token.manage",)),
]


# Links inside a module (its tabs) that are not in the menu, with the check of the page each opens.
LINKS = [
    NavItem("fleet_commands", _("Lệnh đã gửi"), reverse_lazy("fleet:commands"), ("device.view",)),
    NavItem("fleet_command_new", _("Gửi lệnh"), reverse_lazy("fleet:command_new"), ("device.control",)),
    NavItem("fleet_enrolment", _("Đăng ký cụm loa"), reverse_lazy("fleet:enrolment"), ("device.manage",)),
    NavItem(
        "schedule_new",
        _("Đặt lịch"),
        reverse_lazy("broadcast:schedule_new"),
        ("schedule.edit",),
        on_unit=True,
    ),
    NavItem(
        "tts_abbreviations",
        _("Từ viết tắt"),
        reverse_lazy("tts:abbreviations"),
        ("tts.abbreviations",),
        on_unit=True,
    ),
    NavItem(
        "emergency_new",
        _("Phát khẩn cấp"),
        reverse_lazy("broadcast:emergency_new"),
        ("broadcast.emergency",),
        on_unit=True,
    ),
]


def nav_items(user: Any, unit: Unit | None) -> list[tuple[str, Promise, Promise]]:
    """The menu of ``user``: (key, label, url) of every entry whose page they may open."""
    return [(i.key, i.label, i.url) for i in NAVIGATION if i.allowed(user, unit)]


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
    items = nav_items(user, unit)
    return {
        "nav_items": items,
        # the keys of the pages the user may open, for the pages' own links (cards, tabs)
        "nav_allowed": {key for key, _label, _url in items} | {i.key for i in LINKS if i.allowed(user, unit)},
        "picker_units": picker,
        "current_unit": unit,
        # called only by a page that shows the gateway's banner (the loudspeaker pages): one query there
        "gateway_trouble": gateway_trouble,
    }
