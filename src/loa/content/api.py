"""Bulletins API (mounted at /api/v1/bulletins): library, editor, workflow, versions, comments, inbox, policies."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from ninja import Field as SchemaField
from ninja import Router, Schema, Status

from loa.accounts.access import access_unit_code, access_units
from loa.api.auth import token_of
from loa.api.errors import ERROR_RESPONSES, ApiError, ErrorOut
from loa.api.types import ApiBool, ApiDate, ApiDateTime
from loa.content.access import (
    access_bulletin,
    access_comment,
    access_feed_decision,
    access_feed_item,
    visible_bulletins,
)
from loa.content.editing import (
    do_add_comment,
    do_attach,
    do_copy_as_replacement,
    do_create_bulletin,
    do_make_audio,
    do_update_bulletin,
)
from loa.content.feed import do_feed_transition, do_republish, do_share_up
from loa.content.models import Bulletin, BulletinVersion, Comment, FeedItem, State
from loa.content.policies import current_step, do_set_approval_policy, policy_steps
from loa.content.provenance import provenance
from loa.content.validation import FIELD_LABELS
from loa.content.validity import (
    all_as_read_now,
    as_read_now,
    feed_all_as_read_now,
    filter_feed_state,
    filter_state,
    lapsed_q,
)
from loa.content.versions import diff_versions
from loa.content.workflow import (
    access_totp_confirmation,
    access_transition,
    available_transitions,
    do_transition,
    expire_due,
)

router = Router()
RESPONSES: dict[int, Any] = {**ERROR_RESPONSES, 409: ErrorOut}
PublicTransition = Literal["submit", "withdraw", "approve", "reject", "publish", "cancel"]


class ExtraIn(Schema):
    name: str = SchemaField(..., max_length=100)
    value: str = SchemaField("", max_length=1000)


class BulletinFields(Schema):
    title: str | None = SchemaField(None, description="Tiêu đề (TieuDe)")
    summary: str | None = SchemaField(None, description="Tóm tắt (NoiDungTomTat)")
    body: str | None = SchemaField(None, description="Nội dung")
    read_as: str | None = SchemaField(None, description="Văn bản đọc (sau chuẩn hóa TTS, người soạn đã sửa)")
    field: int | None = SchemaField(None, description="LoaiLinhVuc 1–6")
    content_type: int | None = SchemaField(None, description="LoaiBanTin 1 văn bản … 6 tiếp sóng")
    priority: int | None = SchemaField(None, description="MucDoUuTien 1 khẩn cấp, 2 ưu tiên, 3 thông thường")
    produced_at: ApiDateTime | None = SchemaField(None, description="ThoiGianSanXuat")
    duration_s: int | None = SchemaField(None, description="ThoiLuong, giây")
    author_name: str | None = None
    author_pen_name: str | None = None
    author_email: str | None = None
    news_source: str | None = None
    is_relay: ApiBool | None = None
    relay_source: str | None = None
    language: str | None = SchemaField(None, description="Mã ngôn ngữ ISO 639-3 (vie, tyz, blt, …)")
    valid_from: ApiDateTime | None = None
    valid_until: ApiDateTime | None = None
    extras: list[ExtraIn] | None = SchemaField(None, description="ThongTinChiTietBanTin")
    audio_asset_id: int | None = None
    receivers: list[str] | None = SchemaField(None, description="Mã các địa bàn nhận (DanhSachDiaBanNhan)")


class BulletinIn(BulletinFields):
    origin_unit: str = SchemaField(..., description="Mã đơn vị tạo bản tin (DiaBanTao)")


class UnitRef(Schema):
    code: str
    name: str


class TransitionIn(Schema):
    name: PublicTransition
    note: str = SchemaField("", max_length=2000)
    version: int | None = SchemaField(
        None, ge=1, description="Phiên bản người duyệt đã xem; bản đã đổi sau đó thì bị từ chối (409)"
    )
    totp: str = SchemaField(
        "",
        max_length=16,
        description="Mã xác thực một lần (TOTP) của người thao tác: cần khi hủy bản tin làm dừng phát khẩn cấp "
        "(403 totp_required nếu thiếu, totp_invalid nếu sai hoặc đã dùng)",
    )


class StepOut(Schema):
    number: int
    role: str
    label: str


class BulletinOut(Schema):
    id: int
    uid: str
    title: str
    summary: str
    body: str
    read_as: str
    field: int
    field_label: str
    content_type: int
    content_type_label: str
    priority: int
    priority_label: str
    produced_at: dt.datetime
    duration_s: int | None
    author_name: str
    author_pen_name: str
    author_email: str
    news_source: str
    is_relay: bool
    relay_source: str
    language: str
    language_label: str
    valid_from: dt.datetime | None
    valid_until: dt.datetime | None
    extras: list[dict[str, str]]
    audio_asset_id: int | None
    origin_unit: UnitRef
    receivers: list[UnitRef]
    state: str
    state_label: str
    version: int
    current_step: StepOut | None
    actions: list[str]
    provenance: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    attachments: list[dict[str, Any]] = SchemaField(
        default_factory=list,
        description="Tệp đính kèm: id, kind, asset_id, title, url (tải về, có kiểm quyền)",
    )

    @staticmethod
    def of(b: Bulletin, request: HttpRequest) -> dict[str, Any]:
        step = current_step(b) if b.state == State.SUBMITTED else None
        return {
            **{name: getattr(b, name) for name in FIELD_LABELS if name != "receivers"},
            "id": b.pk,
            "uid": str(b.uid),
            "field_label": str(b.get_field_display()),
            "content_type_label": str(b.get_content_type_display()),
            "priority_label": str(b.get_priority_display()),
            "language_label": str(b.get_language_display()),
            "origin_unit": {"code": b.origin_unit.code, "name": b.origin_unit.name},
            "receivers": [{"code": u.code, "name": u.name} for u in b.receivers.order_by("path")],
            "state": b.state,
            "state_label": str(b.get_state_display()),
            "version": b.version,
            "current_step": {"number": step[0], **step[1]} if step else None,
            "actions": [t.name for t in available_transitions(b, request.user, token_of(request))],
            "provenance": provenance(b),
            "created_at": b.created_at,
            "updated_at": b.updated_at,
            "attachments": [
                {
                    "id": a.pk,
                    "kind": a.kind,
                    "asset_id": a.asset_id,
                    "title": a.title,
                    "url": f"/bulletins/{b.pk}/attachments/{a.pk}/",
                }
                for a in b.attachments.order_by("added_at", "pk")
            ],
        }


class BulletinSummary(Schema):
    id: int
    title: str
    field: int
    content_type: int
    priority: int
    priority_label: str
    state: str
    state_label: str
    origin_unit: UnitRef
    produced_at: dt.datetime
    valid_until: dt.datetime | None
    version: int

    @staticmethod
    def of(b: Bulletin) -> dict[str, Any]:
        return {
            "id": b.pk,
            "title": b.title,
            "field": b.field,
            "content_type": b.content_type,
            "priority": b.priority,
            "priority_label": str(b.get_priority_display()),
            "state": b.state,
            "state_label": str(b.get_state_display()),
            "origin_unit": {"code": b.origin_unit.code, "name": b.origin_unit.name},
            "produced_at": b.produced_at,
            "valid_until": b.valid_until,
            "version": b.version,
        }


class BulletinPage(Schema):
    count: int
    items: list[BulletinSummary]


class VersionOut(Schema):
    number: int
    substantive: bool
    created_by: str
    created_at: dt.datetime
    snapshot: dict[str, Any]


class DiffOut(Schema):
    old: int
    new: int
    unified: str


class CommentIn(Schema):
    text: str = SchemaField(..., max_length=4000)


class CommentOut(Schema):
    id: int
    author: str
    text: str
    created_at: dt.datetime

    @staticmethod
    def of(c: Comment) -> dict[str, Any]:
        return {"id": c.pk, "author": str(c.author), "text": c.text, "created_at": c.created_at}


class FeedItemOut(Schema):
    id: int
    unit: UnitRef
    direction: str
    state: str
    state_label: str
    created_at: dt.datetime
    note: str
    bulletin: BulletinSummary

    @staticmethod
    def of(item: FeedItem) -> dict[str, Any]:
        return {
            "id": item.pk,
            "unit": {"code": item.unit.code, "name": item.unit.name},
            "direction": item.direction,
            "state": item.state,
            "state_label": str(item.get_state_display()),
            "created_at": item.created_at,
            "note": item.note,
            "bulletin": BulletinSummary.of(item.bulletin),
        }


class FeedPage(Schema):
    count: int
    items: list[FeedItemOut]


class NoteIn(Schema):
    note: str = SchemaField("", max_length=500)


class AttachmentIn(Schema):
    kind: Literal["audio", "image", "video", "document"]
    asset_id: int
    title: str = SchemaField("", max_length=300)


class AttachmentOut(Schema):
    id: int
    kind: str
    asset_id: int
    title: str


class PolicyStep(Schema):
    role: Literal["editor", "approver"]
    label: str = SchemaField("", max_length=200)


class PolicyIn(Schema):
    steps: list[PolicyStep]


class PolicyOut(Schema):
    unit: UnitRef
    steps: list[PolicyStep]


def _get(request: HttpRequest, bulletin_id: int, action: str = "bulletin.view") -> Bulletin:
    """The bulletin as it is now: a read shows a lapsed one expired; a write expires it first (a GET changes
    nothing, :mod:`loa.content.validity`)."""
    if request.method != "GET":
        expire_due(ids=[bulletin_id])
    return as_read_now(access_bulletin(request.user, bulletin_id, action, token_of(request)))


def _data(payload: Schema) -> dict[str, Any]:
    data = payload.dict(exclude_unset=True)
    data.pop("origin_unit", None)
    if "extras" in data and data["extras"] is not None:
        data["extras"] = [dict(e) for e in data["extras"]]
    return data


def filter_library(
    qs: QuerySet[Bulletin],
    *,
    q: str | None = None,
    field: int | None = None,
    content_type: int | None = None,
    priority: int | None = None,
    state: str | None = None,
    unit: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[Bulletin]:
    """The library's search and filters (shared by the API and the console)."""
    if q:
        words = q.strip()[:200]
        qs = qs.filter(Q(title__icontains=words) | Q(summary__icontains=words) | Q(body__icontains=words))
    if field:
        qs = qs.filter(field=field)
    if content_type:
        qs = qs.filter(content_type=content_type)
    if priority:
        qs = qs.filter(priority=priority)
    if state:
        if state not in State.values:
            raise ApiError(
                422,
                "state_invalid",
                "Trạng thái phải là một trong: " + ", ".join(str(v) for v in State.values),
            )
        qs = filter_state(qs, state)
    if unit:
        qs = qs.filter(origin_unit__code=unit.strip())
    if date_from:
        qs = qs.filter(produced_at__date__gte=date_from)
    if date_to:
        qs = qs.filter(produced_at__date__lte=date_to)
    return qs


