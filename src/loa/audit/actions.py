"""The audit actions: every name that :func:`loa.audit.log.record` accepts, declared once with its label.

A label is Vietnamese source text marked for translation in the context "audit action" (there "Đăng nhập" is
"Signed in", not "Sign in"); :func:`label` gives it in the reader's language.
``record()`` refuses a name that is not declared here, and a test checks that every ``do_*`` function records a
declared action, so a new state change cannot write an entry that the audit page cannot name.

To add an action: add one line ``register("domain.verb_past", pgettext_lazy("audit action", "Vietnamese label"))``
to the domain's block below, use the same name in ``record()``, and give the label an English translation in the
catalogue (the context must be written out literally, or ``makemessages`` cannot find it).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy


class UnknownAuditAction(LookupError):
    """``record()`` was called with a name that is not declared in this module (a programming error)."""


_ACTIONS: dict[str, Promise] = {}
ACTIONS: Mapping[str, Promise] = MappingProxyType(_ACTIONS)


def register(name: str, label: Promise) -> str:
    """Declare an audit action with its label, ``pgettext_lazy("audit action", "…")``; returns the name."""
    if not name or name != name.strip() or "." not in name or len(name) > 64:
        raise ValueError(f"audit action names look like 'domain.verb' (at most 64 characters): {name!r}")
    if name in _ACTIONS and str(_ACTIONS[name]) != str(label):
        raise ValueError(f"audit action {name!r} is declared twice with different labels")
    _ACTIONS[name] = label
    return name


def is_registered(name: str) -> bool:
    return name in _ACTIONS


def check_registered(name: str) -> str:
    if name not in _ACTIONS:
        raise UnknownAuditAction(
            f"audit action {name!r} is not declared in loa/audit/actions.py; add it with register(name, label)"
        )
    return name


def label(name: str) -> str:
    """The action's label in the active language; an unknown (historical) name is shown as it is."""
    text = _ACTIONS.get(name)
    return str(text) if text is not None else name


# ---- accounts: sign-in, users, roles, tokens --------------------------------------------------------------
register("auth.login", pgettext_lazy("audit action", "Đăng nhập"))
register("auth.login_failed", pgettext_lazy("audit action", "Đăng nhập thất bại"))
register("auth.locked_out", pgettext_lazy("audit action", "Tài khoản bị tạm khóa do đăng nhập sai nhiều lần"))
register("auth.logout", pgettext_lazy("audit action", "Đăng xuất"))
register("auth.password_changed", pgettext_lazy("audit action", "Đổi mật khẩu"))
register("auth.2fa_enrolled", pgettext_lazy("audit action", "Bật xác thực hai bước"))
register("auth.2fa_verified", pgettext_lazy("audit action", "Xác thực hai bước thành công"))
register("auth.2fa_failed", pgettext_lazy("audit action", "Xác thực hai bước thất bại"))
register("user.created", pgettext_lazy("audit action", "Tạo người dùng"))
register("role.granted", pgettext_lazy("audit action", "Giao vai trò"))
register("role.revoked", pgettext_lazy("audit action", "Thu hồi vai trò"))
register("token.created", pgettext_lazy("audit action", "Tạo mã truy cập API"))
register("token.revoked", pgettext_lazy("audit action", "Thu hồi mã truy cập API"))
register("token.revoked_all", pgettext_lazy("audit action", "Thu hồi mọi mã truy cập API của người dùng"))

# ---- Django admin (back office) ----------------------------------------------------------------------------
register("admin.add", pgettext_lazy("audit action", "Quản trị: thêm"))
register("admin.change", pgettext_lazy("audit action", "Quản trị: sửa"))
register("admin.delete", pgettext_lazy("audit action", "Quản trị: xóa"))

