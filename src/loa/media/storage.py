"""Out of space is a state, not a corrupt file (issue 21, item 6).

Work that writes into the media store (uploads, speech, audio processing) first checks that the store's file system
keeps ``LOA_MEDIA_MIN_FREE_BYTES`` free after it (:func:`check_free_space`); a write that still fails with ENOSPC
(or EDQUOT) is classified (:func:`classify`) as :class:`StorageFull` — code ``storage_full``, HTTP 507, "Máy chủ hết
dung lượng lưu trữ" — instead of the file being called corrupt. Each refusal raises the administrator's alarm
(:func:`alarm`): one ERROR log line and one audit entry ``media.storage_full``, at most once per
``ALARM_EVERY`` while the store stays full. Nothing half-written is kept: the callers remove partial files.
"""

from __future__ import annotations

import errno
import logging
import shutil
import threading
import time
from pathlib import Path

from loa.errors import Refusal

log = logging.getLogger(__name__)

DEFAULT_MIN_FREE_BYTES = 512 * 1024 * 1024
ALARM_EVERY_S = 3600.0
FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)

_lock = threading.Lock()
_last_alarm: dict[str, float] = {}


class StorageFull(Refusal):
    """The media store has no room for this work. Not the operator's fault: their file is fine."""

    status = 507

    def __init__(self, free_bytes: int | None = None) -> None:
        free = (
            f" (còn trống {_mb(free_bytes)}, cần giữ ít nhất {_mb(min_free_bytes())})"
            if free_bytes is not None
            else ""
        )
        super().__init__(
            "storage_full",
            f"Máy chủ hết dung lượng lưu trữ{free}: tệp của bạn không bị lỗi nhưng chưa lưu được. "
            "Quản trị viên đã được báo; hãy thử lại sau khi dung lượng được giải phóng.",
        )
        self.free_bytes = free_bytes


def _mb(n: int | None) -> str:
    """Megabytes written the Vietnamese way: 78.977,1 MB."""
    if n is None:
        return "?"
    number = f"{n / (1024 * 1024):,.1f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"{number} MB"


def min_free_bytes() -> int:
    from django.conf import settings

    return int(getattr(settings, "LOA_MEDIA_MIN_FREE_BYTES", DEFAULT_MIN_FREE_BYTES))


def free_bytes(path: Path) -> int:
    """Free bytes for an unprivileged writer on the file system of ``path`` (its nearest existing parent)."""
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def store_is_full(root: Path) -> bool:
    """Whether the store at ``root`` is below ``LOA_MEDIA_MIN_FREE_BYTES`` (uploads, speech and processing are
    refused): for the pages that say so before anyone tries."""
    try:
        return free_bytes(root) < min_free_bytes()
    except OSError:
        return False


def check_free_space(path: Path, needed: int = 0) -> None:
    """Raise :class:`StorageFull` (and raise the alarm) unless ``needed`` bytes can be written under ``path`` and
    ``LOA_MEDIA_MIN_FREE_BYTES`` still stay free."""
    free = free_bytes(path)
    if free - max(0, needed) < min_free_bytes():
        raise alarm(path, StorageFull(free))


def is_full_error(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in FULL_ERRNOS


def classify(exc: BaseException, path: Path, needed: int = 0) -> BaseException:
    """The refusal to raise for a failed write under ``path``: :class:`StorageFull` when it was ENOSPC/EDQUOT or
    when the file system is (now) below the minimum with ``needed`` bytes, else ``exc`` itself."""
    if isinstance(exc, StorageFull):
        return exc
    try:
        free = free_bytes(path)
    except OSError:
        free = None
    if is_full_error(exc) or (free is not None and free - max(0, needed) < min_free_bytes()):
        return alarm(path, StorageFull(free))
    return exc


def alarm(path: Path, refusal: StorageFull) -> StorageFull:
    """Tell the administrator, once per ``ALARM_EVERY_S`` per process: an ERROR log line and an audit entry."""
    key = str(path)
    now = time.monotonic()
    with _lock:
        last = _last_alarm.get(key)
        if last is not None and now - last < ALARM_EVERY_S:
            return refusal
        _last_alarm[key] = now
    log.error(
        "Máy chủ hết dung lượng lưu trữ: %s còn trống %s (tối thiểu LOA_MEDIA_MIN_FREE_BYTES = %s); "
        "tải lên, giọng đọc và xử lý âm thanh bị từ chối cho tới khi giải phóng dung lượng",
        path,
        _mb(refusal.free_bytes),
        _mb(min_free_bytes()),
    )
    try:
        from loa.audit.log import record

        record(
            "media.storage_full",
            message=f"Máy chủ hết dung lượng lưu trữ: {path} còn trống {_mb(refusal.free_bytes)}",
            data={"path": str(path), "free_bytes": refusal.free_bytes, "min_free_bytes": min_free_bytes()},
        )
    except Exception:  # the alarm must never hide the refusal (the audit table may be on the full disk too)
        log.exception("không ghi được nhật ký kiểm toán về việc hết dung lượng")
    return refusal


def reset_alarms() -> None:
    """Forget the alarms already raised (tests)."""
    with _lock:
        _last_alarm.clear()