@router.get("", response={200: BulletinPage, **RESPONSES}, summary="Thư viện bản tin (tìm kiếm, lọc)")
def list_bulletins(
    request: HttpRequest,
    q: str | None = None,
    field: int | None = None,
    content_type: int | None = None,
    priority: int | None = None,
    state: str | None = None,
    unit: str | None = None,
    date_from: ApiDate | None = None,
    date_to: ApiDate | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Any:
    qs = visible_bulletins(request.user, token_of(request)).select_related("origin_unit")
    qs = filter_library(
        qs,
        q=q,
        field=field,
        content_type=content_type,
        priority=priority,
        state=state,
        unit=unit,
        date_from=date_from,
        date_to=date_to,
    )
    offset, limit = min(max(0, offset), 10**9), max(1, min(limit, 500))
    return {
        "count": qs.count(),
        "items": [
            BulletinSummary.of(b)
            for b in all_as_read_now(qs.order_by("-produced_at", "-pk")[offset : offset + limit])
        ],
    }


@router.post("", response={201: BulletinOut, **RESPONSES}, summary="Tạo bản tin (bản nháp)")
def create_bulletin(request: HttpRequest, payload: BulletinIn) -> Any:
    origin = access_unit_code(request.user, payload.origin_unit, "bulletin.edit", token_of(request))
    b = do_create_bulletin(
        origin, _data(payload), actor=request.user, token=token_of(request), request=request
    )
    return Status(201, BulletinOut.of(b, request))


@router.get(
    "/approvals", response={200: BulletinPage, **RESPONSES}, summary="Hàng đợi duyệt: bản tin chờ tôi duyệt"
)
def approval_queue(request: HttpRequest, offset: int = 0, limit: int = 50) -> Any:
    items = approval_queue_for(request.user, token_of(request))
    return {"count": len(items), "items": [BulletinSummary.of(b) for b in items[offset : offset + limit]]}


def approval_queue_for(user: Any, token: Any = None) -> list[Bulletin]:
    units = access_units(user, "bulletin.approve", token) | access_units(user, "bulletin.review", token)
    qs = (
        Bulletin.objects.filter(state=State.SUBMITTED, origin_unit__in=units)
        .exclude(lapsed_q())
        .select_related("origin_unit")
        .order_by("priority", "submitted_at")[:500]
    )
    return [b for b in qs if any(t.name == "approve" for t in available_transitions(b, user, token))]


@router.get("/inbox", response={200: FeedPage, **RESPONSES}, summary="Hộp thư bản tin đến của một đơn vị")
def inbox(
    request: HttpRequest,
    unit: str,
    state: str | None = None,
    direction: Literal["down", "up"] | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Any:
    target = access_unit_code(request.user, unit, "bulletin.view", token_of(request))
    qs = inbox_items(target, state=state, direction=direction)
    offset, limit = min(max(0, offset), 10**9), max(1, min(limit, 500))
    items = feed_all_as_read_now(qs[offset : offset + limit])
    return {"count": qs.count(), "items": [FeedItemOut.of(i) for i in items]}


def inbox_items(unit: Any, *, state: str | None = None, direction: str | None = None) -> QuerySet[FeedItem]:
    qs = FeedItem.objects.filter(unit=unit).select_related("bulletin", "bulletin__origin_unit", "unit")
    if state:
        if state not in FeedItem.State.values:
            raise ApiError(
                422,
                "state_invalid",
                "Trạng thái phải là một trong: " + ", ".join(str(v) for v in FeedItem.State.values),
            )
        qs = filter_feed_state(qs, state)
    if direction:
        qs = qs.filter(direction=direction)
    return qs.order_by("-created_at", "-pk")


def _feed(request: HttpRequest, item_id: int, name: str, note: str = "") -> Any:
    item = access_feed_decision(request.user, item_id, token_of(request))
    item = do_feed_transition(
        item, name, actor=request.user, note=note, token=token_of(request), request=request
    )
    return FeedItemOut.of(item)


@router.post("/inbox/{item_id}/take", response={200: FeedItemOut, **RESPONSES}, summary="Nhận bản tin")
def take(request: HttpRequest, item_id: int) -> Any:
    return _feed(request, item_id, "take")


@router.post("/inbox/{item_id}/decline", response={200: FeedItemOut, **RESPONSES}, summary="Từ chối bản tin")
def decline(request: HttpRequest, item_id: int, payload: NoteIn) -> Any:
    return _feed(request, item_id, "decline", payload.note)


@router.post(
    "/inbox/{item_id}/republish",
    response={201: BulletinOut, **RESPONSES},
    summary="Tỉnh đăng lại bản tin do xã đề xuất (tạo bản nháp mới)",
)
def republish(request: HttpRequest, item_id: int) -> Any:
    item = access_feed_item(request.user, item_id, "bulletin.edit", token_of(request))
    b = do_republish(item, actor=request.user, token=token_of(request), request=request)
    return Status(201, BulletinOut.of(b, request))


@router.get(
    "/policies/{unit_code}", response={200: PolicyOut, **RESPONSES}, summary="Quy trình duyệt của đơn vị"
)
def get_policy(request: HttpRequest, unit_code: str) -> Any:
    unit = access_unit_code(request.user, unit_code, "bulletin.view", token_of(request))
    return {"unit": {"code": unit.code, "name": unit.name}, "steps": policy_steps(unit)}


@router.put("/policies/{unit_code}", response={200: PolicyOut, **RESPONSES}, summary="Đặt quy trình duyệt")
def set_policy(request: HttpRequest, unit_code: str, payload: PolicyIn) -> Any:
    unit = access_unit_code(request.user, unit_code, "settings.manage", token_of(request))
    policy = do_set_approval_policy(
        unit,
        [s.dict() for s in payload.steps],
        actor=request.user,
        token=token_of(request),
        request=request,
    )
    return {"unit": {"code": unit.code, "name": unit.name}, "steps": policy.steps}


@router.get("/{bulletin_id}", response={200: BulletinOut, **RESPONSES}, summary="Một bản tin, kèm nguồn gốc")
def get_bulletin(request: HttpRequest, bulletin_id: int) -> Any:
    return BulletinOut.of(_get(request, bulletin_id), request)


@router.patch(
    "/{bulletin_id}", response={200: BulletinOut, **RESPONSES}, summary="Sửa bản tin (phiên bản mới)"
)
def update_bulletin(request: HttpRequest, bulletin_id: int, payload: BulletinFields) -> Any:
    b = _get(request, bulletin_id, "bulletin.edit")
    b = do_update_bulletin(b, _data(payload), actor=request.user, token=token_of(request), request=request)
    return BulletinOut.of(b, request)


@router.post(
    "/{bulletin_id}/transitions",
    response={200: BulletinOut, **RESPONSES},
    summary="Chuyển trạng thái: gửi duyệt, rút lại, duyệt, trả lại, phát hành, hủy",
)
def transition(request: HttpRequest, bulletin_id: int, payload: TransitionIn) -> Any:
    b = _get(request, bulletin_id)
    access_transition(b, payload.name, request.user, token_of(request))
    confirmation = access_totp_confirmation(b, payload.name, request.user, payload.totp)
    b = do_transition(
        b, payload.name, actor=request.user, note=payload.note, request=request, version=payload.version,
        confirmation=confirmation,
    )  # fmt: skip
    return BulletinOut.of(b, request)


@router.post(
    "/{bulletin_id}/audio", response={200: BulletinOut, **RESPONSES}, summary="Chuyển văn bản thành âm thanh"
)
def make_audio(request: HttpRequest, bulletin_id: int) -> Any:
    b = _get(request, bulletin_id, "bulletin.edit")
    b = do_make_audio(b, actor=request.user, token=token_of(request), request=request)
    return BulletinOut.of(b, request)


@router.post(
    "/{bulletin_id}/attachments", response={201: AttachmentOut, **RESPONSES}, summary="Đính kèm tệp (media)"
)
def attach(request: HttpRequest, bulletin_id: int, payload: AttachmentIn) -> Any:
    b = _get(request, bulletin_id, "bulletin.edit")
    att = do_attach(
        b,
        payload.kind,
        payload.asset_id,
        payload.title,
        actor=request.user,
        token=token_of(request),
        request=request,
    )
    return Status(201, {"id": att.pk, "kind": att.kind, "asset_id": att.asset_id, "title": att.title})


@router.post(
    "/{bulletin_id}/share", response={201: FeedItemOut, **RESPONSES}, summary="Xã đề xuất bản tin lên tỉnh"
)
def share_up(request: HttpRequest, bulletin_id: int, payload: NoteIn) -> Any:
    b = _get(request, bulletin_id, "bulletin.edit")
    item = do_share_up(b, actor=request.user, note=payload.note, token=token_of(request), request=request)
    return Status(201, FeedItemOut.of(item))


@router.post(
    "/{bulletin_id}/replace",
    response={201: BulletinOut, **RESPONSES},
    summary="Tạo bản tin thay thế (bản cũ hết hiệu lực khi bản mới phát hành)",
)
def replace(request: HttpRequest, bulletin_id: int) -> Any:
    b = _get(request, bulletin_id, "bulletin.edit")
    new = do_copy_as_replacement(b, actor=request.user, token=token_of(request), request=request)
    return Status(201, BulletinOut.of(new, request))


@router.get("/{bulletin_id}/versions", response={200: list[VersionOut], **RESPONSES}, summary="Các phiên bản")
def versions(request: HttpRequest, bulletin_id: int) -> Any:
    b = _get(request, bulletin_id)
    return [
        {
            "number": v.number,
            "substantive": v.substantive,
            "created_by": str(v.created_by),
            "created_at": v.created_at,
            "snapshot": v.snapshot,
        }
        for v in b.versions.select_related("created_by").order_by("number")
    ]


@router.get(
    "/{bulletin_id}/versions/{number}/diff",
    response={200: DiffOut, **RESPONSES},
    summary="So sánh một phiên bản với phiên bản khác (mặc định: phiên bản ngay trước)",
)
def version_diff(request: HttpRequest, bulletin_id: int, number: int, against: int | None = None) -> Any:
    b = _get(request, bulletin_id)
    by_number = {v.number: v for v in BulletinVersion.objects.filter(bulletin=b)}
    old_number = against if against is not None else number - 1
    if number not in by_number or old_number not in by_number:
        raise ApiError(404, "version_not_found", "Không tìm thấy phiên bản cần so sánh.")
    unified, _html = diff_versions(by_number[old_number], by_number[number])
    return {"old": old_number, "new": number, "unified": unified}


@router.get("/{bulletin_id}/comments", response={200: list[CommentOut], **RESPONSES}, summary="Bình luận")
def comments(request: HttpRequest, bulletin_id: int) -> Any:
    b = _get(request, bulletin_id)
    return [CommentOut.of(c) for c in b.comments.select_related("author")]


@router.post("/{bulletin_id}/comments", response={201: CommentOut, **RESPONSES}, summary="Thêm bình luận")
def add_comment(request: HttpRequest, bulletin_id: int, payload: CommentIn) -> Any:
    b = access_comment(request.user, _get(request, bulletin_id), token_of(request))
    c = do_add_comment(b, payload.text, actor=request.user, token=token_of(request), request=request)
    return Status(201, CommentOut.of(c))