# ---- units and settings --------------------------------------------------------------------------------
register("unit.catalogue_imported", pgettext_lazy("audit action", "Nhập danh mục đơn vị hành chính"))
register("unit.legacy_imported", pgettext_lazy("audit action", "Nhập danh mục đơn vị hành chính cũ"))
register("unit.zone_created", pgettext_lazy("audit action", "Tạo thôn, tổ dân phố"))
register("unit.zone_updated", pgettext_lazy("audit action", "Sửa thôn, tổ dân phố"))
register("unit.zone_deactivated", pgettext_lazy("audit action", "Ngừng sử dụng thôn, tổ dân phố"))
register("settings.changed", pgettext_lazy("audit action", "Đổi cấu hình đơn vị"))

# ---- media and speech ----------------------------------------------------------------------------------
register("media.ingested", pgettext_lazy("audit action", "Tải lên tệp media"))
register("media.storage_full", pgettext_lazy("audit action", "Máy chủ hết dung lượng lưu trữ"))
register("tts.synthesized", pgettext_lazy("audit action", "Chuyển văn bản thành giọng nói"))
register("tts.abbreviation_saved", pgettext_lazy("audit action", "Lưu từ viết tắt của đơn vị"))
register("tts.abbreviation_deleted", pgettext_lazy("audit action", "Xóa từ viết tắt của đơn vị"))

# ---- bulletins (content) -------------------------------------------------------------------------------
register("bulletin.created", pgettext_lazy("audit action", "Tạo bản tin"))
register("bulletin.updated", pgettext_lazy("audit action", "Sửa bản tin"))
register("bulletin.commented", pgettext_lazy("audit action", "Góp ý bản tin"))
register("bulletin.attached", pgettext_lazy("audit action", "Đính kèm tệp vào bản tin"))
register("bulletin.detached", pgettext_lazy("audit action", "Gỡ tệp đính kèm khỏi bản tin"))
register("bulletin.policy_changed", pgettext_lazy("audit action", "Đổi quy trình duyệt bản tin"))
register("bulletin.shared_up", pgettext_lazy("audit action", "Gửi bản tin lên cấp trên"))
# one per workflow transition (content workflow table): ``bulletin.<transition>``
register("bulletin.submit", pgettext_lazy("audit action", "Gửi duyệt bản tin"))
register("bulletin.withdraw", pgettext_lazy("audit action", "Rút lại bản tin để sửa"))
register("bulletin.approve", pgettext_lazy("audit action", "Duyệt bản tin"))
register("bulletin.reject", pgettext_lazy("audit action", "Trả lại bản tin"))
register("bulletin.publish", pgettext_lazy("audit action", "Phát hành bản tin"))
register("bulletin.cancel", pgettext_lazy("audit action", "Hủy bản tin"))
register("bulletin.return_to_review", pgettext_lazy("audit action", "Bản tin trở lại chờ duyệt sau khi sửa"))
register("bulletin.expire", pgettext_lazy("audit action", "Bản tin hết hiệu lực"))
# one per inbox transition: ``bulletin.feed_<transition>``
register("bulletin.feed_take", pgettext_lazy("audit action", "Nhận bản tin từ hộp thư"))
register("bulletin.feed_decline", pgettext_lazy("audit action", "Từ chối bản tin trong hộp thư"))
# a province priority bulletin's hand-off to a commune (loa.broadcast.handoffs), by the system
register(
    "bulletin.feed_inserted",
    pgettext_lazy("audit action", "Tự động chèn bản tin ưu tiên vào các cụm loa của xã"),
)
register(
    "bulletin.feed_not_inserted", pgettext_lazy("audit action", "Không chèn tự động được bản tin ưu tiên")
)

