"""Board content API (mounted at /api/v1/signage): slides, playlists (approval as programmes), schedules on
boards, screen-on windows, board manifests (the board's own credentials), previews and planned versus shown."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from loa.accounts.access import access_unit_code
from loa.api.auth import token_of
from loa.api.errors import ERROR_RESPONSES, ApiError
from loa.api.types import ApiBool, ApiDate, ApiDateTime
from loa.broadcast import approval
from loa.broadcast.access import access_override
from loa.broadcast.models import Schedule
from loa.broadcast.services import ScheduleSpec
from loa.fleet.device_auth import authenticated_device
from loa.fleet.models import DeviceKind
from loa.signage import access, plan, scheduling, services
from loa.signage.compile import manifest_payload
from loa.signage.models import Playlist, ScreenWindows, Slide
from loa.signage.preview import board_preview
from loa.signage.uploads import slide_input
from loa.signage.windows import ScreenWindowsIndex
from loa.units.models import Unit
from loa_protocol.board import STANDARD_SCREEN_SIZES

router = Router()


# ---- slides -------------------------------------------------------------------------------------------------


class SlideOut(Schema):
    id: int
    unit: str
    kind: str
    title: str
    text: str
    screen_classes: list[str]
    fits: dict[str, Any] = Field(
        ..., description="cỡ chữ và các dòng đã xếp cho vùng chính, theo loại màn hình"
    )
    renditions: dict[str, Any] = Field(
        ..., description="tệp đã chuẩn bị theo loại màn hình (sha256, kích thước)"
    )
    media_duration_s: float | None
    bulletin_id: int | None
    created_at: ApiDateTime


def _slide_out(s: Slide) -> dict[str, Any]:
    return {
        "id": s.pk, "unit": s.unit.code, "kind": s.kind, "title": s.title, "text": s.text,
        "screen_classes": sorted(set(s.fits) | set(s.renditions)), "fits": s.fits, "renditions": s.renditions,
        "media_duration_s": s.media_duration_s, "bulletin_id": s.bulletin_id, "created_at": s.created_at,
    }  # fmt: skip


_SLIDE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["unit", "kind"],
                    "properties": {
                        "unit": {"type": "string", "description": "Mã đơn vị sở hữu"},
                        "kind": {"type": "string", "enum": ["text", "image", "video", "pdf_page", "bulletin",
                                                            "ticker", "clock"]},
                        "title": {"type": "string"},
                        "text": {"type": "string", "description": "chữ (trang chữ, dòng chữ chạy)"},
                        "file": {"type": "string", "format": "binary", "description": "ảnh, video hoặc PDF"},
                        "page": {"type": "integer", "description": "trang PDF (từ 1)"},
                        "bulletin_id": {"type": "integer", "description": "bản tin đã phát hành"},
                        "screen_classes": {"type": "array", "items": {"type": "string",
                                                                      "enum": list(STANDARD_SCREEN_SIZES)}},
                    },
                }
            }
        },
    }
}  # fmt: skip


@router.get(
    "/slides", response={200: list[SlideOut], **ERROR_RESPONSES}, summary="Trang trình chiếu của đơn vị"
)
def list_slides(request: HttpRequest, unit: str) -> Any:
    owner = access_unit_code(request.user, unit, access.VIEW, token_of(request))
    return [_slide_out(s) for s in Slide.objects.filter(unit=owner).select_related("unit")[:500]]


@router.post(
    "/slides",
    response={201: SlideOut, 413: dict, **ERROR_RESPONSES},
    summary="Tạo trang trình chiếu (chữ, ảnh, video, trang PDF, bản tin, dòng chữ chạy, đồng hồ)",
    openapi_extra=_SLIDE_BODY,
)
def create_slide(request: HttpRequest) -> Any:
    code = request.POST.get("unit", "")
    if not code:
        raise ApiError(422, "unit_required", "Thiếu mã đơn vị (unit) sở hữu trang trình chiếu.")
    token = token_of(request)
    owner = access_unit_code(request.user, code, access.EDIT, token)
    with slide_input(request, token) as data:
        slide = services.do_create_slide(owner, data, actor=request.user, request=request)
    return Status(201, _slide_out(slide))


@router.get(
    "/slides/{slide_id}", response={200: SlideOut, **ERROR_RESPONSES}, summary="Một trang trình chiếu"
)
def get_slide(request: HttpRequest, slide_id: int) -> Any:
    return _slide_out(access.access_slide(request.user, slide_id, access.VIEW, token_of(request)))


# ---- playlists ----------------------------------------------------------------------------------------------


class PlaylistItemIn(Schema):
    slide_id: int
    duration_s: float | None = Field(None, description="giây; mặc định 10 (video: thời lượng của video)")


class PlaylistIn(Schema):
    unit: str = Field(..., max_length=16)
    title: str = Field(..., min_length=1, max_length=300)
    layout: Literal["main_ticker_clock", "full"] = "main_ticker_clock"
    items: list[PlaylistItemIn] = Field(..., min_length=1, max_length=services.MAX_ITEMS)


class PlaylistItemOut(Schema):
    position: int
    slide_id: int
    kind: str
    title: str
    duration_s: float


class PlaylistOut(Schema):
    id: int
    unit: str
    title: str
    layout: str
    programme_id: int
    state: str = Field(..., description="pending (chờ duyệt), approved (đã duyệt), rejected (bị trả lại)")
    duration_s: float
    items: list[PlaylistItemOut]


def _playlist_out(p: Playlist) -> dict[str, Any]:
    items = list(p.items.select_related("slide"))
    return {
        "id": p.pk, "unit": p.unit.code, "title": p.title, "layout": p.layout, "programme_id": p.programme_id,
        "state": p.programme.state, "duration_s": sum(i.duration_s for i in items),
        "items": [
            {"position": i.position, "slide_id": i.slide_id, "kind": i.slide.kind, "title": i.slide.title,
             "duration_s": i.duration_s}
            for i in items
        ],
    }  # fmt: skip


@router.get(
    "/playlists", response={200: list[PlaylistOut], **ERROR_RESPONSES}, summary="Danh sách trình chiếu"
)
def list_playlists(request: HttpRequest, unit: str) -> Any:
    owner = access_unit_code(request.user, unit, access.VIEW, token_of(request))
    qs = Playlist.objects.filter(unit=owner).select_related("unit", "programme")[:200]
    return [_playlist_out(p) for p in qs]


@router.post(
    "/playlists", response={201: PlaylistOut, **ERROR_RESPONSES}, summary="Tạo danh sách trình chiếu"
)
def create_playlist(request: HttpRequest, payload: PlaylistIn) -> Any:
    token = token_of(request)
    owner = access_unit_code(request.user, payload.unit, access.EDIT, token)
    items = [
        (access.access_slide(request.user, i.slide_id, access.VIEW, token), i.duration_s)
        for i in payload.items
    ]
    p = services.do_create_playlist(
        owner, payload.title, items, layout=payload.layout, actor=request.user, request=request
    )
    return Status(201, _playlist_out(p))


@router.get(
    "/playlists/{playlist_id}", response={200: PlaylistOut, **ERROR_RESPONSES}, summary="Một danh sách"
)
def get_playlist(request: HttpRequest, playlist_id: int) -> Any:
    return _playlist_out(access.access_playlist(request.user, playlist_id, access.VIEW, token_of(request)))


class PlaylistDecisionIn(Schema):
    approve: ApiBool
    note: str = Field("", max_length=2000)


@router.post(
    "/playlists/{playlist_id}/decision",
    response={200: PlaylistOut, **ERROR_RESPONSES},
    summary="Duyệt hoặc trả lại danh sách trình chiếu (không phải người soạn)",
)
def decide_playlist(request: HttpRequest, playlist_id: int, payload: PlaylistDecisionIn) -> Any:
    p = access.access_playlist(request.user, playlist_id, "bulletin.approve", token_of(request))
    approval.do_decide_programme(
        p.programme, approve=payload.approve, actor=request.user, note=payload.note, request=request
    )
    p.programme.refresh_from_db()
    return _playlist_out(p)


# ---- schedules ----------------------------------------------------------------------------------------------


class BoardScheduleIn(Schema):
    unit: str = Field(..., max_length=16, description="đơn vị sở hữu lịch")
    playlist_id: int
    title: str = Field(..., min_length=1, max_length=300)
    kind: Literal["once", "daily", "weekly", "dates", "rrule"]
    times: list[str] = Field(..., min_length=1, max_length=24)
    start_date: ApiDate | None = None
    weekdays: list[int] = []
    dates: list[ApiDate] = []
    rrule: str = ""
    exdates: list[ApiDate] = []
    valid_from: ApiDate | None = None
    valid_until: ApiDate | None = None
    repeat_mode: Literal["none", "times", "every"] = "none"
    repeat_count: int = 1
    repeat_every_min: int = 0
    repeat_span_min: int = 0
    minutes: int = Field(
        0, ge=0, le=1440, description="mỗi buổi giữ danh sách trên màn hình bao nhiêu phút (0: một lượt)"
    )
    priority: Literal[3, 4] = 4
    target_units: list[str] = []
    target_boards: list[str] = []
    override_reason: str = Field("", max_length=2000)


class BoardScheduleOut(Schema):
    id: int
    unit: str
    playlist_id: int
    title: str
    state: str
    minutes: int
    target_units: list[str]
    target_boards: list[str]
    violations: list[dict[str, Any]]


def _schedule_out(s: Schedule) -> dict[str, Any]:
    return {
        "id": s.pk, "unit": s.unit.code, "playlist_id": s.board.playlist_id, "title": s.title, "state": s.state,
        "minutes": s.board.minutes, "target_units": [u.code for u in s.target_units.all()],
        "target_boards": [d.device_id for d in s.target_devices.all()], "violations": s.violations,
    }  # fmt: skip


@router.post(
    "/schedules", response={201: BoardScheduleOut, **ERROR_RESPONSES}, summary="Lên lịch trình chiếu"
)
def create_schedule(request: HttpRequest, payload: BoardScheduleIn) -> Any:
    token = token_of(request)
    owner = access_unit_code(request.user, payload.unit, access.EDIT, token)
    playlist = access.access_playlist(request.user, payload.playlist_id, access.VIEW, token)
    units = [access_unit_code(request.user, c, access.VIEW, token) for c in payload.target_units]
    boards = [access.access_board(request.user, d, access.VIEW, token) for d in payload.target_boards]
    spec = ScheduleSpec(
        title=payload.title, programme=None, kind=payload.kind, times=payload.times, start_date=payload.start_date,
        weekdays=payload.weekdays, dates=payload.dates, rrule=payload.rrule, exdates=payload.exdates,
        valid_from=payload.valid_from, valid_until=payload.valid_until, repeat_mode=payload.repeat_mode,
        repeat_count=payload.repeat_count, repeat_every_min=payload.repeat_every_min,
        repeat_span_min=payload.repeat_span_min, priority=payload.priority, target_units=units,
        target_devices=boards,
    )  # fmt: skip
    override = access_override(request.user, owner, payload.override_reason, token)
    s = scheduling.do_schedule_playlist(
        spec, playlist, minutes=payload.minutes, owner=owner, actor=request.user, request=request,
        override=override,
    )  # fmt: skip
    return Status(201, _schedule_out(s))


# ---- screen-on windows --------------------------------------------------------------------------------------


class WindowsIn(Schema):
    windows: list[list[str]] | None = Field(
        ..., description='[["05:00", "22:00"]] (giờ Việt Nam); [] = tắt cả ngày; null = theo cấp trên'
    )


class WindowsOut(Schema):
    unit: str
    own: list[list[str]] | None
    effective: list[list[str]]


def _windows_out(unit: Unit) -> dict[str, Any]:
    row = ScreenWindows.objects.filter(unit=unit).first()
    return {
        "unit": unit.code,
        "own": row.windows if row else None,
        "effective": [list(p) for p in ScreenWindowsIndex([unit.path]).pairs(unit.path)],
    }


@router.get(
    "/screen-windows/{code}", response={200: WindowsOut, **ERROR_RESPONSES}, summary="Giờ bật màn hình"
)
def get_windows(request: HttpRequest, code: str) -> Any:
    return _windows_out(access_unit_code(request.user, code, access.VIEW, token_of(request)))


@router.put(
    "/screen-windows/{code}", response={200: WindowsOut, **ERROR_RESPONSES}, summary="Đặt giờ bật màn hình"
)
def set_windows(request: HttpRequest, code: str, payload: WindowsIn) -> Any:
    unit = access_unit_code(request.user, code, "schedule.override", token_of(request))
    services.do_set_screen_windows(unit, payload.windows, actor=request.user, request=request)
    return _windows_out(unit)


# ---- boards: manifest, preview, planned versus shown --------------------------------------------------------


@router.get(
    "/manifests/{device_id}",
    auth=None,
    response={200: Any, 401: Any, 404: Any},
    summary="Lịch trình chiếu đã ký của một bảng tin (bảng tin xác thực bằng tài khoản của mình)",
)
def get_manifest(request: HttpRequest, device_id: str) -> HttpResponse:
    device = authenticated_device(request)
    if device is None or device.device_id != device_id or device.kind != DeviceKind.EBOARD:
        raise ApiError(401, "not_authenticated", "Bảng tin chưa xác thực: dùng tài khoản của chính bảng tin.")
    payload = manifest_payload(device_id)
    if payload is None:
        raise ApiError(404, "manifest_not_found", "Bảng tin này chưa có lịch trình chiếu.")
    return HttpResponse(payload, content_type="application/json")


@router.get(
    "/boards/{board_id}/preview",
    response={200: dict, **ERROR_RESPONSES},
    summary="Xem trước màn hình bảng tin (độ phân giải thật): đang chiếu, hoặc một danh sách trước khi lên lịch",
)
def preview(request: HttpRequest, board_id: str, playlist: int | None = None) -> Any:
    token = token_of(request)
    board = access.access_board(request.user, board_id, access.VIEW, token)
    chosen = access.access_playlist(request.user, playlist, access.VIEW, token) if playlist else None
    return board_preview(board, chosen)


class PlanRowOut(Schema):
    device_id: str
    entry_id: str
    playlist_id: str
    schedule_id: str
    start: ApiDateTime
    end: ApiDateTime
    planned_s: float
    shown_s: float
    displays: int
    status: str = Field(..., description="played, partly, missed, pending")
    reason: str


class PlanOut(Schema):
    totals: dict[str, int]
    rows: list[PlanRowOut]


def _range(since: dt.date | None, until: dt.date | None) -> tuple[dt.datetime, dt.datetime]:
    from loa.broadcast.recurrence import LOCAL_TZ

    today = timezone.localtime(timezone.now(), LOCAL_TZ).date()
    a, b = since or today, until or (since or today)
    start = dt.datetime.combine(a, dt.time.min, tzinfo=LOCAL_TZ)
    end = dt.datetime.combine(b, dt.time.min, tzinfo=LOCAL_TZ) + dt.timedelta(days=1)
    if end <= start or end - start > plan.MAX_RANGE:
        raise ApiError(400, "range_invalid", "Khoảng ngày không hợp lệ (tối đa 31 ngày).")
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


@router.get(
    "/boards/{board_id}/plan",
    response={200: PlanOut, **ERROR_RESPONSES},
    summary="Kế hoạch và đã hiển thị của một bảng tin",
)
def board_plan(
    request: HttpRequest, board_id: str, since: ApiDate | None = None, until: ApiDate | None = None
) -> Any:
    board = access.access_board(request.user, board_id, access.VIEW, token_of(request))
    start, end = _range(since, until)
    rows = plan.board_plan(board.device_id, start, end, timezone.now())
    return {"totals": plan.totals(rows), "rows": [r.as_dict() for r in rows]}


@router.get(
    "/playlists/{playlist_id}/plan",
    response={200: PlanOut, **ERROR_RESPONSES},
    summary="Kế hoạch và đã hiển thị của một danh sách",
)
def playlist_plan(
    request: HttpRequest, playlist_id: int, since: ApiDate | None = None, until: ApiDate | None = None
) -> Any:
    token = token_of(request)
    p = access.access_playlist(request.user, playlist_id, access.VIEW, token)
    start, end = _range(since, until)
    boards = access.visible_boards(request.user, token).values_list("device_id", flat=True)
    rows = plan.playlist_plan(p.pk, list(boards), start, end, timezone.now())
    return {"totals": plan.totals(rows), "rows": [r.as_dict() for r in rows]}
