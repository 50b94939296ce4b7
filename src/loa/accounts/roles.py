"""Roles and the actions they allow: the permission table, in one place.

A role is held on a unit and covers that unit's subtree. ``system_admin`` is held on no unit and covers
everything. Actions are strings ``<area>.<verb>``; later issues add their own actions to ``ROLE_ACTIONS``.
"""

from __future__ import annotations

from django.db import models
from django.utils.functional import Promise
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
ACTIONS: dict[str, Promise] = {
    "unit.view": _("xem đơn vị và số liệu của đơn vị"),
    "unit.manage_zones": _("tạo, sửa, xóa thôn/bản/tổ dân phố"),
    "user.view": _("xem người dùng và vai trò"),
    "user.manage": _("tạo người dùng, gán và thu hồi vai trò"),
    "audit.view": _("xem nhật ký kiểm toán"),
    "settings.manage": _("thay đổi cấu hình đơn vị"),
    "token.manage": _("tạo và thu hồi mã truy cập API của chính mình"),
    "device.view": _("xem cụm loa, trạng thái và nhật ký phát"),
    "device.manage": _("đăng ký, sửa và thu hồi cụm loa"),
    "device.control": _("gửi lệnh điều khiển tới cụm loa"),
    "bulletin.view": _("xem bản tin và hộp thư bản tin đến"),
    "bulletin.edit": _("soạn, sửa, gửi duyệt, hủy và chia sẻ bản tin"),
    "bulletin.review": _("thẩm định bản tin (bước Ban biên tập)"),
    "bulletin.approve": _("duyệt bản tin"),
    "bulletin.publish": _("phát hành bản tin đã duyệt"),
    "bulletin.take": _("nhận hoặc từ chối bản tin cấp trên gửi xuống"),
    "tts.use": _("chuyển văn bản thành giọng nói và nghe thử"),
    "tts.abbreviations": _("sửa bảng từ viết tắt (cách máy đọc) của đơn vị"),
    "media.view": _("nghe và xem thư viện âm thanh, hình ảnh"),
    "media.upload": _("tải lên và ghi âm vào thư viện"),
    "schedule.view": _("xem chương trình, lịch phát, giới hạn phát và nhật ký phát"),
    "schedule.edit": _("soạn chương trình, đặt và hủy lịch phát"),
    "schedule.override": _("duyệt lịch phát vượt giới hạn (ghi rõ lý do), đặt giới hạn phát"),
    "broadcast.emergency": _("phát và hủy phát khẩn cấp"),
    "poll.view": _("xem cuộc thăm dò ý kiến và kết quả (kể cả câu trả lời tự do), tải kết quả"),
    "poll.manage": _("soạn, công bố và đóng cuộc thăm dò ý kiến"),
    "report.create": _("lập báo cáo định kỳ của đơn vị (xem báo cáo: quyền xem đơn vị)"),
    "feedback.view": _("xem phản ánh, kiến nghị của người dân (không kèm thông tin liên hệ)"),
    "feedback.handle": _("tiếp nhận, phân loại, chuyển, trả lời và công khai trả lời phản ánh"),
    "feedback.personal_data": _("xem số điện thoại, e-mail của người phản ánh (được ghi nhật ký)"),
    "feedback.manage": _("sửa lĩnh vực, quy tắc chuyển xử lý, mẫu trả lời và lịch ngày nghỉ"),
}

_ALL = frozenset(ACTIONS)
_BULLETIN_EDITOR = frozenset({"bulletin.view", "bulletin.edit", "bulletin.review", "bulletin.publish"})
_BULLETIN_APPROVER = frozenset({"bulletin.view", "bulletin.approve", "bulletin.publish"})
_BULLETIN_OPERATOR = frozenset({"bulletin.view", "bulletin.edit", "bulletin.publish", "bulletin.take"})
_TTS = frozenset({"tts.use", "tts.abbreviations"})
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


# Citizens' feedback: the commune's operator handles it and may call the citizen back; others of the unit see it.
for _role, _extra in {
    Role.EDITOR: {"feedback.view"},
    Role.APPROVER: {"feedback.view", "feedback.handle"},
    Role.COMMUNE_OPERATOR: {"feedback.view", "feedback.handle", "feedback.personal_data"},
    Role.AUDITOR: {"feedback.view"},
    Role.VIEWER: {"feedback.view"},
}.items():
    ROLE_ACTIONS[_role] = ROLE_ACTIONS[_role] | frozenset(_extra)


# Periodic reports (issue 12): the commune's operator and the approvers make them; everyone who sees the unit reads them.
for _role in (Role.APPROVER, Role.COMMUNE_OPERATOR):
    ROLE_ACTIONS[_role] = ROLE_ACTIONS[_role] | frozenset({"report.create"})


# Polls (thăm dò ý kiến, issue 10): the commune's operator and the editors run them; everyone of the unit sees them.
for _role, _extra in {
    Role.EDITOR: {"poll.view", "poll.manage"},
    Role.APPROVER: {"poll.view", "poll.manage"},
    Role.COMMUNE_OPERATOR: {"poll.view", "poll.manage"},
    Role.AUDITOR: {"poll.view"},
    Role.VIEWER: {"poll.view"},
}.items():
    ROLE_ACTIONS[_role] = ROLE_ACTIONS[_role] | frozenset(_extra)


def roles_allowing(action: str) -> frozenset[str]:
    return frozenset(role for role, actions in ROLE_ACTIONS.items() if action in actions)
