"""Roles and the actions they allow: the permission table, in one place.

A role is held on a unit and covers that unit's subtree. ``system_admin`` is held on no unit and covers
everything. Actions are strings ``<area>.<verb>``; later issues add their own actions to ``ROLE_ACTIONS``.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    SYSTEM_ADMIN = "system_admin", _("Quản trị hệ thống")
    PROVINCE_ADMIN = "province_admin", _("Quản trị tỉnh")
    EDITOR = "editor", _("Biên tập viên")
    APPROVER = "approver", _("Người duyệt")
    COMMUNE_OPERATOR = "commune_operator", _("Cán bộ vận hành xã")
    TECHNICIAN = "technician", _("Kỹ thuật viên")
    AUDITOR = "auditor", _("Kiểm toán viên")
    VIEWER = "viewer", _("Người xem")


# Roles that must use two-factor authentication (TOTP) before they can do anything.
TWO_FACTOR_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.PROVINCE_ADMIN, Role.APPROVER})

VIEW = "unit.view"
ACTIONS: dict[str, str] = {
    "unit.view": "xem đơn vị và số liệu của đơn vị",
    "unit.manage_zones": "tạo, sửa, xóa thôn/bản/tổ dân phố",
    "user.view": "xem người dùng và vai trò",
    "user.manage": "tạo người dùng, gán và thu hồi vai trò",
    "audit.view": "xem nhật ký kiểm toán",
    "settings.manage": "thay đổi cấu hình đơn vị",
    "token.manage": "tạo và thu hồi mã truy cập API của chính mình",
    "device.view": "xem cụm loa, trạng thái và nhật ký phát",
    "device.manage": "đăng ký, sửa và thu hồi cụm loa",
    "device.control": "gửi lệnh điều khiển tới cụm loa",
    "bulletin.view": "xem bản tin và hộp thư bản tin đến",
    "bulletin.edit": "soạn, sửa, gửi duyệt, hủy và chia sẻ bản tin",
    "bulletin.review": "thẩm định bản tin (bước Ban biên tập)",
    "bulletin.approve": "duyệt bản tin",
    "bulletin.publish": "phát hành bản tin đã duyệt",
    "bulletin.take": "nhận hoặc từ chối bản tin cấp trên gửi xuống",
    "tts.use": "chuyển văn bản thành giọng nói và nghe thử",
    "media.view": "nghe và xem thư viện âm thanh, hình ảnh",
    "media.upload": "tải lên và ghi âm vào thư viện",
    "schedule.view": "xem chương trình, lịch phát, giới hạn phát và nhật ký phát",
    "schedule.edit": "soạn chương trình, đặt và hủy lịch phát",
    "schedule.override": "duyệt lịch phát vượt giới hạn (ghi rõ lý do), đặt giới hạn phát",
    "broadcast.emergency": "phát và hủy phát khẩn cấp",
}

_ALL = frozenset(ACTIONS)
_BULLETIN_EDITOR = frozenset({"bulletin.view", "bulletin.edit", "bulletin.review", "bulletin.publish"})
_BULLETIN_APPROVER = frozenset({"bulletin.view", "bulletin.approve", "bulletin.publish"})
_BULLETIN_OPERATOR = frozenset({"bulletin.view", "bulletin.edit", "bulletin.publish", "bulletin.take"})
_TTS = frozenset({"tts.use"})
_MEDIA = frozenset({"media.view", "media.upload"})
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    Role.SYSTEM_ADMIN: _ALL,
    Role.PROVINCE_ADMIN: _ALL,
    Role.EDITOR: frozenset({"unit.view", "token.manage"}) | _BULLETIN_EDITOR | _TTS | _MEDIA,
    Role.APPROVER: frozenset({"unit.view", "token.manage"}) | _BULLETIN_APPROVER | _TTS | _MEDIA,
    Role.COMMUNE_OPERATOR: frozenset(
        {"unit.view", "unit.manage_zones", "token.manage", "device.view", "device.control"}
    )
    | _BULLETIN_OPERATOR
    | _TTS
    | _MEDIA,
    Role.TECHNICIAN: frozenset({"unit.view", "token.manage", "device.view", "device.manage"}),
    Role.AUDITOR: frozenset(
        {"unit.view", "audit.view", "user.view", "device.view", "bulletin.view", "media.view"}
    ),
    Role.VIEWER: frozenset({"unit.view", "device.view", "bulletin.view", "media.view"}),
}
# Broadcasting: operators schedule, approvers override guardrails and confirm emergencies (DESIGN §1, §4).
for _role, _extra in {
    Role.EDITOR: {"schedule.view"},
    Role.APPROVER: {"schedule.view", "schedule.edit", "schedule.override", "broadcast.emergency"},
    Role.COMMUNE_OPERATOR: {"schedule.view", "schedule.edit"},
    Role.TECHNICIAN: {"schedule.view"},
    Role.AUDITOR: {"schedule.view"},
    Role.VIEWER: {"schedule.view"},
}.items():
    ROLE_ACTIONS[_role] = ROLE_ACTIONS[_role] | frozenset(_extra)


def roles_allowing(action: str) -> frozenset[str]:
    return frozenset(role for role, actions in ROLE_ACTIONS.items() if action in actions)
