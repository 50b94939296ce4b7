"""One table of the words shown for stored or protocol values (play results, reason codes, device state, power,
link, who started a play), so that no console page prints ``idle``, ``mains`` or ``outside_window``.

The Vietnamese label is the msgid; the English one comes from the catalogue (src/loa/locale/en). Templates use the
``label`` filter (``{% load loa_labels %}{{ value|label:"power" }}``); Python code calls :func:`label`. An unknown
value is shown as it is (so a new protocol code is visible, never hidden) — add it here.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

LABELS: dict[str, dict[str, Promise]] = {
    # the result of one planned play on one cluster (proof of play)
    "play_status": {
        "played": _("đã phát"),
        "partly": _("phát một phần"),
        "missed": _("không phát"),
        "pending": _("chưa tới giờ"),
        "playing": _("đang phát"),
    },
    # planned versus shown on e-bulletin boards (loa.signage.plan)
    "display_status": {
        "played": _("đã hiển thị"),
        "partly": _("hiển thị một phần"),
        "missed": _("không hiển thị"),
        "pending": _("chưa tới giờ"),
    },
    # why a play was missed or cut short: play-log and command-ack reason codes of the device protocol
    # (loa_agent.core, loa_protocol.signing) and the server's own conclusions
    "reason": {
        "outside_window": _("ngoài khung giờ cho phép"),
        "window_closed": _("hết khung giờ của mục"),
        "preempted": _("bị phát khẩn cấp/ưu tiên chen ngang"),
        "offline": _("cụm loa mất kết nối"),
        "no_report": _("không có nhật ký phát"),
        "stopped": _("bị dừng"),
        "cancelled": _("đã hủy phát"),
        "media_missing": _("thiếu tệp âm thanh"),
        "live_busy": _("đang phát trực tiếp, không nhận thêm"),
        "stream_url_invalid": _("địa chỉ tiếp sóng không hợp lệ"),
        "expired": _("lệnh đã hết hạn"),
        "not_delivered": _("lệnh không tới được cụm loa trước khi hết hạn"),
        "unsigned": _("lệnh không có chữ ký số"),
        "bad_signature": _("chữ ký số không hợp lệ"),
        "not_yet_valid": _("giờ của cụm loa sai lệch"),
        "replayed": _("lệnh bị gửi lại"),
        "wrong_topic": _("lệnh đến sai kênh"),
        "wrong_device": _("lịch của cụm loa khác"),
        "stale_manifest": _("lịch phát cũ"),
        "before_enrolment": _("lệnh có từ trước khi cụm loa đăng ký"),
        "unsupported_version": _("phiên bản giao thức không được hỗ trợ"),
        "invalid": _("lệnh không hợp lệ"),
        "interrupted": _("bị ngắt giữa chừng"),
        "incomplete": _("chưa phát đủ (thiếu lần lặp hoặc chưa báo hết)"),
        "error": _("lỗi khi phát"),
        "refused": _("cụm loa từ chối"),
        "failed": _("cụm loa báo lỗi"),
        "next": _("người điều khiển chuyển bài"),
        "resumed": _("phát tiếp sau khi bị ngắt"),
        "repeat": _("lần phát lặp"),
        "too_large": _("lệnh quá lớn"),
        "malformed_json": _("lệnh hỏng"),
        "download_failed": _("không tải được tệp âm thanh"),
        "sha256_mismatch": _("tệp âm thanh tải về bị sai"),
        "media_forbidden": _("không được phép tải tệp âm thanh"),
        "not_supported": _("thiết bị không hỗ trợ lệnh này"),
        "unknown": _("lý do không rõ"),
    },
    # who or what started a play
    "origin": {
        "schedule": _("Theo lịch"),
        "play_now": _("Phát ngay"),
        "province_auto": _("Tỉnh phát tự động"),
        "emergency": _("Phát khẩn cấp"),
        "system": _("Hệ thống tự động"),
    },
    # a device's status report (loa_protocol.messages.Status)
    # what a board's screen is doing (its heartbeat, docs/fleet.md "Boards")
    "screen": {
        "on": _("màn hình bật"),
        "off": _("màn hình tắt"),
        "black": _("màn hình đen (ngắt khẩn cấp)"),
    },
    "device_state": {
        "idle": _("đang nghỉ"),
        "playing": _("đang phát"),
        "paused": _("tạm dừng"),
        "live": _("đang phát trực tiếp"),
        "relay": _("đang tiếp sóng"),
        "stopped": _("đã dừng"),
        "error": _("lỗi"),
        "unknown": _("không rõ"),
    },
    "power": {
        "mains": _("điện lưới"),
        "battery": _("pin"),
        "solar": _("năng lượng mặt trời"),
        "unknown": _("không rõ"),
    },
    "link": {
        "ethernet": _("cáp mạng"),
        "wifi": _("Wi-Fi"),
        "4g": _("4G"),
        "3g": _("3G"),
        "fm": _("FM"),
        "unknown": _("không rõ"),
    },
    # a command's delivery to one cluster (fleet.models.DeliveryState)
    "delivery": {
        "pending": _("Chờ gửi"),
        "sent": _("Đã gửi"),
        "received": _("Thiết bị đã nhận"),
        "done": _("Đã thực hiện"),
        "refused": _("Thiết bị từ chối"),
        "failed": _("Thất bại"),
        "expired": _("Hết hạn"),
    },
    # play-log event kinds (start/end/…), as a device reports them
    "playlog_kind": {
        "start": _("bắt đầu"),
        "end": _("kết thúc"),
        "interrupted": _("bị ngắt"),
        "refused": _("từ chối"),
        "error": _("lỗi"),
    },
}


def reason_code(raw: str) -> str:
    """The table key of a raw reason: ``preempted_by:em-1`` → ``preempted``, ``invalid: …`` → ``invalid``."""
    raw = (raw or "").strip()
    if raw.startswith("preempted"):
        return "preempted"
    return raw.replace(" ", ":", 1).split(":", 1)[0].strip()


def label(value: object, table: str) -> str:
    """The word shown for ``value`` in ``table`` (in the active language); the value itself if unknown."""
    text = "" if value is None else str(value)
    if table == "reason":
        text = reason_code(text)
    found = LABELS[table].get(text)
    return str(found) if found is not None else text
