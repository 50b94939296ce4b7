"""Personal data of feedback under Law 91/2025/QH15: the consent text, the citizen's export and deletion from the
tracking link, and the retention job.

Erasing empties every field that can say who the citizen is or where they live (text, address, pin, contact,
photos and their files, the keyed address hash) and keeps what statistics need (commune, category, dates, status,
rating). The tracking link then answers "đã xoá" and the public page of the answer is gone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy

from loa.audit.log import record
from loa.citizen.feedback_photos import remove_photo_file
from loa.citizen.models import ContactCode, Feedback, FeedbackEvent, FeedbackPush, Status

CONSENT_PURPOSE = gettext_lazy(
    "Thông tin bạn gửi (nội dung, ảnh, vị trí và số điện thoại hoặc e-mail nếu bạn ghi) chỉ dùng để cơ quan có "
    "thẩm quyền tiếp nhận, xử lý, trả lời phản ánh này và liên hệ lại với bạn khi cần. Số điện thoại, e-mail không "
    "bao giờ được công khai; chỉ cán bộ được giao xử lý mới xem được và mỗi lần xem đều được ghi nhật ký. Ảnh được "
    "xoá thông tin vị trí, thiết bị (EXIF) ngay khi nhận; vị trí duy nhất được lưu là điểm bạn chấm trên bản đồ. "
    "Khi trả lời được công khai, chỉ nội dung phản ánh (cán bộ có thể lược bớt thông tin riêng) và câu trả lời "
    "được đăng, không kèm ảnh và thông tin liên hệ. Dữ liệu cá nhân được xoá sau thời hạn lưu trữ của lĩnh vực "
    "(tính từ khi đóng phản ánh); bạn có thể tải về hoặc xoá dữ liệu của mình bất cứ lúc nào bằng đường liên kết "
    "theo dõi (Luật Bảo vệ dữ liệu cá nhân số 91/2025/QH15)."
)
UNVERIFIED_CONTACT_HOURS = 24


def export_data(feedback: Feedback) -> dict[str, Any]:
    """Everything Loa holds about the citizen's feedback, as they may take it away (JSON)."""
    local = timezone.localtime
    return {
        "ma_phan_anh": feedback.number,
        "xa_phuong": {"ma": feedback.unit.code, "ten": feedback.unit.name},
        "linh_vuc": feedback.category.name,
        "noi_dung": feedback.text,
        "dia_chi": feedback.address,
        "vi_tri": (
            {"vi_do": feedback.latitude, "kinh_do": feedback.longitude}
            if feedback.latitude is not None
            else None
        ),
        "cum_loa": feedback.cluster.device_id if feedback.cluster else None,
        "van_de_cum_loa": feedback.cluster_issue,
        "lien_he": {
            "loai": feedback.contact_kind,
            "gia_tri": feedback.contact,
            "da_xac_minh": feedback.contact_verified_at is not None,
        },
        "dong_y": {"phien_ban": feedback.consent_version, "luc": local(feedback.consent_at).isoformat()},
        "gui_luc": local(feedback.created_at).isoformat(),
        "trang_thai": Status(feedback.status).label,
        "don_vi_xu_ly": feedback.handling_unit.name,
        "lich_su": [
            {"luc": local(e.at).isoformat(), "buoc": Status(e.to_status).label}
            for e in feedback.events.filter(internal=False).exclude(to_status="")
        ],
        "tra_loi": feedback.answer if feedback.published_at else "",
        "danh_gia": feedback.rating,
        "y_kien_danh_gia": feedback.rating_comment,
        "anh": [
            {"so": p.position, "rong": p.width, "cao": p.height, "sha256": p.sha256}
            for p in feedback.photos.all()
        ],
    }


def do_record_export(feedback: Feedback, *, request: HttpRequest | None = None) -> None:
    record("feedback.exported", request=request, obj=feedback, unit=feedback.handling_unit)


@transaction.atomic
def do_erase_personal_data(
    feedback: Feedback, *, by_citizen: bool, request: HttpRequest | None = None, reason: str = ""
) -> None:
    """Empty the personal data of ``feedback`` (see the module docstring); files go after the commit."""
    feedback = Feedback.objects.select_for_update().get(pk=feedback.pk)
    if feedback.erased_at is not None:
        return
    paths = list(feedback.photos.values_list("path", flat=True))
    feedback.photos.all().delete()
    ContactCode.objects.filter(feedback=feedback).delete()
    FeedbackPush.objects.filter(feedback=feedback).delete()
    FeedbackEvent.objects.filter(feedback=feedback, internal=True).update(note="")
    now = timezone.now()
    Feedback.objects.filter(pk=feedback.pk).update(
        text="", address="", latitude=None, longitude=None, contact="", contact_kind="", client_key="",
        text_key="", public_summary="", rating_comment="", erased_at=now, erased_by_citizen=by_citizen,
        published_at=None if by_citizen else F("published_at"),
    )  # fmt: skip
    record(
        "feedback.erased", request=request, obj=feedback, unit=feedback.handling_unit,
        message=f"{feedback.number}: " + ("người gửi yêu cầu xoá" if by_citizen else reason or "hết thời hạn lưu"),
        data={"by_citizen": by_citizen, "photos": len(paths)},
    )  # fmt: skip

    def remove_files() -> None:
        for path in paths:
            remove_photo_file(path)

    transaction.on_commit(remove_files)


def due_for_erasure(now: dt.datetime) -> list[Feedback]:
    """Closed feedback past its category's retention, and contacts never verified within a day."""
    closed = Feedback.objects.filter(
        erased_at__isnull=True, closed_at__isnull=False, status__in=(Status.CLOSED, Status.NOT_FIXABLE)
    ).select_related("category")
    return [
        f
        for f in closed
        if f.closed_at is not None and f.closed_at + dt.timedelta(days=f.category.retention_days) <= now
    ]


@transaction.atomic
def do_drop_unverified_contacts(now: dt.datetime) -> int:
    stale = Feedback.objects.filter(
        ~Q(contact=""), contact_verified_at__isnull=True,
        created_at__lte=now - dt.timedelta(hours=UNVERIFIED_CONTACT_HOURS),
    )  # fmt: skip
    count = 0
    for feedback in stale:
        Feedback.objects.filter(pk=feedback.pk).update(contact="", contact_kind="")
        ContactCode.objects.filter(feedback=feedback).delete()
        record(
            "feedback.erased", obj=feedback, unit=feedback.handling_unit,
            message=f"{feedback.number}: liên hệ không được xác minh trong {UNVERIFIED_CONTACT_HOURS} giờ",
            data={"contact_only": True},
        )  # fmt: skip
        count += 1
    return count


def run_retention(now: dt.datetime | None = None) -> dict[str, int]:
    """The periodic deletion job (loa.jobs.periodic)."""
    now = now or timezone.now()
    erased = 0
    for feedback in due_for_erasure(now):
        do_erase_personal_data(feedback, by_citizen=False, reason="hết thời hạn lưu trữ của lĩnh vực")
        erased += 1
    return {"erased": erased, "contacts_dropped": do_drop_unverified_contacts(now)}
