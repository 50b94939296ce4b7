"""Fleet API (mounted at /api/v1/fleet): enrolment, the device registry, status history, play logs, commands."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from uuid import UUID

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from loa.accounts.access import access_unit, access_unit_code, access_units
from loa.api.auth import token_of
from loa.api.errors import ERROR_RESPONSES, ApiError, ErrorOut
from loa.api.types import ApiDateTime
from loa.fleet import services
from loa.fleet.models import Command, CommandDelivery, Device, PlayLog, StatusSample
from loa_protocol.messages import EnrolRequest, EnrolResponse

router = Router()


def _fleet_error(exc: services.FleetError) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message)


def _device_or_404(request: HttpRequest, device_id: str, action: str) -> Device:
    device = Device.objects.select_related("unit").filter(device_id=device_id).first()
    if device is None:
        raise ApiError(
            404, "device_not_found", "Không tìm thấy cụm loa, hoặc cụm loa nằm ngoài phạm vi của bạn."
        )
    access_unit(request.user, device.unit, action, token_of(request))
    return device


# ---- enrolment -----------------------------------------------------------------------------------------


class EnrolmentCodeIn(Schema):
    unit: str = Field(..., max_length=16, description="mã xã/phường hoặc thôn/bản nhận cụm loa")
    label: str = Field("", max_length=200)
    ttl_hours: int = Field(72, ge=1, le=720)


class EnrolmentCodeOut(Schema):
    code: str
    uri: str
    qr_svg: str
    unit: str
    expires_at: dt.datetime


@router.post(
    "/enrolment-codes",
    response={201: EnrolmentCodeOut, **ERROR_RESPONSES},
    summary="Tạo mã đăng ký một lần cho cụm loa",
)
def create_enrolment_code(request: HttpRequest, payload: EnrolmentCodeIn) -> Any:
    unit = access_unit_code(request.user, payload.unit, "device.manage", token_of(request))
    try:
        obj, code = services.do_create_enrolment_code(
            unit, actor=request.user, request=request, label=payload.label, ttl_hours=payload.ttl_hours
        )
    except services.FleetError as exc:
        raise _fleet_error(exc) from exc
    uri = services.enrolment_uri(code)
    return Status(
        201,
        {
            "code": code,
            "uri": uri,
            "qr_svg": services.qr_svg(uri),
            "unit": unit.code,
            "expires_at": obj.expires_at,
        },
    )


@router.post(
    "/enrol",
    auth=None,
    response={200: EnrolResponse, 409: ErrorOut, 410: ErrorOut, 429: ErrorOut, **ERROR_RESPONSES},
    summary="Thiết bị đổi mã đăng ký lấy danh tính và mật khẩu MQTT riêng",
)
def enrol(request: HttpRequest, payload: EnrolRequest) -> Any:
    # Failures are counted in the database, so every web process and machine shares one allowance per address.
    client = request.META.get("REMOTE_ADDR", "?")
    try:
        services.check_enrol_attempts(client)
        return services.do_enrol(payload, request=request)
    except services.FleetError as exc:
        if exc.status != 429:
            services.do_count_enrol_failure(client, exc, request=request)
        raise _fleet_error(exc) from exc


# ---- registry ------------------------------------------------------------------------------------------


class DeviceOut(Schema):
    device_id: str
    name: str
    kind: str
    adapter: str
    unit: str
    unit_name: str
    imei: str
    serial: str
    vendor: str
    model: str
    firmware: str
    sim_number: str
    data_plan_expires: dt.date | None
    latitude: float | None
    longitude: float | None
    address: str
    installed_on: dt.date | None
    warranty_until: dt.date | None
    enrolled_at: dt.datetime | None
    revoked_at: dt.datetime | None
    online: bool
    last_seen: dt.datetime | None
    last_status: dict[str, Any]

    @staticmethod
    def of(d: Device) -> dict[str, Any]:
        fields = [f for f in DeviceOut.model_fields if f not in ("unit", "unit_name")]
        out = {f: getattr(d, f) for f in fields}
        out["unit"], out["unit_name"] = d.unit.code, d.unit.name
        return out


class DevicePage(Schema):
    count: int
    online: int
    items: list[DeviceOut]


class DevicePatch(Schema):
    name: str | None = Field(None, max_length=200)
    unit: str | None = Field(None, max_length=16)
    imei: str | None = Field(None, max_length=32)
    serial: str | None = Field(None, max_length=64)
    vendor: str | None = Field(None, max_length=100)
    model: str | None = Field(None, max_length=100)
    sim_number: str | None = Field(None, max_length=32)
    data_plan_expires: dt.date | None = None
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    address: str | None = Field(None, max_length=300)
    installed_on: dt.date | None = None
    warranty_until: dt.date | None = None
    notes: str | None = Field(None, max_length=2000)


@router.get("/devices", response={200: DevicePage, **ERROR_RESPONSES}, summary="Danh sách cụm loa")
def list_devices(
    request: HttpRequest,
    unit: str | None = None,
    online: bool | None = None,
    vendor: str | None = None,
    q: str | None = None,
    include_revoked: bool = False,
    offset: int = 0,
    limit: int = 100,
) -> Any:
    units = access_units(request.user, "device.view", token_of(request))
    qs = Device.objects.select_related("unit").filter(unit__in=units)
    if unit:
        qs = qs.in_unit(access_unit_code(request.user, unit, "device.view", token_of(request)))
    if not include_revoked:
        qs = qs.active()
    if vendor:
        qs = qs.filter(vendor__iexact=vendor.strip()[:100])
    if q:
        q = q.strip()[:100]
        qs = qs.filter(name__icontains=q) | qs.filter(device_id__icontains=q) | qs.filter(imei__icontains=q)
    total_online = qs.filter(online=True).count()
    if online is not None:
        qs = qs.filter(online=online)
    offset, limit = min(max(0, offset), 10**9), max(1, min(limit, 1000))
    return {
        "count": qs.count(),
        "online": total_online,
        "items": [DeviceOut.of(d) for d in qs.order_by("unit__path", "device_id")[offset : offset + limit]],
    }


@router.get("/devices/{device_id}", response={200: DeviceOut, **ERROR_RESPONSES}, summary="Một cụm loa")
def get_device(request: HttpRequest, device_id: str) -> Any:
    return DeviceOut.of(_device_or_404(request, device_id, "device.view"))


@router.patch(
    "/devices/{device_id}", response={200: DeviceOut, **ERROR_RESPONSES}, summary="Sửa thông tin cụm loa"
)
def update_device(request: HttpRequest, device_id: str, payload: DevicePatch) -> Any:
    device = _device_or_404(request, device_id, "device.manage")
    changes = payload.model_dump(exclude_unset=True)
    if "unit" in changes:
        changes["unit"] = access_unit_code(
            request.user, changes["unit"] or "", "device.manage", token_of(request)
        )
    try:
        device = services.do_update_device(device, changes, actor=request.user, request=request)
    except services.FleetError as exc:
        raise _fleet_error(exc) from exc
    return DeviceOut.of(device)


class RevokeIn(Schema):
    reason: str = Field("", max_length=300)


@router.post(
    "/devices/{device_id}/revoke", response={200: DeviceOut, **ERROR_RESPONSES}, summary="Thu hồi cụm loa"
)
def revoke_device(request: HttpRequest, device_id: str, payload: RevokeIn) -> Any:
    device = _device_or_404(request, device_id, "device.manage")
    try:
        services.do_revoke_device(device, actor=request.user, request=request, reason=payload.reason)
    except services.FleetError as exc:
        raise _fleet_error(exc) from exc
    return DeviceOut.of(device)


class SampleOut(Schema):
    at: dt.datetime
    state: str
    volume: int | None
    link: str
    signal_dbm: int | None
    power: str
    battery_pct: int | None
    temperature_c: float | None
    storage_free_mb: int | None
    clock_offset_ms: int | None


@router.get(
    "/devices/{device_id}/status-history",
    response={200: list[SampleOut], **ERROR_RESPONSES},
    summary="Lịch sử trạng thái của cụm loa",
)
def status_history(request: HttpRequest, device_id: str, limit: int = 288) -> Any:
    device = _device_or_404(request, device_id, "device.view")
    limit = max(1, min(limit, 5000))
    return list(StatusSample.objects.filter(device=device).order_by("-at")[:limit])


# ---- play logs -----------------------------------------------------------------------------------------


class PlayLogOut(Schema):
    device_id: str
    event_id: UUID
    unit: str = Field(..., alias="unit_code")
    kind: str
    item_id: str
    media_sha256: str
    at: dt.datetime
    offset_s: float | None
    duration_s: float | None
    priority: int | None
    command_id: UUID | None
    schedule_id: str
    reason: str


class PlayLogPage(Schema):
    count: int
    items: list[PlayLogOut]


@router.get("/playlogs", response={200: PlayLogPage, **ERROR_RESPONSES}, summary="Nhật ký phát")
def list_playlogs(
    request: HttpRequest,
    unit: str | None = None,
    device: str | None = None,
    command: UUID | None = None,
    item: str | None = None,
    since: ApiDateTime | None = None,
    offset: int = 0,
    limit: int = 100,
) -> Any:
    units = access_units(request.user, "device.view", token_of(request))
    qs = PlayLog.objects.filter(unit__in=units)
    if unit:
        scope = access_unit_code(request.user, unit, "device.view", token_of(request))
        qs = qs.filter(unit__path__startswith=scope.path)
    if device:
        qs = qs.filter(device_id=device)
    if command:
        qs = qs.filter(command_id=command)
    if item:
        qs = qs.filter(item_id=item[:100])
    if since:
        qs = qs.filter(at__gte=since)
    offset, limit = min(max(0, offset), 10**9), max(1, min(limit, 1000))
    rows = qs.select_related("unit").order_by("-at")[offset : offset + limit]
    items = []
    for r in rows:
        r.unit_code = r.unit.code  # type: ignore[attr-defined]
        items.append(r)
    return {"count": qs.count(), "items": items}


# ---- commands ------------------------------------------------------------------------------------------


class CommandIn(Schema):
    action: Literal["play", "stop", "pause", "resume", "next", "volume", "reboot", "refresh_manifest"]
    unit: str | None = Field(None, max_length=16, description="đích là một đơn vị (tỉnh, xã hoặc thôn)")
    device: str | None = Field(None, max_length=16, description="hoặc đích là một cụm loa")
    bulletin_id: int | None = Field(
        None, description="phát ngay: một bản tin đã phát hành mà bạn xem được (âm thanh của bản tin)"
    )
    media_asset_id: int | None = Field(None, description="phát ngay: một tệp âm thanh trong thư viện")
    text: str | None = Field(
        None, max_length=5000, description="phát ngay: văn bản đọc bằng giọng nói tổng hợp"
    )
    voice: str | None = Field(None, max_length=16, description="giọng đọc cho text: north, central, south")
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="tham số của lệnh (volume: {volume}; stop: {item_id}). Với play: priority (1–4; mặc định theo "
        "bản tin: khẩn cấp 1, ưu tiên 3, thường 4), repeat, volume, item_id; hoặc sha256 (và media_url) của một "
        "tệp trong thư viện — không nhận địa chỉ bên ngoài",
    )
    totp: str = Field(
        "", max_length=16, description="mã TOTP khi lệnh tới nhiều xã, phát khẩn cấp hoặc khởi động lại"
    )
    ttl_s: int = Field(services.DEFAULT_TTL_S, ge=10, le=7 * 86400)


class DeliveryOut(Schema):
    device_id: str
    state: str
    reason: str
    sent_at: dt.datetime | None
    acked_at: dt.datetime | None


class CommandOut(Schema):
    id: UUID
    action: str
    params: dict[str, Any]
    topic: str
    seq: int
    unit: str
    device: str | None
    state: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    published_at: dt.datetime | None
    summary: dict[str, int]
    deliveries: list[DeliveryOut]

    @staticmethod
    def of(c: Command, with_deliveries: bool = True) -> dict[str, Any]:
        deliveries = (
            list(CommandDelivery.objects.filter(command=c).order_by("device_id")) if with_deliveries else []
        )
        return {
            "id": c.id,
            "action": c.action,
            "params": c.params,
            "topic": c.topic,
            "seq": c.seq,
            "unit": c.unit.code,
            "device": c.target_device.device_id if c.target_device_id and c.target_device else None,
            "state": c.state,
            "issued_at": c.issued_at,
            "expires_at": c.expires_at,
            "published_at": c.published_at,
            "summary": services.delivery_summary(c),
            "deliveries": deliveries,
        }


@router.post(
    "/commands",
    response={201: CommandOut, **ERROR_RESPONSES},
    summary="Gửi lệnh tới cụm loa, xã, thôn hoặc tỉnh",
)
def send_command(request: HttpRequest, payload: CommandIn) -> Any:
    if bool(payload.unit) == bool(payload.device):
        raise ApiError(422, "target_invalid", "Chọn đúng một đích: trường unit hoặc trường device.")
    target_unit = target_device = None
    if payload.device:
        target_device = _device_or_404(request, payload.device, "device.control")
    else:
        target_unit = access_unit_code(request.user, payload.unit or "", "device.control", token_of(request))
    try:
        if payload.action == "play":
            command = _play(request, payload, target_unit, target_device)
        else:
            if payload.bulletin_id is not None or payload.media_asset_id is not None or payload.text:
                raise services.FleetError(
                    "play_source_invalid",
                    "Bản tin, tệp âm thanh hoặc văn bản chỉ dùng cho lệnh phát ngay (play).",
                )
            command = services.do_send_command(
                actor=request.user,
                action=payload.action,
                params=payload.params,
                target_unit=target_unit,
                target_device=target_device,
                totp=payload.totp,
                ttl_s=payload.ttl_s,
                request=request,
            )
    except services.FleetError as exc:
        raise _fleet_error(exc) from exc
    return Status(201, CommandOut.of(command))


PLAY_OPTION_KEYS = {
    "priority",
    "repeat",
    "volume",
    "item_id",
    "sha256",
    "media_url",
    "duration_s",
    "play_until",
}


def _play(request: HttpRequest, payload: CommandIn, target_unit: Any, target_device: Any) -> Command:
    from loa.fleet.play import PlaySource, do_play_now

    p = dict(payload.params or {})
    unknown = set(p) - PLAY_OPTION_KEYS
    if unknown:
        raise services.FleetError(
            "params_invalid", f"Tham số không dùng cho lệnh phát ngay: {', '.join(sorted(unknown))}."
        )
    try:
        repeat = int(p.get("repeat", 1))
        volume = None if p.get("volume") is None else int(p["volume"])
    except (TypeError, ValueError):
        raise services.FleetError("params_invalid", "Số lần phát và âm lượng phải là số nguyên.") from None
    if not 1 <= repeat <= 100 or (volume is not None and not 0 <= volume <= 100):
        raise services.FleetError("params_invalid", "Số lần phát từ 1 đến 100, âm lượng từ 0 đến 100.")
    source = PlaySource(
        bulletin_id=payload.bulletin_id,
        media_asset_id=payload.media_asset_id,
        text=payload.text or "",
        voice=payload.voice,
        sha256=str(p.get("sha256") or ""),
        media_url=str(p.get("media_url") or ""),
    )
    return do_play_now(
        actor=request.user,
        source=source,
        target_unit=target_unit,
        target_device=target_device,
        priority=p.get("priority"),
        repeat=repeat,
        volume=volume,
        item_id=str(p.get("item_id") or "")[:200],
        totp=payload.totp,
        ttl_s=payload.ttl_s,
        token=token_of(request),
        request=request,
    )


@router.get("/commands", response={200: list[CommandOut], **ERROR_RESPONSES}, summary="Lệnh đã gửi")
def list_commands(request: HttpRequest, unit: str | None = None, limit: int = 50) -> Any:
    units = access_units(request.user, "device.view", token_of(request))
    qs = Command.objects.select_related("unit", "target_device").filter(unit__in=units)
    if unit:
        scope = access_unit_code(request.user, unit, "device.view", token_of(request))
        qs = qs.filter(unit__path__startswith=scope.path)
    return [
        CommandOut.of(c, with_deliveries=False) for c in qs.order_by("-issued_at")[: max(1, min(limit, 500))]
    ]


@router.get(
    "/commands/{command_id}", response={200: CommandOut, **ERROR_RESPONSES}, summary="Một lệnh và trạng thái"
)
def get_command(request: HttpRequest, command_id: UUID) -> Any:
    command = get_object_or_404(Command.objects.select_related("unit", "target_device"), pk=command_id)
    access_unit(request.user, command.unit, "device.view", token_of(request))
    return CommandOut.of(command)
