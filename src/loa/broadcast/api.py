"""Broadcast API (mounted at /api/v1/broadcast): relay sources, programmes, schedules with guardrails and
approver overrides, guardrails per unit, the 24-hour preview, device manifests (HTTPS safety net, device
credentials), emergency broadcasts with live progress, and proof of play."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status

from loa.accounts.access import access_unit, access_unit_code
from loa.alerts.models import EmergencyPush
from loa.api.auth import token_of
from loa.api.errors import ERROR_RESPONSES, ApiError, ErrorOut
from loa.api.types import ApiBool, ApiDate, ApiDateTime
from loa.broadcast import approval, preview, proof, services
from loa.broadcast import emergency as em
from loa.broadcast.access import access_override
from loa.broadcast.compile import effective_limits, manifest_payload
from loa.broadcast.guardrails import windows_hhmm, windows_text
from loa.broadcast.models import Emergency, Guardrail, Programme, RelaySource, Schedule
from loa.broadcast.recurrence import describe
from loa.fleet.device_auth import authenticated_device

router = Router()


# ---- relay sources -------------------------------------------------------------------------------------


class RelayIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    url: str = Field(..., min_length=1, max_length=1000)


class RelayOut(Schema):
    id: int
    name: str
    url: str
    province: str


@router.get(
    "/relay-sources/{code}", response={200: list[RelayOut], **ERROR_RESPONSES}, summary="Nguồn tiếp sóng"
)
def list_relays(request: HttpRequest, code: str) -> Any:
    unit = access_unit_code(request.user, code, "schedule.view", token_of(request))
    province = unit.province
    return [
        {"id": r.pk, "name": r.name, "url": r.url, "province": province.code}
        for r in RelaySource.objects.filter(province=province, is_active=True).order_by("name")
    ]


@router.post(
    "/relay-sources/{code}", response={201: RelayOut, **ERROR_RESPONSES}, summary="Thêm nguồn tiếp sóng"
)
def add_relay(request: HttpRequest, code: str, payload: RelayIn) -> Any:
    unit = access_unit_code(request.user, code, "schedule.override", token_of(request))
    r = services.do_create_relay_source(unit, payload.name, payload.url, actor=request.user, request=request)
    return Status(201, {"id": r.pk, "name": r.name, "url": r.url, "province": unit.code})


# ---- programmes ----------------------------------------------------------------------------------------


class ItemIn(Schema):
    kind: Literal["audio", "bulletin", "tts", "relay"]
    title: str = Field("", max_length=300)
    text: str = Field("", max_length=20000)
    bulletin_id: int | None = None
    relay_source_id: int | None = None
    media_asset_id: int | None = None
    minutes: float | None = Field(None, gt=0, le=240, description="thời lượng tiếp sóng (phút)")


class ProgrammeIn(Schema):
    unit: str = Field(..., max_length=16)
    title: str = Field(..., min_length=1, max_length=300)
    items: list[ItemIn] = Field(..., min_length=1, max_length=services.MAX_ITEMS)


class ItemOut(Schema):
    position: int
    kind: str
    title: str
    duration_s: float
    sha256: str


class ProgrammeOut(Schema):
    id: int
    unit: str
    title: str
    state: str = Field(..., description="pending (chờ duyệt), approved (đã duyệt), rejected (bị trả lại)")
    duration_s: float
    items: list[ItemOut]


def _programme_out(p: Programme) -> dict[str, Any]:
    items = list(p.items.all())
    return {
        "id": p.pk,
        "unit": p.unit.code,
        "title": p.title,
        "state": p.state,
        "duration_s": sum(i.duration_s for i in items),
        "items": [
            {
                "position": i.position,
                "kind": i.kind,
                "title": i.title,
                "duration_s": i.duration_s,
                "sha256": i.sha256,
            }
            for i in items
        ],
    }


@router.post("/programmes", response={201: ProgrammeOut, **ERROR_RESPONSES}, summary="Tạo chương trình")
def create_programme(request: HttpRequest, payload: ProgrammeIn) -> Any:
    unit = access_unit_code(request.user, payload.unit, "schedule.edit", token_of(request))
    specs = [
        services.ItemSpec(
            kind=i.kind, title=i.title, text=i.text, bulletin_id=i.bulletin_id, relay_source_id=i.relay_source_id,
            media_asset_id=i.media_asset_id, duration_s=i.minutes * 60 if i.minutes else None,
        )
        for i in payload.items
    ]  # fmt: skip
    p = services.do_create_programme(
        unit, payload.title, specs, actor=request.user, request=request, token=token_of(request)
    )
    return Status(201, _programme_out(p))


@router.get(
    "/programmes", response={200: list[ProgrammeOut], **ERROR_RESPONSES}, summary="Danh sách chương trình"
)
def list_programmes(request: HttpRequest, unit: str) -> Any:
    u = access_unit_code(request.user, unit, "schedule.view", token_of(request))
    qs = (
        Programme.objects.filter(unit__path__startswith=u.path)
        .select_related("unit")
        .prefetch_related("items")
    )
    return [_programme_out(p) for p in qs[:200]]


class DecisionIn(Schema):
    approve: ApiBool
    note: str = Field("", max_length=2000, description="lý do (bắt buộc khi trả lại)")


@router.post(
    "/programmes/{programme_id}/decision",
    response={200: ProgrammeOut, **ERROR_RESPONSES},
    summary="Duyệt hoặc trả lại chương trình chờ duyệt (người duyệt, không phải người soạn)",
)
def decide_programme(request: HttpRequest, programme_id: int, payload: DecisionIn) -> Any:
    p = Programme.objects.select_related("unit").filter(pk=programme_id).first()
    if p is None:
        raise ApiError(404, "programme_not_found", "Không tìm thấy chương trình.")
    access_unit(request.user, p.unit, "bulletin.approve", token_of(request))
    p = approval.do_decide_programme(
        p, approve=payload.approve, actor=request.user, note=payload.note, request=request
    )
    return _programme_out(p)


# ---- schedules -----------------------------------------------------------------------------------------


class ScheduleIn(Schema):
    unit: str = Field(..., max_length=16, description="đơn vị đặt lịch")
    programme_id: int
    title: str = Field(..., min_length=1, max_length=300)
    kind: Literal["once", "daily", "weekly", "dates", "rrule"]
    times: list[str] = Field(..., min_length=1, max_length=24, description="giờ phát HH:MM (giờ Việt Nam)")
    start_date: ApiDate | None = None
    weekdays: list[int] = Field(default_factory=list, description="0 = Thứ Hai … 6 = Chủ nhật")
    dates: list[ApiDate] = Field(default_factory=list, max_length=366)
    rrule: str = Field("", max_length=500)
    exdates: list[ApiDate] = Field(default_factory=list, max_length=366)
    valid_from: ApiDate | None = None
    valid_until: ApiDate | None = None
    repeat_mode: Literal["none", "times", "every"] = "none"
    repeat_count: int = Field(1, ge=1, le=10)
    repeat_every_min: int = Field(0, ge=0, le=1440)
    repeat_span_min: int = Field(0, ge=0, le=1440)
    volume: int | None = Field(None, ge=0, le=100)
    priority: Literal[3, 4] = 4
    target_units: list[str] = Field(default_factory=list, max_length=500)
    target_devices: list[str] = Field(default_factory=list, max_length=500)
    override_reason: str = Field(
        "", max_length=1000, description="lý do cho phép vượt giới hạn (người duyệt)"
    )


class ViolationOut(Schema):
    code: str
    message: str
    unit: str
    at: str


class ScheduleOut(Schema):
    id: int
    unit: str
    title: str
    programme_id: int
    rule: str
    priority: int
    state: str
    target_units: list[str]
    target_devices: list[str]
    override_reason: str
    violations: list[ViolationOut]


def _schedule_out(s: Schedule) -> dict[str, Any]:
    from loa.broadcast.compile import recurrence_of

    return {
        "id": s.pk,
        "unit": s.unit.code,
        "title": s.title,
        "programme_id": s.programme_id,
        "rule": describe(recurrence_of(s)),
        "priority": s.priority,
        "state": s.state,
        "target_units": [u.code for u in s.target_units.all()],
        "target_devices": [d.device_id for d in s.target_devices.all()],
        "override_reason": s.override_reason,
        "violations": s.violations,
    }


def _spec(request: HttpRequest, payload: ScheduleIn) -> tuple[Any, services.ScheduleSpec]:
    from loa.fleet.models import Device

    token = token_of(request)
    owner = access_unit_code(request.user, payload.unit, "schedule.edit", token)
    programme = Programme.objects.filter(
        pk=payload.programme_id, unit__path__in=_ancestors(owner.path)
    ).first()
    if programme is None:
        raise ApiError(404, "programme_not_found", "Không tìm thấy chương trình của đơn vị.")
    units = [access_unit_code(request.user, c, "schedule.edit", token) for c in payload.target_units]
    devices = list(
        Device.objects.active().filter(device_id__in=payload.target_devices).select_related("unit")
    )
    if len(devices) != len(set(payload.target_devices)):
        raise ApiError(
            404, "device_not_found", "Không tìm thấy cụm loa, hoặc cụm loa nằm ngoài phạm vi của bạn."
        )
    for d in devices:
        access_unit(request.user, d.unit, "schedule.edit", token)
    return owner, services.ScheduleSpec(
        title=payload.title, programme=programme, kind=payload.kind, times=payload.times,
        start_date=payload.start_date, weekdays=payload.weekdays, dates=payload.dates, rrule=payload.rrule,
        exdates=payload.exdates, valid_from=payload.valid_from, valid_until=payload.valid_until,
        repeat_mode=payload.repeat_mode, repeat_count=payload.repeat_count,
        repeat_every_min=payload.repeat_every_min, repeat_span_min=payload.repeat_span_min, volume=payload.volume,
        priority=payload.priority, target_units=units, target_devices=devices,
    )  # fmt: skip


def _ancestors(path: str) -> list[str]:
    out, acc = [], ""
    for c in (c for c in path.split("/") if c):
        acc += c + "/"
        out.append(acc)
    return out


@router.post(
    "/schedules/check",
    response={200: list[ViolationOut], **ERROR_RESPONSES},
    summary="Kiểm tra lịch theo giới hạn",
)
def check_schedule(request: HttpRequest, payload: ScheduleIn) -> Any:
    owner, spec = _spec(request, payload)
    return [v.as_dict() for v in services.check_schedule(spec, owner=owner)]


@router.post(
    "/schedules", response={201: ScheduleOut, **ERROR_RESPONSES, 409: ErrorOut}, summary="Đặt lịch phát"
)
def create_schedule(request: HttpRequest, payload: ScheduleIn) -> Any:
    owner, spec = _spec(request, payload)
    override = access_override(request.user, owner, payload.override_reason, token_of(request))
    s = services.do_create_schedule(spec, owner=owner, actor=request.user, request=request, override=override)
    return Status(201, _schedule_out(s))


def _schedule_or_404(request: HttpRequest, schedule_id: int, action: str) -> Schedule:
    s = Schedule.objects.select_related("unit").filter(pk=schedule_id).first()
    if s is None:
        raise ApiError(
            404, "schedule_not_found", "Không tìm thấy lịch phát, hoặc lịch nằm ngoài phạm vi của bạn."
        )
    access_unit(request.user, s.unit, action, token_of(request))
    return s


@router.get("/schedules", response={200: list[ScheduleOut], **ERROR_RESPONSES}, summary="Danh sách lịch phát")
def list_schedules(request: HttpRequest, unit: str, state: str = "active") -> Any:
    u = access_unit_code(request.user, unit, "schedule.view", token_of(request))
    qs = Schedule.objects.filter(unit__path__startswith=u.path).select_related("unit")
    if state in dict(Schedule.State.choices):
        qs = qs.filter(state=state)
    return [_schedule_out(s) for s in qs.prefetch_related("target_units", "target_devices")[:500]]


@router.get(
    "/schedules/{schedule_id}", response={200: ScheduleOut, **ERROR_RESPONSES}, summary="Một lịch phát"
)
def get_schedule(request: HttpRequest, schedule_id: int) -> Any:
    return _schedule_out(_schedule_or_404(request, schedule_id, "schedule.view"))


@router.post(
    "/schedules/{schedule_id}/cancel", response={200: ScheduleOut, **ERROR_RESPONSES}, summary="Hủy lịch phát"
)
def cancel_schedule(request: HttpRequest, schedule_id: int) -> Any:
    s = _schedule_or_404(request, schedule_id, "schedule.edit")
    services.do_cancel_schedule(s, actor=request.user, request=request)
    return _schedule_out(s)


# ---- guardrails ----------------------------------------------------------------------------------------


class GuardrailIn(Schema):
    windows: list[list[str]] | None = Field(
        None, max_length=12, description='[["05:00", "21:00"]] giờ Việt Nam'
    )
    max_sessions_per_day: int | None = None
    allowed_weekdays: list[int] | None = None
    max_days_per_week: int | None = None
    max_minutes_per_session: int | None = None
    max_volume: int | None = None


class LimitsOut(Schema):
    windows: list[list[str]] | None
    windows_text: str
    max_sessions_per_day: int | None
    allowed_weekdays: list[int] | None
    max_days_per_week: int | None
    max_minutes_per_session: int | None
    max_volume: int | None


class GuardrailOut(Schema):
    unit: str
    own: GuardrailIn
    effective: LimitsOut


def _guardrail_out(unit: Any) -> dict[str, Any]:
    g = Guardrail.objects.filter(unit=unit).first()
    eff = effective_limits(unit)
    own = {
        k: getattr(g, k) if g else None
        for k in ("windows", "max_sessions_per_day", "allowed_weekdays", "max_days_per_week",
                  "max_minutes_per_session", "max_volume")
    }  # fmt: skip
    return {
        "unit": unit.code,
        "own": own,
        "effective": {
            "windows": [list(p) for p in windows_hhmm(eff.windows)] if eff.windows is not None else None,
            "windows_text": windows_text(eff.windows),
            "max_sessions_per_day": eff.max_sessions_per_day,
            "allowed_weekdays": sorted(eff.allowed_weekdays) if eff.allowed_weekdays is not None else None,
            "max_days_per_week": eff.max_days_per_week,
            "max_minutes_per_session": eff.max_minutes_per_session,
            "max_volume": eff.max_volume,
        },
    }


@router.get("/guardrails/{code}", response={200: GuardrailOut, **ERROR_RESPONSES}, summary="Giới hạn phát")
def get_guardrails(request: HttpRequest, code: str) -> Any:
    return _guardrail_out(access_unit_code(request.user, code, "schedule.view", token_of(request)))


@router.put(
    "/guardrails/{code}", response={200: GuardrailOut, **ERROR_RESPONSES}, summary="Đặt giới hạn phát"
)
def set_guardrails(request: HttpRequest, code: str, payload: GuardrailIn) -> Any:
    unit = access_unit_code(request.user, code, "schedule.override", token_of(request))
    services.do_set_guardrails(unit, payload.dict(), actor=request.user, request=request)
    return _guardrail_out(unit)


# ---- preview -------------------------------------------------------------------------------------------


class PreviewRow(Schema):
    start: dt.datetime
    end: dt.datetime
    local: str
    title: str
    schedule_id: int | None
    priority: int
    devices: int
    refused: bool
    conflict: str


@router.get(
    "/preview/{code}",
    response={200: list[PreviewRow], **ERROR_RESPONSES},
    summary="Phát gì, khi nào (24 giờ)",
)
def get_preview(request: HttpRequest, code: str, device: str = "", hours: int = 24) -> Any:
    unit = access_unit_code(request.user, code, "schedule.view", token_of(request))
    hours = max(1, min(hours, 48))
    if device:
        from loa.fleet.models import Device

        d = Device.objects.filter(device_id=device, unit__path__startswith=unit.path).first()
        if d is None:
            raise ApiError(404, "device_not_found", "Không tìm thấy cụm loa trong đơn vị này.")
        return [r.as_dict() for r in preview.device_preview(d, hours=hours)]
    return [r.as_dict() for r in preview.unit_preview(unit, hours=hours)]


# ---- manifests (devices) -------------------------------------------------------------------------------


@router.get(
    "/manifests/{device_id}",
    auth=None,
    response={200: Any, 401: Any, 404: Any},
    summary="Lịch phát đã ký của một cụm loa (thiết bị xác thực bằng tài khoản MQTT của mình)",
)
def get_manifest(request: HttpRequest, device_id: str) -> HttpResponse:
    device = authenticated_device(request)  # its MQTT credentials as HTTP Basic auth; a revoked device: None
    if device is None or device.device_id != device_id:
        raise ApiError(
            401, "not_authenticated", "Thiết bị chưa xác thực: dùng tên và mật khẩu MQTT của cụm loa."
        )
    payload = manifest_payload(device_id)
    if payload is None:
        raise ApiError(404, "manifest_not_found", "Cụm loa này chưa có lịch phát.")
    return HttpResponse(payload, content_type="application/json")


# ---- emergency -----------------------------------------------------------------------------------------


class EmergencyIn(Schema):
    unit: str = Field(..., max_length=16, description="vùng phát: tỉnh, xã hoặc thôn")
    text: str = Field("", max_length=5000)
    media_asset_id: int | None = None
    title: str = Field("", max_length=300)
    repeat: int = Field(em.DEFAULT_REPEAT, ge=1, le=em.MAX_REPEAT)
    tone: ApiBool = False
    totp: str = Field("", max_length=16)


class CancelIn(Schema):
    totp: str = Field("", max_length=16)


class WebPushOut(Schema):
    state: str = Field(..., description="queued, sending, done or failed")
    subscriptions: int = Field(..., description="điện thoại đăng ký nhận cảnh báo trong vùng phát")
    delivered: int = Field(..., description="cảnh báo đã được dịch vụ đẩy nhận (201)")
    failed: int
    removed: int = Field(..., description="đăng ký hết hạn (404/410) đã xóa")
    cancel_delivered: int


class EmergencyOut(Schema):
    id: int
    unit: str
    title: str
    item_id: str
    state: str
    repeat: int
    duration_s: float
    requested_at: dt.datetime
    devices: int
    reached: int
    playing: int
    finished: int
    failed: int
    pending: int
    finished_at: dt.datetime | None = Field(None, description="khi lần phát cuối kết thúc (state = finished)")
    tone_failed: bool = Field(False, description="chuông báo động không tạo được: đã phát không có chuông")
    web_push: WebPushOut | None = Field(None, description="cảnh báo tới điện thoại người dân qua Web Push")


def _emergency_out(e: Emergency) -> dict[str, Any]:
    p = em.progress(e)
    status = em.status(e, p)
    return {
        "id": e.pk, "unit": e.unit.code, "title": e.title, "item_id": e.item_id, "state": status.state,
        "repeat": e.repeat, "duration_s": e.duration_s, "requested_at": e.requested_at,
        "finished_at": status.finished_at, "tone_failed": e.tone_failed, **p.as_dict(),
        "web_push": _web_push(e),
    }  # fmt: skip


def _web_push(e: Emergency) -> dict[str, Any] | None:
    push = EmergencyPush.objects.filter(emergency=e).first()
    if push is None:
        return None
    return {k: getattr(push, k) for k in ("state", "subscriptions", "delivered", "failed", "removed",
                                          "cancel_delivered")}  # fmt: skip


@router.post("/emergencies", response={201: EmergencyOut, **ERROR_RESPONSES}, summary="Phát khẩn cấp")
def start_emergency(request: HttpRequest, payload: EmergencyIn) -> Any:
    from django.utils import timezone

    requested_at = timezone.now()
    unit = access_unit_code(request.user, payload.unit, "broadcast.emergency", token_of(request))
    e = em.do_start_emergency(
        unit, actor=request.user, totp=payload.totp, title=payload.title, text=payload.text,
        media_asset_id=payload.media_asset_id, repeat=payload.repeat, tone=payload.tone,
        requested_at=requested_at, request=request, token=token_of(request),
    )  # fmt: skip
    return Status(201, _emergency_out(e))


def _emergency_or_404(request: HttpRequest, emergency_id: int, action: str) -> Emergency:
    e = Emergency.objects.select_related("unit").filter(pk=emergency_id).first()
    if e is None:
        raise ApiError(404, "emergency_not_found", "Không tìm thấy lượt phát khẩn cấp.")
    access_unit(request.user, e.unit, action, token_of(request))
    return e


@router.get("/emergencies/{emergency_id}", response={200: EmergencyOut, **ERROR_RESPONSES}, summary="Tiến độ")
def get_emergency(request: HttpRequest, emergency_id: int) -> Any:
    return _emergency_out(_emergency_or_404(request, emergency_id, "schedule.view"))


@router.post(
    "/emergencies/{emergency_id}/cancel",
    response={200: EmergencyOut, **ERROR_RESPONSES},
    summary="Hủy phát khẩn cấp",
)
def cancel_emergency(request: HttpRequest, emergency_id: int, payload: CancelIn) -> Any:
    e = _emergency_or_404(request, emergency_id, "broadcast.emergency")
    em.do_cancel_emergency(e, actor=request.user, totp=payload.totp, request=request)
    return _emergency_out(e)


# ---- proof of play -------------------------------------------------------------------------------------


class ProofRow(Schema):
    device_id: str
    schedule_id: int | None
    entry_id: str
    item_id: str
    planned_start: dt.datetime
    planned_end: dt.datetime
    status: str
    reason: str
    played_s: float


def check_proof_range(since: dt.datetime, until: dt.datetime) -> None:
    if until <= since or until - since > dt.timedelta(days=31):
        raise ApiError(
            422,
            "range_invalid",
            "Khoảng thời gian không hợp lệ: since phải trước until và dài tối đa 31 ngày.",
        )


@router.get(
    "/proof/{code}", response={200: list[ProofRow], **ERROR_RESPONSES}, summary="Kế hoạch và thực tế phát"
)
def get_proof(
    request: HttpRequest, code: str, since: ApiDateTime, until: ApiDateTime, schedule: int | None = None
) -> Any:
    unit = access_unit_code(request.user, code, "schedule.view", token_of(request))
    check_proof_range(since, until)
    return [r.as_dict() for r in proof.report(unit, since, until, schedule_id=schedule)]


@router.get(
    "/proof/{code}/csv",
    response={200: None, **ERROR_RESPONSES},
    summary="Kế hoạch và thực tế phát (CSV)",
    openapi_extra={
        "responses": {200: {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}}}
    },
)
def get_proof_csv(
    request: HttpRequest, code: str, since: ApiDateTime, until: ApiDateTime, schedule: int | None = None
) -> HttpResponse:
    unit = access_unit_code(request.user, code, "schedule.view", token_of(request))
    check_proof_range(since, until)
    response = HttpResponse(
        proof.to_csv(proof.report(unit, since, until, schedule_id=schedule)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="nhat-ky-phat-{unit.code}.csv"'
    return response
