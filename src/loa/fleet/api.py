"""Fleet API (mounted at /api/v1/fleet): enrolment, the device registry, status history, play logs, commands."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from uuid import UUID

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status
from ninja.security import HttpBasicAuth

from loa.accounts.access import access_unit, access_unit_code, access_units
from loa.accounts.lockout import client_address
from loa.api.auth import token_of
from loa.api.errors import ERROR_RESPONSES, ApiError, ErrorOut
from loa.api.types import ApiBool, ApiDate, ApiDateTime
from loa.fleet import services
from loa.fleet.boards import BoardHeartbeat
from loa.fleet.models import Command, CommandDelivery, Device, PlayLog, StatusSample
from loa_protocol.messages import CommandAck, EnrolRequest, EnrolResponse

router = Router()


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
    kind: Literal["loudspeaker", "eboard"] = Field(
        "loudspeaker", description="loại thiết bị: cụm loa (loudspeaker) hoặc bảng tin điện tử (eboard)"
    )
    screen_class: str = Field(
        "",
        max_length=16,
        description="bảng tin: landscape (1920×1080), portrait (1080×1920), led_192x96, led_384x192, custom",
    )


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
    obj, code = services.do_create_enrolment_code(
        unit,
        actor=request.user,
        request=request,
        label=payload.label,
        ttl_hours=payload.ttl_hours,
        kind=payload.kind,
        screen_class=payload.screen_class,
    )
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
    # The address is the client's own (behind LOA_TRUSTED_PROXIES proxies, the one the outer proxy saw).
    client = client_address(request)
    try:
        services.check_enrol_attempts(client, payload.code)
        return services.do_enrol(payload, request=request)
    except services.FleetError as exc:
        if exc.status != 429:
            services.do_count_enrol_failure(client, exc, code=payload.code, request=request)
        raise


# ---- registry ------------------------------------------------------------------------------------------


class BrightnessStep(Schema):
    at: str = Field(..., description="HH:MM, giờ địa phương")
    percent: int


class ScreenOut(Schema):
    screen_class: str
    orientation: str
    width: int
    height: int
    brightness_schedule: list[BrightnessStep]

    @staticmethod
    def of(s: Any) -> dict[str, Any]:
        return {f: getattr(s, f) for f in ScreenOut.model_fields}


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
    sim_expires: dt.date | None
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
    screen: ScreenOut | None = Field(None, description="bảng tin: màn hình")
    killed: bool = Field(False, description="bảng tin: đang bị ngắt khẩn cấp (màn hình đen)")

    @staticmethod
    def of(d: Device, killed: set[str] | None = None) -> dict[str, Any]:
        from loa.fleet import boards

        fields = [f for f in DeviceOut.model_fields if f not in ("unit", "unit_name", "screen", "killed")]
        out = {f: getattr(d, f) for f in fields}
        out["unit"], out["unit_name"] = d.unit.code, d.unit.name
        if boards.is_board(d):
            screen = boards.screen_of(d)
            out["screen"] = ScreenOut.of(screen) if screen else None
            out["killed"] = d.device_id in killed if killed is not None else boards.killed(d)
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
    sim_expires: ApiDate | None = None
    data_plan_expires: ApiDate | None = None
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    address: str | None = Field(None, max_length=300)
    installed_on: ApiDate | None = None
    warranty_until: ApiDate | None = None
    notes: str | None = Field(None, max_length=2000)


@router.get("/devices", response={200: DevicePage, **ERROR_RESPONSES}, summary="Danh sách cụm loa")
def list_devices(
    request: HttpRequest,
    unit: str | None = None,
    online: ApiBool | None = None,
    vendor: str | None = None,
    q: str | None = None,
    kind: Literal["loudspeaker", "eboard"] | None = None,
    include_revoked: ApiBool = False,
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
    if kind:
        qs = qs.filter(kind=kind)
    if q:
        q = q.strip()[:100]
        qs = qs.filter(name__icontains=q) | qs.filter(device_id__icontains=q) | qs.filter(imei__icontains=q)
    total_online = qs.filter(online=True).count()
    if online is not None:
        qs = qs.filter(online=online)
    offset, limit = min(max(0, offset), 10**9), max(1, min(limit, 1000))
    page = list(qs.order_by("unit__path", "device_id")[offset : offset + limit])
    from loa.fleet.boards import killed_ids

    killed = killed_ids(page)
    return {
        "count": qs.count(),
        "online": total_online,
        "items": [DeviceOut.of(d, killed) for d in page],
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
    device = services.do_update_device(device, changes, actor=request.user, request=request)
    return DeviceOut.of(device)


class RevokeIn(Schema):
    reason: str = Field("", max_length=300)


@router.post(
    "/devices/{device_id}/revoke", response={200: DeviceOut, **ERROR_RESPONSES}, summary="Thu hồi cụm loa"
)
def revoke_device(request: HttpRequest, device_id: str, payload: RevokeIn) -> Any:
    device = _device_or_404(request, device_id, "device.manage")
    services.do_revoke_device(device, actor=request.user, request=request, reason=payload.reason)
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
    action: Literal[
        "play",
        "stop",
        "pause",
        "resume",
        "next",
        "volume",
        "reboot",
        "refresh_manifest",
        "reload",
        "screen_on",
        "screen_off",
        "brightness",
        "screenshot",
    ] = Field(
        ...,
        description="cụm loa: play, stop, pause, resume, next, volume; bảng tin: reload, screen_on, screen_off, "
        "brightness ({brightness}: 0–100), screenshot; cả hai: reboot, refresh_manifest. Ngắt khẩn cấp bảng tin: "
        "POST /kill-switches",
    )
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


DELIVERIES_PAGE = 200  # deliveries listed in a command's answer (GET pages through the rest)
DELIVERIES_PAGE_MAX = 1000


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
    deliveries_total: int = Field(description="số thiết bị lệnh tới (tổng các trạng thái trong summary)")
    deliveries: list[DeliveryOut] = Field(
        description=f"trạng thái từng thiết bị theo mã thiết bị, tối đa {DELIVERIES_PAGE} dòng; xem thêm bằng "
        "GET /commands/{id}?offset=…&limit=…"
    )

    @staticmethod
    def of(
        c: Command, with_deliveries: bool = True, offset: int = 0, limit: int = DELIVERIES_PAGE
    ) -> dict[str, Any]:
        # a province-wide command reaches thousands of clusters: its answer lists one page of them, never all
        deliveries = (
            list(CommandDelivery.objects.filter(command=c).order_by("device_id")[offset : offset + limit])
            if with_deliveries
            else []
        )
        summary = services.delivery_summary(c)
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
            "summary": summary,
            "deliveries_total": sum(summary.values()),
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
def get_command(request: HttpRequest, command_id: UUID, offset: int = 0, limit: int = DELIVERIES_PAGE) -> Any:
    command = get_object_or_404(Command.objects.select_related("unit", "target_device"), pk=command_id)
    access_unit(request.user, command.unit, "device.view", token_of(request))
    offset, limit = min(max(0, offset), 10**9), max(1, min(limit, DELIVERIES_PAGE_MAX))
    return CommandOut.of(command, offset=offset, limit=limit)


# ---- boards: screen, screenshots, kill switch (console users) --------------------------------------------------


class ScreenPatch(Schema):
    screen_class: str | None = Field(None, max_length=16)
    orientation: str | None = Field(None, max_length=16)
    width: int | None = None
    height: int | None = None
    brightness_schedule: list[dict[str, Any]] | None = Field(
        None, description='[{"at": "06:00", "percent": 80}, {"at": "18:30", "percent": 40}]'
    )


def _board_or_404(request: HttpRequest, device_id: str, action: str) -> Device:
    from loa.fleet import boards

    device = _device_or_404(request, device_id, action)
    if not boards.is_board(device):
        raise ApiError(404, "not_a_board", "Thiết bị này không phải bảng tin điện tử.")
    return device


@router.patch(
    "/devices/{device_id}/screen",
    response={200: ScreenOut, **ERROR_RESPONSES},
    summary="Sửa màn hình của bảng tin (loại, hướng, độ phân giải, lịch độ sáng)",
)
def update_screen(request: HttpRequest, device_id: str, payload: ScreenPatch) -> Any:
    from loa.fleet import boards

    device = _board_or_404(request, device_id, "device.manage")
    screen = boards.do_update_screen(
        device, payload.model_dump(exclude_unset=True), actor=request.user, request=request
    )
    return ScreenOut.of(screen)


class ScreenshotOut(Schema):
    id: int
    taken_at: dt.datetime
    received_at: dt.datetime
    width: int
    height: int
    url: str = Field(..., description="ảnh độ phân giải thấp (JPEG), xem bằng phiên đăng nhập")


@router.get(
    "/devices/{device_id}/screenshots",
    response={200: list[ScreenshotOut], **ERROR_RESPONSES},
    summary="Ảnh chụp màn hình gần nhất của bảng tin",
)
def list_screenshots(request: HttpRequest, device_id: str) -> Any:
    from django.urls import reverse

    from loa.fleet.models import BoardScreenshot

    device = _board_or_404(request, device_id, "device.view")
    return [
        {
            "id": s.pk,
            "taken_at": s.taken_at,
            "received_at": s.received_at,
            "width": s.width,
            "height": s.height,
            "url": reverse("fleet:screenshot", kwargs={"shot_id": s.pk}),
        }
        for s in BoardScreenshot.objects.filter(device=device).order_by("-taken_at", "-pk")
    ]


class KillSwitchIn(Schema):
    unit: str | None = Field(None, max_length=16, description="một vùng: mọi bảng tin của đơn vị và cấp dưới")
    device: str | None = Field(None, max_length=16, description="hoặc một bảng tin")
    reason: str = Field(..., max_length=300)
    totp: str = Field("", max_length=16, description="mã TOTP (bắt buộc)")


class KillSwitchRelease(Schema):
    totp: str = Field("", max_length=16, description="mã TOTP (bắt buộc)")


class KillSwitchOut(Schema):
    id: int
    unit: str = Field(..., description="đơn vị của ngắt khẩn cấp (vùng, hoặc đơn vị của bảng tin)")
    device: str | None
    area: bool
    reason: str
    engaged_at: dt.datetime
    released_at: dt.datetime | None
    boards: int = Field(..., description="số bảng tin đang hoạt động mà ngắt khẩn cấp này bao phủ")

    @staticmethod
    def of(k: Any) -> dict[str, Any]:
        from loa.fleet import boards

        return {
            "id": k.pk,
            "unit": k.scope.code,
            "device": k.device_id,
            "area": k.device_id is None,
            "reason": k.reason,
            "engaged_at": k.engaged_at,
            "released_at": k.released_at,
            "boards": 1 if k.device_id else boards.boards_in(k.scope).count(),
        }


@router.post(
    "/kill-switches",
    response={201: KillSwitchOut, 409: ErrorOut, **ERROR_RESPONSES},
    summary="Ngắt khẩn cấp bảng tin (màn hình đen) cho một bảng tin hoặc một vùng; cần mã TOTP",
)
def engage_kill_switch(request: HttpRequest, payload: KillSwitchIn) -> Any:
    from loa.fleet import boards

    if bool(payload.unit) == bool(payload.device):
        raise ApiError(422, "target_invalid", "Chọn đúng một đích: trường unit hoặc trường device.")
    target_unit = target_device = None
    if payload.device:
        target_device = _board_or_404(request, payload.device, "device.control")
    else:
        target_unit = access_unit_code(request.user, payload.unit or "", "device.control", token_of(request))
    switch = boards.do_engage_kill_switch(
        actor=request.user,
        totp=payload.totp,
        target_unit=target_unit,
        target_device=target_device,
        reason=payload.reason,
        request=request,
    )
    return Status(201, KillSwitchOut.of(switch))


@router.get(
    "/kill-switches",
    response={200: list[KillSwitchOut], **ERROR_RESPONSES},
    summary="Các ngắt khẩn cấp bảng tin (đang bật, hoặc cả đã gỡ)",
)
def list_kill_switches(request: HttpRequest, unit: str | None = None, include_released: bool = False) -> Any:
    from loa.fleet.models import KillSwitch

    units = access_units(request.user, "device.view", token_of(request))
    qs = KillSwitch.objects.select_related("scope").filter(scope__in=units)
    if unit:
        scope = access_unit_code(request.user, unit, "device.view", token_of(request))
        qs = qs.filter(scope__path__startswith=scope.path)
    if not include_released:
        qs = qs.filter(released_at__isnull=True)
    return [KillSwitchOut.of(k) for k in qs.order_by("-engaged_at")[:500]]


@router.post(
    "/kill-switches/{switch_id}/release",
    response={200: KillSwitchOut, 409: ErrorOut, **ERROR_RESPONSES},
    summary="Gỡ ngắt khẩn cấp bảng tin; cần mã TOTP",
)
def release_kill_switch(request: HttpRequest, switch_id: int, payload: KillSwitchRelease) -> Any:
    from loa.fleet import boards
    from loa.fleet.models import KillSwitch

    switch = KillSwitch.objects.select_related("scope", "device__unit").filter(pk=switch_id).first()
    if switch is None:
        raise ApiError(
            404, "kill_switch_not_found", "Không tìm thấy ngắt khẩn cấp, hoặc nó nằm ngoài phạm vi của bạn."
        )
    access_unit(request.user, switch.scope, "device.control", token_of(request))
    boards.do_release_kill_switch(switch, actor=request.user, totp=payload.totp, request=request)
    return KillSwitchOut.of(switch)


# ---- boards: the device's own side (HTTP Basic with its id and password) --------------------------------------


class DeviceBasicAuth(HttpBasicAuth):
    """A device's own id and password as HTTP Basic auth (:mod:`loa.fleet.device_auth`), checked before the body
    is read: without them the answer is 401, whatever the body holds."""

    def authenticate(self, request: HttpRequest, username: str, password: str) -> Any:
        from loa.fleet.device_auth import authenticated_device

        return authenticated_device(request)


BOARD_AUTH = DeviceBasicAuth()


def _this_board(request: HttpRequest, device_id: str) -> Device:
    """The board the request's credentials prove (401 without them, by :class:`DeviceBasicAuth`); 403 when they
    are another device's."""
    from loa.fleet import boards

    device = request.auth  # type: ignore[attr-defined]
    if device is None:
        raise ApiError(401, "not_authenticated", "Thiết bị chưa xác thực: dùng mã thiết bị và mật khẩu.")
    if device.device_id != device_id:
        raise ApiError(403, "device_mismatch", "Thiết bị chỉ được gửi và nhận dữ liệu của chính mình.")
    device = Device.objects.select_related("unit").get(pk=device.pk)
    if not boards.is_board(device):
        raise ApiError(403, "not_a_board", "Thiết bị này không phải bảng tin điện tử.")
    return device


