"""E-bulletin boards (bảng tin điện tử) in the fleet: screens, photos, screenshots, the kill switch, and what a
board does over HTTPS instead of MQTT (heartbeat, pending commands, acks).

A board is a :class:`~loa.fleet.models.Device` of kind ``eboard``: same registry, enrolment with a one-time code,
per-device credentials (HTTP Basic with its id and password, :mod:`loa.fleet.device_auth`), presence and offline
alarms (the gateway's offline check covers every device with a ``last_seen``), map and commands. Its screen is a
:class:`~loa.fleet.models.BoardScreen` row. The reference player is a browser page, not an MQTT client: its commands
are stored signed like every command but never published on MQTT (the command row is ``published`` at once); the
board fetches them with ``GET /api/v1/fleet/boards/{id}/commands`` and acknowledges each one.

``check_*`` validates, ``do_*`` changes state and audits in the same transaction; permission checks are the
callers' (views and API through :mod:`loa.accounts.access`).

For the manifest compiler: :func:`killed` says whether a board must show a black screen, and :data:`board_changed`
is sent (inside the transaction of the change) whenever what a board's manifest carries from the fleet changes — a
kill switch engaged or released, a screen edited, a board enrolled — so the compiler can recompile those boards once
the change commits (:mod:`loa.fleet.signals`; the fleet imports nothing of signage).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from pydantic import Field

from loa.audit.log import record
from loa.fleet import conf
from loa.fleet.models import (
    SCREEN_SIZES,
    Alarm,
    BoardScreen,
    BoardScreenshot,
    CommandDelivery,
    DeliveryState,
    Device,
    DeviceKind,
    KillSwitch,
    Orientation,
    ScreenClass,
    StatusSample,
)
from loa.fleet.services import FleetError, check_totp, issue_board_command
from loa.fleet.signals import board_changed, screenshot_received, send_board_changed
from loa.units.models import Unit
from loa_protocol import board as board_protocol
from loa_protocol.messages import CommandAck, DeviceId, Message, ShortText, UtcDatetime

_changed = send_board_changed
__all__ = ["board_changed", "killed", "killed_ids"]


# ---- screens -------------------------------------------------------------------------------------------------

MIN_SIDE, MAX_SIDE = 16, 7680  # a small LED panel is 192×96; 8K is the largest screen we accept
# the manifest carries the brightness schedule (protocol.md §9b)
MAX_BRIGHTNESS_STEPS = board_protocol.MAX_BRIGHTNESS_STEPS
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def is_board(device: Device) -> bool:
    return device.kind == DeviceKind.EBOARD


def check_board(device: Device) -> Device:
    if not is_board(device):
        raise FleetError("not_a_board", "Thiết bị này không phải bảng tin điện tử.", 404)
    return device


def check_screen_class(value: str) -> str:
    if value not in ScreenClass.values:
        raise FleetError(
            "screen_class_invalid",
            "Loại màn hình không hợp lệ: chọn màn hình ngang 1920×1080, dọc 1080×1920, bảng LED 192×96, "
            "bảng LED 384×192 hoặc kích thước khác.",
            field="screen_class",
        )
    return value


def check_resolution(width: Any, height: Any) -> tuple[int, int]:
    try:
        w, h = int(width), int(height)
    except (TypeError, ValueError):
        raise FleetError(
            "resolution_invalid", "Độ phân giải phải là hai số nguyên (rộng × cao).", field="width"
        ) from None
    if not (MIN_SIDE <= w <= MAX_SIDE and MIN_SIDE <= h <= MAX_SIDE):
        raise FleetError(
            "resolution_invalid",
            f"Độ phân giải phải từ {MIN_SIDE} đến {MAX_SIDE} điểm ảnh mỗi chiều (nhận được {w}×{h}).",
            field="width",
        )
    return w, h


def check_brightness(value: Any, field: str = "brightness") -> int:
    try:
        percent = int(value)
        if isinstance(value, float) and value != percent:
            raise ValueError
    except (TypeError, ValueError):
        raise FleetError(
            "brightness_invalid", "Độ sáng phải là số nguyên từ 0 đến 100.", field=field
        ) from None
    if not 0 <= percent <= 100:
        raise FleetError(
            "brightness_invalid", f"Độ sáng phải từ 0 đến 100 % (nhận được {percent}).", field=field
        )
    return percent


def check_brightness_schedule(steps: Any) -> list[dict[str, Any]]:
    """``[{"at": "HH:MM", "percent": 0-100}]``: at most 24 steps, distinct times; returned sorted by time."""
    if steps is None:
        return []
    if not isinstance(steps, list):
        raise FleetError(
            "brightness_schedule_invalid",
            "Lịch độ sáng phải là danh sách các mốc giờ và độ sáng.",
            field="brightness_schedule",
        )
    if len(steps) > MAX_BRIGHTNESS_STEPS:
        raise FleetError(
            "brightness_schedule_invalid",
            f"Lịch độ sáng có tối đa {MAX_BRIGHTNESS_STEPS} mốc.",
            field="brightness_schedule",
        )
    out: dict[str, int] = {}
    for step in steps:
        if not isinstance(step, dict) or set(step) != {"at", "percent"}:
            raise FleetError(
                "brightness_schedule_invalid",
                "Mỗi mốc của lịch độ sáng có đúng hai trường: giờ (at, dạng HH:MM) và độ sáng (percent).",
                field="brightness_schedule",
            )
        at = str(step["at"]).strip()
        if not _HHMM.match(at):
            raise FleetError(
                "brightness_schedule_invalid",
                f"Giờ “{at[:10]}” của lịch độ sáng không hợp lệ: dùng dạng HH:MM, ví dụ 06:00 hoặc 18:30.",
                field="brightness_schedule",
            )
        if at in out:
            raise FleetError(
                "brightness_schedule_invalid",
                f"Mốc {at} có hai lần trong lịch độ sáng.",
                field="brightness_schedule",
            )
        out[at] = check_brightness(step["percent"], field="brightness_schedule")
    return [{"at": at, "percent": out[at]} for at in sorted(out)]


def brightness_at(schedule: list[dict[str, Any]], local_time: dt.time) -> int | None:
    """The brightness the schedule gives at ``local_time`` (the last step before it, else the day's last step): the
    protocol's rule, which the board's player applies (``loa_protocol.board.brightness_at``)."""
    return board_protocol.brightness_at(schedule, local_time.strftime("%H:%M"))


def check_screen(changes: dict[str, Any], screen: BoardScreen | None = None) -> dict[str, Any]:
    """Validated screen fields: a standard class fixes the resolution (and the orientation it implies); a custom
    one needs width and height."""
    unknown = set(changes) - {"screen_class", "orientation", "width", "height", "brightness_schedule"}
    if unknown:
        raise FleetError("field_unknown", f"Không sửa được trường: {', '.join(sorted(unknown))}.")
    out: dict[str, Any] = {}
    cls = changes.get("screen_class") or (screen.screen_class if screen else ScreenClass.LANDSCAPE)
    out["screen_class"] = check_screen_class(str(cls))
    if out["screen_class"] in SCREEN_SIZES:
        w, h = SCREEN_SIZES[out["screen_class"]]
        given = (changes.get("width"), changes.get("height"))
        if any(v not in (None, "") for v in given) and check_resolution(*given) != (w, h):
            raise FleetError(
                "resolution_invalid",
                f"Màn hình loại này có độ phân giải {w}×{h}; chọn “Kích thước khác” để nhập kích thước riêng.",
                field="width",
            )
        out["width"], out["height"] = w, h
    else:
        w0 = changes.get("width", screen.width if screen else None)
        h0 = changes.get("height", screen.height if screen else None)
        out["width"], out["height"] = check_resolution(w0, h0)
    orientation = changes.get("orientation") or (
        Orientation.PORTRAIT if out["height"] > out["width"] else Orientation.LANDSCAPE
    )
    if orientation not in Orientation.values:
        raise FleetError("orientation_invalid", "Hướng màn hình phải là ngang hoặc dọc.", field="orientation")
    out["orientation"] = orientation
    if "brightness_schedule" in changes:
        out["brightness_schedule"] = check_brightness_schedule(changes["brightness_schedule"])
    return out


def screen_of(device: Device) -> BoardScreen | None:
    return BoardScreen.objects.filter(device_id=device.device_id).first()


def ensure_screen(device: Device, screen_class: str = "") -> BoardScreen:
    """The board's screen row, created with ``screen_class`` (default landscape 1920×1080) when it has none."""
    screen = screen_of(device)
    if screen is not None:
        return screen
    fields = check_screen({"screen_class": screen_class or ScreenClass.LANDSCAPE})
    return BoardScreen.objects.create(device_id=device.device_id, **fields)


def do_update_screen(
    device: Device, changes: dict[str, Any], *, actor: Any, request: Any = None
) -> BoardScreen:
    check_board(device)
    screen = ensure_screen(device)
    fields = check_screen(dict(changes), screen)
    before = {k: getattr(screen, k) for k in fields}
    after = {k: v for k, v in fields.items() if before[k] != v}
    if not after:
        return screen
    with transaction.atomic():
        for key, value in after.items():
            setattr(screen, key, value)
        screen.save()
        record(
            "fleet.board_screen_updated",
            actor=actor,
            request=request,
            unit=device.unit,
            obj=device,
            message=f"Sửa màn hình của bảng tin {device.label} ({screen.resolution})",
            data={"before": {k: before[k] for k in after}, "after": after},
        )
        _changed(device_ids=[device.device_id])
    return screen


# ---- images (photos of the installation, screenshots) ------------------------------------------------------

MAX_IMAGE_PIXELS = 40_000_000  # a 8K screenshot is 33 Mpx; anything larger is refused before decoding


def _data_dir() -> Path:
    return Path(settings.DATA_DIR)


def _open_image(data: bytes, *, what: str, code: str, formats: tuple[str, ...]) -> Any:
    """The decoded image (Pillow), or a refusal saying in Vietnamese why it is not one we take."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format or ""
            w, h = probe.size
            if kind not in formats:
                raise FleetError(
                    code, f"{what} phải là ảnh {'/'.join(formats)} (tệp gửi lên là {kind or '?'})."
                )
            if w * h > MAX_IMAGE_PIXELS:
                raise FleetError(code, f"{what} quá lớn ({w}×{h} điểm ảnh).")
            probe.verify()
        image = Image.open(io.BytesIO(data))
        image.load()
        return image
    except FleetError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise FleetError(code, f"{what} không phải là ảnh hợp lệ (tệp hỏng hoặc không phải ảnh).") from None


def _reencode(image: Any, max_side: int, quality: int) -> tuple[bytes, int, int]:
    """A JPEG copy at most ``max_side`` pixels wide and high, rotated as its EXIF says, without any metadata."""
    from PIL import Image, ImageOps

    image = ImageOps.exif_transpose(image)
    if image.mode not in ("RGB", "L"):
        background = Image.new("RGB", image.size, (0, 0, 0))
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    image.thumbnail((max_side, max_side))
    clean = Image.new(image.mode, image.size)
    clean.paste(image)  # pixels only: no EXIF, no ICC, no comments
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue(), clean.width, clean.height


MAX_PHOTOS = 12
PHOTO_MAX_SIDE = 1600


def check_photo(data: bytes) -> tuple[bytes, int, int]:
    limit = int(conf.get("LOA_DEVICE_PHOTO_MAX_BYTES"))
    if len(data) > limit:
        raise FleetError(
            "photo_too_large", f"Ảnh lớn quá {limit // (1024 * 1024)} MB; hãy chụp lại ở cỡ nhỏ hơn.", 413
        )
    if not data:
        raise FleetError("photo_invalid", "Chưa chọn ảnh.")
    image = _open_image(data, what="Ảnh", code="photo_invalid", formats=("JPEG", "PNG", "WEBP"))
    return _reencode(image, PHOTO_MAX_SIDE, 85)


def photo_path(device: Device, photo_id: str) -> Path:
    return _data_dir() / "fleet" / "photos" / device.device_id / f"{photo_id}.jpg"


def do_add_photo(
    device: Device, data: bytes, *, name: str = "", actor: Any, request: Any = None
) -> dict[str, Any]:
    """Store a photo of the installation (re-encoded, EXIF stripped) and list it on the device."""
    if len(device.photos or []) >= MAX_PHOTOS:
        raise FleetError("photos_full", f"Mỗi thiết bị có tối đa {MAX_PHOTOS} ảnh; hãy xóa bớt ảnh cũ.")
    jpeg, w, h = check_photo(data)
    photo_id = secrets.token_hex(6)
    photo: dict[str, Any] = {
        "id": photo_id,
        "name": " ".join((name or "").split())[:120],
        "width": w,
        "height": h,
        "uploaded_at": timezone.now().isoformat(),
    }
    path = photo_path(device, photo_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg)
    try:
        with transaction.atomic():
            device.photos = [*(device.photos or []), photo]
            device.save(update_fields=["photos"])
            record(
                "fleet.device_photo_added",
                actor=actor,
                request=request,
                unit=device.unit,
                obj=device,
                message=f"Thêm ảnh lắp đặt cho {device.label}",
                data={"photo": photo_id, "name": photo["name"], "size": f"{w}×{h}"},
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return photo


def do_remove_photo(device: Device, photo_id: str, *, actor: Any, request: Any = None) -> None:
    photos = [p for p in device.photos or [] if p.get("id") != photo_id]
    if len(photos) == len(device.photos or []):
        raise FleetError("photo_not_found", "Không tìm thấy ảnh này.", 404)
    with transaction.atomic():
        device.photos = photos
        device.save(update_fields=["photos"])
        record(
            "fleet.device_photo_removed",
            actor=actor,
            request=request,
            unit=device.unit,
            obj=device,
            message=f"Xóa ảnh lắp đặt của {device.label}",
            data={"photo": photo_id},
        )
        transaction.on_commit(lambda: photo_path(device, photo_id).unlink(missing_ok=True))


SCREENSHOT_MAX_SIDE = 480  # the low-resolution copy kept: enough to see what a board shows


def check_screenshot(data: bytes) -> Any:
    limit = int(conf.get("LOA_BOARD_SCREENSHOT_MAX_BYTES"))
    if len(data) > limit:
        raise FleetError(
            "screenshot_too_large", f"Ảnh chụp màn hình lớn quá {limit // (1024 * 1024)} MB.", 413
        )
    if not data:
        raise FleetError("screenshot_invalid", "Không có ảnh chụp màn hình trong yêu cầu.")
    return _open_image(data, what="Ảnh chụp màn hình", code="screenshot_invalid", formats=("PNG", "JPEG"))


def screenshot_file(shot: BoardScreenshot) -> Path:
    return _data_dir() / shot.path


def ingest_screenshot(device: Device, data: bytes, *, taken_at: dt.datetime | None = None) -> BoardScreenshot:
    """Validate the board's upload, keep a low-resolution JPEG of it, and drop all but the latest few.

    Not audited: boards send one every few minutes (the row itself is the record)."""
    check_board(device)
    now = timezone.now()
    taken = taken_at or now
    if taken > now + dt.timedelta(minutes=5) or taken < now - dt.timedelta(days=7):
        raise FleetError(
            "taken_at_invalid",
            "Thời điểm chụp không hợp lệ (ở tương lai hoặc quá 7 ngày trước).",
            field="taken_at",
        )
    image = check_screenshot(data)
    width, height = image.size
    jpeg, _w, _h = _reencode(image, SCREENSHOT_MAX_SIDE, 70)
    rel = (
        Path("fleet") / "screenshots" / device.device_id / f"{taken:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}.jpg"
    )
    path = _data_dir() / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg)
    keep = int(conf.get("LOA_BOARD_SCREENSHOTS_KEPT"))
    try:
        with transaction.atomic():
            shot = BoardScreenshot.objects.create(
                device_id=device.device_id,
                taken_at=taken,
                received_at=now,
                sha256=hashlib.sha256(data).hexdigest(),
                width=width,
                height=height,
                path=str(rel),
            )
            old = list(
                BoardScreenshot.objects.filter(device_id=device.device_id).order_by("-taken_at", "-pk")[keep:]
            )
            BoardScreenshot.objects.filter(pk__in=[o.pk for o in old]).delete()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    for o in old:
        screenshot_file(o).unlink(missing_ok=True)
    # compared with the expected render in a job (signage), never in this request
    screenshot_received.send(sender=BoardScreenshot, device_id=device.device_id, screenshot_id=shot.pk)
    return shot


MISMATCH_MESSAGE = "Màn hình đang hiển thị nội dung không có trong lịch phát"


def do_screen_verdict(
    shot: BoardScreenshot, verdict: str, distance: int | None, *, actor: Any, detail: str = ""
) -> Alarm | None:
    """Record how ``shot`` compared with what the board's manifest says it shows, and raise or clear the board's
    ``screen_mismatch`` alarm (one open at a time; audited both ways). ``verdict``: ``match``, ``mismatch`` or
    ``unchecked`` (nothing to compare with: the alarm is left as it is). The open alarm, if any, afterwards.

    Only the newest screenshot of a board moves the alarm: a late verdict on an older one is recorded, not acted on.
    """
    if verdict not in ("match", "mismatch", "unchecked"):
        raise ValueError(verdict)
    now = timezone.now()
    device = Device.objects.select_related("unit").get(device_id=shot.device_id)
    with transaction.atomic():
        BoardScreenshot.objects.filter(pk=shot.pk).update(verdict=verdict, distance=distance)
        alarms = Alarm.objects.select_for_update().filter(
            device_id=device.device_id, kind=Alarm.Kind.SCREEN_MISMATCH, cleared_at__isnull=True
        )
        open_alarm = alarms.first()
        newest = latest_screenshot(device)
        if verdict == "unchecked" or newest is None or newest.pk != shot.pk:
            return open_alarm
        taken = timezone.localtime(shot.taken_at).strftime("%H:%M:%S %d/%m/%Y")
        if verdict == "mismatch" and open_alarm is None:
            open_alarm = Alarm.objects.create(
                device_id=device.device_id,
                unit=device.unit,
                kind=Alarm.Kind.SCREEN_MISMATCH,
                raised_at=now,
                detail=(detail or f"{MISMATCH_MESSAGE} (ảnh chụp lúc {taken})")[:300],
            )
            record(
                "fleet.screen_mismatch_raised",
                actor=actor,
                unit=device.unit,
                obj=device,
                message=f"{MISMATCH_MESSAGE}: bảng tin {device.label} (ảnh chụp lúc {taken})",
                data={"screenshot": shot.pk, "distance": distance, "alarm": open_alarm.pk},
            )
        elif verdict == "match" and open_alarm is not None:
            alarms.update(cleared_at=now)
            record(
                "fleet.screen_mismatch_cleared",
                actor=actor,
                unit=device.unit,
                obj=device,
                message=f"Bảng tin {device.label} hiển thị lại đúng lịch phát (ảnh chụp lúc {taken})",
                data={"screenshot": shot.pk, "distance": distance, "alarm": open_alarm.pk},
            )
            open_alarm = None
    return open_alarm


def screen_mismatch(device: Device) -> Alarm | None:
    """The board's open ``screen_mismatch`` alarm, if any (the console shows it beside the last screenshot)."""
    return Alarm.objects.filter(
        device_id=device.device_id, kind=Alarm.Kind.SCREEN_MISMATCH, cleared_at__isnull=True
    ).first()


def latest_screenshot(device: Device) -> BoardScreenshot | None:
    return BoardScreenshot.objects.filter(device_id=device.device_id).order_by("-taken_at", "-pk").first()


# ---- kill switch ---------------------------------------------------------------------------------------------


def _active_switches() -> Any:
    return KillSwitch.objects.filter(released_at__isnull=True)


def _covering(unit_path: str, device_id: str) -> Q:
    """Active switches that cover a board of ``device_id`` in the unit at ``unit_path`` (its own, or an area's
    that is the unit or one of its ancestors)."""
    ancestors = [unit_path[: i + 1] for i, ch in enumerate(unit_path) if ch == "/"]
    return Q(device_id=device_id) | Q(device__isnull=True, unit__path__in=ancestors)


def killed(device: Device) -> bool:
    """Whether ``device`` (a board) is under an engaged kill switch: its own, or its unit's or an ancestor's.
    The board manifest carries this (``killed``), and the player shows a black screen while it is true."""
    return _active_switches().filter(_covering(device.unit.path, device.device_id)).exists()


def kill_switches_for(device: Device) -> list[KillSwitch]:
    return list(
        _active_switches()
        .filter(_covering(device.unit.path, device.device_id))
        .select_related("unit", "engaged_by")
    )


def killed_ids(devices: list[Device]) -> set[str]:
    """The ids of the ``devices`` under an engaged kill switch (one query for a page of devices)."""
    switches = list(_active_switches().select_related("unit").only("device_id", "unit__path"))
    if not switches:
        return set()
    own = {s.device_id for s in switches if s.device_id}
    areas = [s.unit.path for s in switches if s.device_id is None and s.unit is not None]
    return {
        d.device_id for d in devices if d.device_id in own or any(d.unit.path.startswith(a) for a in areas)
    }


def boards_in(unit: Unit) -> Any:
    return Device.objects.active().in_unit(unit).filter(kind=DeviceKind.EBOARD)


def do_engage_kill_switch(
    *,
    actor: Any,
    totp: str,
    target_unit: Unit | None = None,
    target_device: Device | None = None,
    reason: str = "",
    request: Any = None,
) -> KillSwitch:
    """Black screen on one board, or on every board of an area (now and enrolled later), until released.

    Always confirmed with the actor's TOTP code; the ``kill_switch`` command goes to the boards reached at once and
    the state stays on (the manifest's ``killed``) for any board that missed it."""
    if (target_unit is None) == (target_device is None):
        raise FleetError("target_invalid", "Chọn đúng một đích: một bảng tin hoặc một đơn vị.")
    if target_device is not None:
        check_board(target_device)
        if target_device.revoked_at is not None:
            raise FleetError("device_revoked", "Bảng tin này đã bị thu hồi.")
    reason = " ".join((reason or "").split())[:300]
    if not reason:
        raise FleetError(
            "reason_required", "Ghi lý do ngắt khẩn cấp (ví dụ: bảng tin bị chiếm quyền).", field="reason"
        )
    existing = _active_switches().filter(
        Q(device=target_device) if target_device is not None else Q(device__isnull=True, unit=target_unit)
    )
    if existing.exists():
        raise FleetError("kill_switch_engaged", "Ngắt khẩn cấp đã bật cho đích này rồi.", 409)
    check_totp(actor, totp)
    scope = target_device.unit if target_device is not None else target_unit
    assert scope is not None
    boards = [target_device] if target_device is not None else list(boards_in(scope).select_related("unit"))
    where = f"bảng tin {target_device.label}" if target_device is not None else scope.name
    now = timezone.now()
    with transaction.atomic():
        switch = KillSwitch.objects.create(
            unit=target_unit,
            device=target_device,
            scope=scope,
            reason=reason,
            engaged_at=now,
            engaged_by=actor if getattr(actor, "pk", None) else None,
        )
        commands = [
            issue_board_command(actor=actor, action="kill_switch", params={"engaged": True}, device=b)
            for b in boards
            if b is not None
        ]
        record(
            "fleet.kill_switch_engaged",
            actor=actor,
            request=request,
            unit=scope,
            obj=switch,
            message=f"Ngắt khẩn cấp (màn hình đen) {where}: {len(boards)} bảng tin",
            data={"reason": reason, "boards": len(boards), "commands": [str(c.pk) for c in commands]},
        )
        if target_device is not None:
            _changed(device_ids=[target_device.device_id])
        else:
            _changed(unit_paths=[scope.path])
    return switch


def do_release_kill_switch(switch: KillSwitch, *, actor: Any, totp: str, request: Any = None) -> KillSwitch:
    """End a kill switch (TOTP-confirmed): the boards it covered and no other switch still covers come back."""
    if switch.released_at is not None:
        raise FleetError("kill_switch_released", "Ngắt khẩn cấp này đã được gỡ.", 409)
    check_totp(actor, totp)
    scope = switch.scope
    boards = (
        [switch.device]
        if switch.device_id is not None and switch.device is not None
        else list(boards_in(scope).select_related("unit"))
    )
    with transaction.atomic():
        switch.released_at = timezone.now()
        switch.released_by = actor if getattr(actor, "pk", None) else None
        switch.save(update_fields=["released_at", "released_by"])
        still = killed_ids([b for b in boards if b.revoked_at is None])
        back = [b for b in boards if b.revoked_at is None and b.device_id not in still]
        commands = [
            issue_board_command(actor=actor, action="kill_switch", params={"engaged": False}, device=b)
            for b in back
        ]
        record(
            "fleet.kill_switch_released",
            actor=actor,
            request=request,
            unit=scope,
            obj=switch,
            message=f"Gỡ ngắt khẩn cấp {switch.device.label if switch.device else scope.name}: "
            f"{len(back)} bảng tin hiển thị lại",
            data={"boards": len(back), "still_killed": len(still), "commands": [str(c.pk) for c in commands]},
        )
        _changed(device_ids=[b.device_id for b in back])
    return switch


# ---- the board's side: heartbeat, commands, acks -------------------------------------------------------------


class BoardHeartbeat(Message):
    """What a board reports every 60 s (± 10 %) and on every change: ``POST /api/v1/fleet/boards/{id}/heartbeat``."""

    device_id: DeviceId
    ts: UtcDatetime
    uptime_s: Annotated[int, Field(ge=0)] = 0
    screen: Literal["on", "off", "black"] = Field(
        description="on: showing content; off: screen switched off (schedule or command); black: kill switch"
    )
    brightness: Annotated[int, Field(ge=0, le=100)] | None = None
    current_slide: Annotated[str, Field(max_length=200)] | None = None
    manifest_version: Annotated[int, Field(ge=0)] | None = None
    firmware: ShortText
    link: Literal["ethernet", "wifi", "4g", "3g", "fm", "unknown"] = "unknown"
    clock_offset_ms: int | None = None


def ingest_board_heartbeat(device: Device, beat: BoardHeartbeat) -> dict[str, Any]:
    """Presence and status from a board (what the gateway does for an MQTT status): online, last seen, last status,
    an offline alarm cleared, at most one history sample per interval. Answers what the board should know now."""
    now = timezone.now()
    status = beat.model_dump(mode="json") | {"state": "playing" if beat.screen == "on" else "idle"}
    with transaction.atomic():
        Device.objects.filter(pk=device.pk).update(
            online=True,
            last_seen=now,
            offline_since=None,
            last_status=status,
            firmware=beat.firmware[:64],
        )
        Alarm.objects.filter(
            device_id=device.device_id, kind=Alarm.Kind.OFFLINE, cleared_at__isnull=True
        ).update(cleared_at=now)
        interval = dt.timedelta(seconds=float(conf.get("LOA_STATUS_SAMPLE_INTERVAL_S")))
        if not StatusSample.objects.filter(device_id=device.device_id, at__gt=beat.ts - interval).exists():
            StatusSample.objects.create(
                device_id=device.device_id,
                at=beat.ts,
                state=beat.screen,
                link=beat.link,
                clock_offset_ms=beat.clock_offset_ms,
            )
    return {
        "killed": killed(device),
        "pending_commands": _open_deliveries(device).count(),
        "server_time": now,
    }


def _open_deliveries(device: Device) -> Any:
    return CommandDelivery.objects.filter(
        device_id=device.device_id,
        state__in=(DeliveryState.PENDING, DeliveryState.SENT),
        command__expires_at__gt=timezone.now(),
    )


def pending_commands(device: Device) -> list[dict[str, Any]]:
    """The signed commands this board has not acknowledged yet (oldest first); they count as sent from now."""
    now = timezone.now()
    rows = list(
        _open_deliveries(device).select_related("command").order_by("command__issued_at", "command__seq")
    )
    CommandDelivery.objects.filter(pk__in=[r.pk for r in rows], state=DeliveryState.PENDING).update(
        state=DeliveryState.SENT, sent_at=now, updated_at=now
    )
    return [r.command.message for r in rows]


def ingest_board_ack(device: Device, ack: CommandAck) -> str:
    """A board's ack of one command (like the gateway's for MQTT acks): received, then done/refused/failed. The
    delivery's state afterwards; a command that is not the board's is ``command_not_found``."""
    delivery = CommandDelivery.objects.filter(command_id=ack.command_id, device_id=device.device_id).first()
    if delivery is None:
        raise FleetError("command_not_found", "Không có lệnh này cho bảng tin này.", 404)
    open_before = (
        (DeliveryState.PENDING, DeliveryState.SENT)
        if ack.status == "received"
        else (DeliveryState.PENDING, DeliveryState.SENT, DeliveryState.RECEIVED)
    )
    CommandDelivery.objects.filter(pk=delivery.pk, state__in=open_before).update(
        state=ack.status, reason=(ack.reason or "")[:300], acked_at=ack.at,
        updated_at=timezone.now(),
    )  # fmt: skip
    delivery.refresh_from_db(fields=["state"])
    return str(delivery.state)