# ---- broadcast -----------------------------------------------------------------------------------------
register("broadcast.relay_source_added", pgettext_lazy("audit action", "Thêm nguồn tiếp sóng"))
register("broadcast.programme_created", pgettext_lazy("audit action", "Tạo chương trình phát"))
register("broadcast.programme_approved", pgettext_lazy("audit action", "Duyệt chương trình phát"))
register("broadcast.programme_rejected", pgettext_lazy("audit action", "Trả lại chương trình phát"))
register("broadcast.guardrails_changed", pgettext_lazy("audit action", "Đổi giới hạn phát của đơn vị"))
register("broadcast.schedule_created", pgettext_lazy("audit action", "Tạo lịch phát"))
register("broadcast.schedule_override", pgettext_lazy("audit action", "Duyệt lịch phát vượt giới hạn"))
register("broadcast.schedule_cancelled", pgettext_lazy("audit action", "Hủy lịch phát"))
register("broadcast.emergency_started", pgettext_lazy("audit action", "Phát khẩn cấp"))
register("broadcast.emergency_cancelled", pgettext_lazy("audit action", "Hủy phát khẩn cấp"))
register("signage.slide_created", pgettext_lazy("audit action", "Tạo trang trình chiếu bảng tin"))
register("signage.playlist_created", pgettext_lazy("audit action", "Tạo danh sách trình chiếu bảng tin"))
register("signage.screen_windows_changed", pgettext_lazy("audit action", "Đặt giờ bật màn hình bảng tin"))
register("signage.led_rendered", pgettext_lazy("audit action", "Dựng tệp phát cho bộ điều khiển bảng LED"))

# ---- alerts to citizens (Web Push) ---------------------------------------------------------------------
register("alerts.pushed", pgettext_lazy("audit action", "Gửi cảnh báo khẩn cấp qua Web Push"))
register("alerts.cancel_pushed", pgettext_lazy("audit action", "Gửi thông báo hủy cảnh báo qua Web Push"))
register("alerts.vapid_rotated", pgettext_lazy("audit action", "Thay khóa VAPID của thông báo đẩy"))
register("alerts.subscribed", pgettext_lazy("audit action", "Người dân đăng ký nhận cảnh báo qua Web Push"))
register("alerts.unsubscribed", pgettext_lazy("audit action", "Người dân hủy nhận cảnh báo qua Web Push"))

# ---- polls (thăm dò ý kiến) ------------------------------------------------------------------------------
register("polls.created", pgettext_lazy("audit action", "Tạo cuộc thăm dò ý kiến"))
register("polls.updated", pgettext_lazy("audit action", "Sửa cuộc thăm dò ý kiến"))
register("polls.opened", pgettext_lazy("audit action", "Mở cuộc thăm dò ý kiến"))
register("polls.closed", pgettext_lazy("audit action", "Đóng cuộc thăm dò ý kiến"))
register("polls.exported", pgettext_lazy("audit action", "Tải kết quả thăm dò ý kiến"))
register("polls.code_sent", pgettext_lazy("audit action", "Gửi mã xác minh để trả lời thăm dò ý kiến"))
register("polls.ballot_cast", pgettext_lazy("audit action", "Người dân trả lời thăm dò ý kiến"))

# ---- fleet (devices) -----------------------------------------------------------------------------------
register("fleet.enrolment_code_created", pgettext_lazy("audit action", "Tạo mã đăng ký thiết bị"))
register("fleet.enrolment_code_cancelled", pgettext_lazy("audit action", "Hủy mã đăng ký thiết bị"))
register("fleet.enrolment_failed", pgettext_lazy("audit action", "Đăng ký thiết bị thất bại"))
register("fleet.device_enrolled", pgettext_lazy("audit action", "Đăng ký thiết bị"))
register("fleet.device_reenrolled", pgettext_lazy("audit action", "Đăng ký lại thiết bị"))
register("fleet.device_provisioned", pgettext_lazy("audit action", "Cấp phát thiết bị"))
register("fleet.device_revoked", pgettext_lazy("audit action", "Thu hồi thiết bị"))
register("fleet.device_updated", pgettext_lazy("audit action", "Sửa thông tin thiết bị"))
register("fleet.command_sent", pgettext_lazy("audit action", "Gửi lệnh tới thiết bị"))
register("fleet.board_screen_updated", pgettext_lazy("audit action", "Sửa màn hình bảng tin"))
register("fleet.device_photo_added", pgettext_lazy("audit action", "Thêm ảnh lắp đặt thiết bị"))
register("fleet.device_photo_removed", pgettext_lazy("audit action", "Xóa ảnh lắp đặt thiết bị"))
register("fleet.kill_switch_engaged", pgettext_lazy("audit action", "Ngắt khẩn cấp bảng tin"))
register("fleet.kill_switch_released", pgettext_lazy("audit action", "Gỡ ngắt khẩn cấp bảng tin"))
register(
    "fleet.screen_mismatch_raised",
    pgettext_lazy("audit action", "Báo động: bảng tin hiển thị nội dung không có trong lịch phát"),
)
register("fleet.screen_mismatch_cleared", pgettext_lazy("audit action", "Hết báo động sai nội dung bảng tin"))