class BoardCommandsOut(Schema):
    commands: list[dict[str, Any]] = Field(
        ..., description="lệnh đã ký (protocol.md §4–§5), cũ trước; xác nhận từng lệnh bằng POST …/acks"
    )


@router.get(
    "/boards/{device_id}/commands",
    auth=BOARD_AUTH,
    response={200: BoardCommandsOut, 401: ErrorOut, 403: ErrorOut},
    summary="Bảng tin lấy các lệnh chưa xác nhận (xác thực bằng mã thiết bị và mật khẩu)",
)
def board_commands(request: HttpRequest, device_id: str) -> Any:
    from loa.fleet import boards

    return {"commands": boards.pending_commands(_this_board(request, device_id))}


class BoardAckOut(Schema):
    command_id: UUID
    state: str


@router.post(
    "/boards/{device_id}/acks",
    auth=BOARD_AUTH,
    response={200: BoardAckOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Bảng tin xác nhận một lệnh: received, done, refused hoặc failed",
)
def board_ack(request: HttpRequest, device_id: str, payload: CommandAck) -> Any:
    from loa.fleet import boards

    device = _this_board(request, device_id)
    if payload.device_id != device.device_id:
        raise ApiError(403, "device_mismatch", "Thiết bị chỉ được gửi và nhận dữ liệu của chính mình.")
    return {"command_id": payload.command_id, "state": boards.ingest_board_ack(device, payload)}


class HeartbeatOut(Schema):
    killed: bool = Field(..., description="true: màn hình đen (ngắt khẩn cấp), dù lệnh có tới hay chưa")
    pending_commands: int = Field(..., description="số lệnh đang chờ: > 0 thì lấy GET …/commands ngay")
    server_time: dt.datetime


@router.post(
    "/boards/{device_id}/heartbeat",
    auth=BOARD_AUTH,
    response={200: HeartbeatOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    summary="Bảng tin báo trạng thái (trực tuyến, màn hình, độ sáng, trang đang hiển thị)",
)
def board_heartbeat(request: HttpRequest, device_id: str, payload: BoardHeartbeat) -> Any:
    from loa.fleet import boards

    device = _this_board(request, device_id)
    if payload.device_id != device.device_id:
        raise ApiError(403, "device_mismatch", "Thiết bị chỉ được gửi và nhận dữ liệu của chính mình.")
    return boards.ingest_board_heartbeat(device, payload)


@router.post(
    "/boards/{device_id}/screenshots",
    auth=BOARD_AUTH,
    response={201: ScreenshotOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 413: ErrorOut, 422: ErrorOut},
    summary="Bảng tin gửi ảnh chụp màn hình (thân yêu cầu là ảnh PNG hoặc JPEG; ?taken_at=RFC 3339)",
)
def board_screenshot(request: HttpRequest, device_id: str, taken_at: ApiDateTime | None = None) -> Any:
    from django.urls import reverse

    from loa.fleet import boards, conf

    device = _this_board(request, device_id)
    limit = int(conf.get("LOA_BOARD_SCREENSHOT_MAX_BYTES"))
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > limit:  # refused before the body is read: nothing of it is kept
        raise services.FleetError(
            "screenshot_too_large", f"Ảnh chụp màn hình lớn quá {limit // (1024 * 1024)} MB.", 413
        )
    from django.core.exceptions import RequestDataTooBig

    try:
        body = request.body  # without Content-Length (chunked), Django stops at DATA_UPLOAD_MAX_MEMORY_SIZE
    except RequestDataTooBig:
        body = b"\0" * (limit + 1)
    shot = boards.ingest_screenshot(device, body, taken_at=taken_at)
    return Status(
        201,
        {
            "id": shot.pk,
            "taken_at": shot.taken_at,
            "received_at": shot.received_at,
            "width": shot.width,
            "height": shot.height,
            "url": reverse("fleet:screenshot", kwargs={"shot_id": shot.pk}),
        },
    )