# ---- analytics -----------------------------------------------------------------------------------------
register("analytics.report_requested", pgettext_lazy("audit action", "Lập báo cáo định kỳ"))

# ---- demo data ----------------------------------------------------------------------------------------
register("demo.seeded", pgettext_lazy("audit action", "Tạo dữ liệu trình diễn"))

# ---- citizens' feedback (phản ánh, kiến nghị) -----------------------------------------------------------
register("feedback.submitted", pgettext_lazy("audit action", "Người dân gửi phản ánh"))
register("feedback.acknowledged", pgettext_lazy("audit action", "Tiếp nhận phản ánh"))
register("feedback.classified", pgettext_lazy("audit action", "Phân loại phản ánh"))
register("feedback.assigned", pgettext_lazy("audit action", "Chuyển phản ánh cho đơn vị xử lý"))
register("feedback.in_progress", pgettext_lazy("audit action", "Bắt đầu xử lý phản ánh"))
register("feedback.answered", pgettext_lazy("audit action", "Trả lời phản ánh"))
register("feedback.published", pgettext_lazy("audit action", "Công khai trả lời phản ánh"))
register("feedback.closed", pgettext_lazy("audit action", "Đóng phản ánh"))
register("feedback.not_fixable", pgettext_lazy("audit action", "Đóng phản ánh không xử lý được"))
register("feedback.note_added", pgettext_lazy("audit action", "Ghi chú nội bộ vào phản ánh"))
register("feedback.contact_viewed", pgettext_lazy("audit action", "Xem thông tin liên hệ của người phản ánh"))
register("feedback.code_sent", pgettext_lazy("audit action", "Gửi mã xác minh liên hệ của người phản ánh"))
register("feedback.contact_verified", pgettext_lazy("audit action", "Xác minh liên hệ của người phản ánh"))
register("feedback.rated", pgettext_lazy("audit action", "Người dân đánh giá trả lời"))
register("feedback.reopened", pgettext_lazy("audit action", "Người dân mở lại phản ánh"))
register("feedback.reminded", pgettext_lazy("audit action", "Nhắc hạn xử lý phản ánh"))
register("feedback.escalated", pgettext_lazy("audit action", "Chuyển phản ánh quá hạn lên cấp trên"))
register("feedback.exported", pgettext_lazy("audit action", "Người dân tải dữ liệu phản ánh của mình"))
register("feedback.erased", pgettext_lazy("audit action", "Xóa dữ liệu cá nhân của phản ánh"))
register("feedback.settings_changed", pgettext_lazy("audit action", "Đổi cấu hình phản ánh"))
register("feedback.push_followed", pgettext_lazy("audit action", "Người gửi bật thông báo về phản ánh"))
register("feedback.push_unfollowed", pgettext_lazy("audit action", "Người gửi tắt thông báo về phản ánh"))
register("feedback.pushed", pgettext_lazy("audit action", "Báo cho người gửi phản ánh qua Web Push"))
register("feedback.photos_viewed", pgettext_lazy("audit action", "Xem ảnh người dân gửi kèm phản ánh"))
