"""Fleet services: ``check_*`` validates, ``do_*`` changes state and writes the audit log in the same transaction.

Commands are signed here, when they are created (the web process holds the signing key; the gateway only
publishes the stored, signed message). The command row and the audit entry commit together: that is the
transactional outbox the gateway publishes from. The per-device delivery rows commit with them too, except for a
loudspeaker command to a large area (:data:`DEFERRED_ROWS_FROM` clusters or more, an emergency to a province): its
rows are written right after the commit and the gateway's poke, while the command is being published
(docs/fleet.md "Commands").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from pydantic import ValidationError

from loa.accounts.system import is_system
from loa.audit.log import record
from loa.errors import Refusal
from loa.fleet import broker, conf, keys
from loa.fleet.models import (
    Command,
    CommandDelivery,
    DeliveryState,
    Device,
    DeviceKind,
    EnrolmentCode,
    TopicSequence,
)
from loa.fleet.signals import send_board_changed
from loa.media.models import MediaAsset
from loa.playable.resolve import media_url
from loa.units.models import Level, Unit
from loa_protocol import topics
from loa_protocol.ladder import PlayClass
from loa_protocol.messages import BOARD_ACTIONS, PARAMS_BY_ACTION, EnrolRequest, EnrolResponse
from loa_protocol.signing import sign_command

log = logging.getLogger(__name__)

# a loudspeaker command reaching this many clusters or more has its delivery rows written after the publish
DEFERRED_ROWS_FROM = 500


class FleetError(Refusal):
    """A refused fleet action (enrolment, device, command)."""


# ---- enrolment codes -----------------------------------------------------------------------------------

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud and typed on a phone
CODE_LENGTH = 12


def new_enrolment_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def normalise_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def code_hash(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def enrolment_uri(code: str) -> str:
    """What the QR code holds: the server and the code, so a device (or the installer app) needs nothing else."""
    from django.conf import settings

    return f"loa://enrol?server={quote(str(settings.LOA_PUBLIC_URL), safe='')}&code={code}"


def qr_svg(text: str) -> str:
    import io

    import segno

    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", scale=5, border=2, xmldecl=False, svgns=True)
    return out.getvalue().decode()


def check_enrolment_unit(unit: Unit) -> Unit:
    if unit.level not in (Level.COMMUNE, Level.ZONE):
        raise FleetError(
            "enrolment_unit_invalid", "Cụm loa phải thuộc một xã/phường/đặc khu hoặc một thôn/bản/tổ dân phố."
        )
    if not unit.is_active:
        raise FleetError("enrolment_unit_inactive", "Đơn vị này đã ngừng sử dụng.")
    return unit


def check_device_kind(kind: str, screen_class: str) -> tuple[str, str]:
    """What an enrolment code enrols: a loudspeaker cluster, or a board with its screen class."""
    from loa.fleet.models import ScreenClass

    kind = kind or DeviceKind.LOUDSPEAKER
    if kind not in DeviceKind.values:
        raise FleetError(
            "device_kind_invalid",
            "Loại thiết bị phải là cụm loa truyền thanh hoặc bảng tin điện tử.",
            field="kind",
        )
    if kind != DeviceKind.EBOARD:
        return kind, ""
    screen_class = screen_class or ScreenClass.LANDSCAPE
    if screen_class not in ScreenClass.values:
        raise FleetError(
            "screen_class_invalid",
            "Loại màn hình không hợp lệ: chọn màn hình ngang 1920×1080, dọc 1080×1920, bảng LED 192×96, "
            "bảng LED 384×192 hoặc kích thước khác.",
            field="screen_class",
        )
    return kind, screen_class


def do_create_enrolment_code(
    unit: Unit,
    *,
    actor: Any,
    request: Any = None,
    label: str = "",
    ttl_hours: int | None = None,
    kind: str = "",
    screen_class: str = "",
) -> tuple[EnrolmentCode, str]:
    """A fresh one-time code for ``unit``; the plain code is returned once and only its hash is kept."""
    check_enrolment_unit(unit)
    kind, screen_class = check_device_kind(kind, screen_class)
    ttl = int(ttl_hours or conf.get("LOA_ENROLMENT_CODE_TTL_H"))
    if not 1 <= ttl <= 24 * 30:
        raise FleetError("enrolment_ttl_invalid", "Thời hạn của mã đăng ký phải từ 1 giờ đến 30 ngày.")
    label = " ".join((label or "").split())[:200]
    code = new_enrolment_code()
    with transaction.atomic():
        obj = EnrolmentCode.objects.create(
            code_hash=code_hash(code),
            hint=normalise_code(code)[-4:],
            unit=unit,
            label=label,
            kind=kind,
            screen_class=screen_class,
            created_by=actor if getattr(actor, "pk", None) else None,
            expires_at=timezone.now() + dt.timedelta(hours=ttl),
        )
        what = "bảng tin điện tử" if kind == DeviceKind.EBOARD else "cụm loa"
        record(
            "fleet.enrolment_code_created",
            actor=actor,
            request=request,
            unit=unit,
            obj=obj,
            message=f"Tạo mã đăng ký {what} cho {unit.name} (…{obj.hint})",
            data={"expires_at": obj.expires_at.isoformat(), "label": label, "kind": kind}
            | ({"screen_class": screen_class} if screen_class else {}),
        )
    return obj, code


def do_cancel_enrolment_code(obj: EnrolmentCode, *, actor: Any, request: Any = None) -> None:
    if obj.used_at or obj.cancelled_at:
        raise FleetError("enrolment_code_closed", "Mã này đã được dùng hoặc đã hủy.")
    with transaction.atomic():
        obj.cancelled_at = timezone.now()
        obj.save(update_fields=["cancelled_at"])
        record(
            "fleet.enrolment_code_cancelled",
            actor=actor,
            request=request,
            unit=obj.unit,
            obj=obj,
            message=f"Hủy mã đăng ký …{obj.hint}",
        )


# ---- enrolment -----------------------------------------------------------------------------------------

# Failed enrolments are counted per client address (LOA_TRUSTED_PROXIES decides what that is, so one proxy's
# address never stands for every device) and per existing code (a known code under attack is closed before it
# can be brute-forced with device data); a valid code from another address is never blocked by these.
ENROL_FAILURES_PER_WINDOW = 20
ENROL_FAILURES_PER_CODE = 5
ENROL_WINDOW_S = 600


def _window_start(now: dt.datetime, window_s: int) -> dt.datetime:
    epoch = int(now.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % window_s, tz=dt.UTC)


def _enrol_keys(client: str, code: str) -> list[tuple[str, int]]:
    keys = [(f"enrol:{client}", ENROL_FAILURES_PER_WINDOW)]
    if code and EnrolmentCode.objects.filter(code_hash=code_hash(code)).exists():
        keys.append((f"enrol:code:{code_hash(code)[:32]}", ENROL_FAILURES_PER_CODE))
    return keys


def check_enrol_attempts(client: str, code: str = "", *, now: dt.datetime | None = None) -> None:
    """Refuse a client (its address) or a code that failed too often in the current window, whichever process
    it hit."""
    from loa.fleet.models import AttemptCounter

    start = _window_start(now or timezone.now(), ENROL_WINDOW_S)
    for key, limit in _enrol_keys(client, code):
        row = AttemptCounter.objects.filter(key=key, window_start=start).first()
        if row is None or row.count < limit:
            continue
        if key.startswith("enrol:code:"):
            raise FleetError(
                "too_many_attempts",
                "Mã đăng ký này đã bị dùng sai quá nhiều lần nên tạm khóa; thử lại sau 10 phút hoặc xin kỹ thuật "
                "viên mã mới.",
                429,
            )
        raise FleetError(
            "too_many_attempts",
            f"Địa chỉ mạng {client} đã nhập sai mã đăng ký quá nhiều lần; thử lại sau 10 phút "
            "(thiết bị ở mạng khác không bị ảnh hưởng).",
            429,
        )


def do_count_enrol_failure(client: str, error: FleetError, *, code: str = "", request: Any = None) -> int:
    """Count one failed enrolment of ``client`` (and of ``code`` if it exists) and audit it; the address's count
    in the window."""
    from django.db.models import F

    from loa.fleet.models import AttemptCounter

    now = timezone.now()
    start = _window_start(now, ENROL_WINDOW_S)
    counts = []
    with transaction.atomic():
        for key, _limit in _enrol_keys(client, code):
            AttemptCounter.objects.get_or_create(key=key, window_start=start)
            AttemptCounter.objects.filter(key=key, window_start=start).update(count=F("count") + 1)
            counts.append(AttemptCounter.objects.get(key=key, window_start=start).count)
        count = counts[0]
        AttemptCounter.objects.filter(window_start__lt=now - dt.timedelta(days=1)).delete()
        record(
            "fleet.enrolment_failed",
            actor=f"địa chỉ {client}",
            request=request,
            object_type="fleet.attemptcounter",
            object_id=f"enrol:{client}"[:64],
            message=f"Đăng ký thiết bị thất bại từ {client}: {error.code} (lần {count} trong 10 phút)",
            data={"code": error.code, "client": client, "count": count},
        )
    return count


def _claim_code(code: str) -> EnrolmentCode:
    obj = (
        EnrolmentCode.objects.select_for_update()
        .select_related("unit")
        .filter(code_hash=code_hash(code))
        .first()
    )
    if obj is None or obj.cancelled_at is not None:
        raise FleetError(
            "enrolment_code_invalid",
            "Mã đăng ký không đúng. Kiểm tra lại mã hoặc xin kỹ thuật viên mã mới.",
            400,
        )
    if obj.used_at is not None:
        raise FleetError(
            "enrolment_code_used",
            "Mã đăng ký này đã được dùng. Mỗi mã chỉ dùng một lần; hãy xin mã mới.",
            409,
        )
    if obj.expires_at <= timezone.now():
        raise FleetError("enrolment_code_expired", "Mã đăng ký đã hết hạn; hãy xin mã mới.", 410)
    return obj


def device_urls(device_id: str, *, board: bool = False) -> tuple[str, str]:
    """``(media_base_url, manifest_url)`` of a device; a board's manifest is the board manifest of the player's
    endpoint (``/board/api/manifest``, HTTP Basic), a cluster's the broadcast one."""
    from django.conf import settings

    base = str(settings.LOA_PUBLIC_URL).rstrip("/")
    if board:
        return f"{base}/media/", f"{base}/board/api/manifest"
    # media_base_url is the prefix of every media URL a command or manifest names (``<base>/media/files/<sha256>.mp3``,
    # protocol.md §6); it was MEDIA_URL (``/files/``), which no media URL starts with. The manifest is compiled and
    # served by broadcasting (device credentials as HTTP Basic auth).
    return f"{base}/media/", f"{base}/api/v1/broadcast/manifests/{device_id}"


def _existing_device(req: EnrolRequest) -> Device | None:
    """The same hardware enrolling again (after a repair or a reflash) keeps its identity and history."""
    qs = Device.objects.active().select_for_update()
    if req.imei:
        return qs.filter(imei=req.imei).first()
    return qs.filter(vendor=req.vendor, serial=req.serial).first()


def do_enrol(req: EnrolRequest, *, request: Any = None) -> EnrolResponse:
    """Redeem a one-time code: create (or re-enrol) the device with fresh broker credentials."""
    password = broker.new_password()
    now = timezone.now()
    with transaction.atomic():
        claimed = _claim_code(req.code)
        unit = claimed.unit
        device = _existing_device(req)
        reenrolled = device is not None
        if device is None:
            device = Device(adapter="loa")
        device.kind = claimed.kind or DeviceKind.LOUDSPEAKER  # what the code was made for
        device.unit = unit
        device.imei = req.imei or ""
        device.serial, device.vendor, device.model, device.firmware = (
            req.serial,
            req.vendor,
            req.model,
            req.firmware,
        )
        device.credentials_hash = broker.hash_password(password)
        device.enrolled_at = now
        if claimed.label and not device.name:
            device.name = claimed.label  # the name the technician gave with the code
        for _attempt in range(5):
            if not device.device_id:
                device.device_id = topics.new_device_id()
            try:
                with transaction.atomic():
                    device.save()
                break
            except IntegrityError:
                if reenrolled:
                    raise
                device.device_id = ""
        claimed.used_at = now
        claimed.device = device
        claimed.save(update_fields=["used_at", "device"])
        if device.kind == DeviceKind.EBOARD:
            _ensure_board_screen(device, claimed.screen_class)
            send_board_changed(device_ids=[device.device_id])
        what = "bảng tin" if device.kind == DeviceKind.EBOARD else "cụm loa"
        record(
            "fleet.device_reenrolled" if reenrolled else "fleet.device_enrolled",
            actor=f"thiết bị {device.device_id}",
            request=request,
            unit=unit,
            obj=device,
            message=f"{'Đăng ký lại' if reenrolled else 'Đăng ký'} {what} {device.device_id} vào {unit.name}",
            data={
                "serial": req.serial,
                "imei": req.imei,
                "vendor": req.vendor,
                "model": req.model,
                "code": claimed.hint,
            },
        )
        transaction.on_commit(lambda: broker.write_broker_files())
    return credentials_for(device, password)


def _ensure_board_screen(device: Device, screen_class: str) -> None:
    """A board's screen row at enrolment, of the class its code was made for (checked when the code was made)."""
    from loa.fleet.models import SCREEN_SIZES, BoardScreen, Orientation, ScreenClass

    cls = screen_class if screen_class in SCREEN_SIZES else ScreenClass.LANDSCAPE
    w, h = SCREEN_SIZES[cls]
    orientation = Orientation.PORTRAIT if h > w else Orientation.LANDSCAPE
    BoardScreen.objects.get_or_create(
        device_id=device.device_id,
        defaults={"screen_class": cls, "width": w, "height": h, "orientation": orientation},
    )


def credentials_for(device: Device, password: str) -> EnrolResponse:
    """What a device receives at enrolment (the password is only ever known here, never stored)."""
    codes = list(broker.unit_codes_of(device.unit.path))
    media_base, manifest_url = device_urls(device.device_id, board=device.kind == DeviceKind.EBOARD)
    return EnrolResponse(
        device_id=device.device_id,
        mqtt_url=broker.device_mqtt_url(),
        mqtt_username=device.device_id,
        mqtt_password=password,
        server_public_key=keys.public_key(),
        unit_codes=codes,
        subscriptions=topics.device_subscriptions(device.device_id, codes),
        media_base_url=media_base,
        manifest_url=manifest_url,
    )


def do_provision_device(
    unit: Unit,
    *,
    actor: Any,
    serial: str,
    vendor: str = "Loa",
    model: str = "sim",
    firmware: str = "sim",
    name: str = "",
) -> tuple[Device, str]:
    """Server-side enrolment without a code (``loa simulate``): the device and its password."""
    check_enrolment_unit(unit)
    password = broker.new_password()
    with transaction.atomic():
        device = Device.objects.create(
            device_id=topics.new_device_id(),
            name=" ".join(name.split())[:200],
            unit=unit,
            serial=serial,
            vendor=vendor,
            model=model,
            firmware=firmware,
            credentials_hash=broker.hash_password(password),
            enrolled_at=timezone.now(),
        )
        record(
            "fleet.device_provisioned",
            actor=actor,
            unit=unit,
            obj=device,
            message=f"Tạo cụm loa {device.device_id} (mô phỏng) trong {unit.name}",
        )
    return device, password


def do_revoke_device(device: Device, *, actor: Any, request: Any = None, reason: str = "") -> Device:
    if device.revoked_at is not None:
        raise FleetError("device_revoked", "Cụm loa này đã bị thu hồi.")
    with transaction.atomic():
        device.revoked_at = timezone.now()
        device.credentials_hash = ""
        device.online = False
        device.save(update_fields=["revoked_at", "credentials_hash", "online"])
        record(
            "fleet.device_revoked",
            actor=actor,
            request=request,
            unit=device.unit,
            obj=device,
            message=f"Thu hồi cụm loa {device.device_id}",
            data={"reason": reason[:300]},
        )
        transaction.on_commit(lambda: broker.write_broker_files())
    return device


EDITABLE_FIELDS = (
    "name",
    "imei",
    "serial",
    "vendor",
    "model",
    "sim_number",
    "sim_expires",
    "data_plan_expires",
    "latitude",
    "longitude",
    "address",
    "installed_on",
    "warranty_until",
    "notes",
)


def check_device_fields(changes: dict[str, Any]) -> dict[str, Any]:
    unknown = set(changes) - set(EDITABLE_FIELDS) - {"unit"}
    if unknown:
        raise FleetError("field_unknown", f"Không sửa được trường: {', '.join(sorted(unknown))}.")
    lat, lon = changes.get("latitude"), changes.get("longitude")
    if lat is not None and not -90 <= float(lat) <= 90:
        raise FleetError("latitude_invalid", "Vĩ độ phải nằm trong khoảng -90 đến 90.")
    if lon is not None and not -180 <= float(lon) <= 180:
        raise FleetError("longitude_invalid", "Kinh độ phải nằm trong khoảng -180 đến 180.")
    for key in ("name", "serial", "vendor", "model", "address"):
        if key in changes and changes[key] is not None and len(str(changes[key])) > 300:
            raise FleetError("field_too_long", f"Trường {key} dài quá 300 ký tự.")
    if "unit" in changes:
        check_enrolment_unit(changes["unit"])
    return changes


def do_update_device(device: Device, changes: dict[str, Any], *, actor: Any, request: Any = None) -> Device:
    changes = check_device_fields(dict(changes))
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    unit_changed = False
    for key, value in changes.items():
        if key == "unit":
            if value.pk != device.unit_id:
                before["unit"], after["unit"] = device.unit.code, value.code
                device.unit = value
                unit_changed = True
            continue
        value = (
            ""
            if value is None
            and key in ("name", "imei", "serial", "vendor", "model", "sim_number", "address", "notes")
            else value
        )
        if getattr(device, key) != value:
            before[key], after[key] = getattr(device, key), value
            setattr(device, key, value)
    if not after:
        return device
    with transaction.atomic():
        device.save()
        record(
            "fleet.device_updated",
            actor=actor,
            request=request,
            unit=device.unit,
            obj=device,
            message=f"Sửa thông tin cụm loa {device.device_id}",
            data={"before": before, "after": after},
        )
        if unit_changed:  # its group topics changed
            transaction.on_commit(lambda: broker.write_broker_files())
    return device


# ---- commands ------------------------------------------------------------------------------------------

DEFAULT_TTL_S = 300
ACTION_LABELS = dict(Command.Action.choices)


def check_ordinary_command(action: str, params: dict[str, Any]) -> dict[str, Any]:
    """What an operator or a client may send as a command: the action's parameters, validated; the kill switch is
    not one (its own path, reason and audit: :mod:`loa.fleet.boards`)."""
    if action == Command.Action.KILL_SWITCH:
        raise FleetError(
            "kill_switch_not_a_command",
            "Ngắt khẩn cấp bảng tin dùng chức năng “Ngắt khẩn cấp” (cần lý do và mã TOTP), không gửi như lệnh thường.",
        )
    return check_command(action, params)


# parameters an operator types in the console, named as the form names them, with what is allowed
_PARAM_WORDS = {
    "volume": ("Âm lượng", "phải là số nguyên từ 0 đến 100"),
    "repeat": ("Số lần phát", "phải là số nguyên từ 1 đến 100"),
    "brightness": ("Độ sáng", "phải là số nguyên từ 0 đến 100"),
    "priority": ("Mức ưu tiên", "phải từ 1 đến 4"),
}


def check_command(action: str, params: dict[str, Any]) -> dict[str, Any]:
    model = PARAMS_BY_ACTION.get(action)
    if model is None:
        raise FleetError("action_invalid", f"Lệnh không hợp lệ: {action!r}.")
    try:
        parsed = model.model_validate(params or {})
    except ValidationError as exc:
        parts = []
        for err in exc.errors()[:4]:
            where = ".".join(str(p) for p in err["loc"]) or "tham số"
            if where in _PARAM_WORDS:  # the operator's words and the allowed range, not the wire name
                name, allowed = _PARAM_WORDS[where]
                parts.append(f"{name} {allowed}" if err["type"] != "missing" else f"thiếu {name.lower()}")
            else:
                parts.append(f"{where}: {'thiếu' if err['type'] == 'missing' else 'không hợp lệ'}")
        raise FleetError(
            "params_invalid", "Tham số của lệnh không hợp lệ: " + "; ".join(parts) + "."
        ) from None
    return parsed.model_dump(mode="json", exclude_none=True)


def area_reach(unit: Unit, *, for_boards: bool) -> Any:
    """The devices a command to ``unit`` reaches: its active boards, or its active loudspeaker clusters (the one
    query :func:`do_send_command` makes its rows from and the console's confirmation counts)."""
    return (
        Device.objects.active()
        .in_unit(unit)
        .filter(kind=DeviceKind.EBOARD if for_boards else DeviceKind.LOUDSPEAKER)
    )


def communes_reached(target_unit: Unit | None, target_device: Device | None) -> int:
    if target_device is not None:
        return 1
    assert target_unit is not None
    if target_unit.level >= Level.COMMUNE:
        return 1
    return Unit.objects.filter(path__startswith=target_unit.path, level=Level.COMMUNE).count()


# How long after its command an emergency or live item counts as possibly still playing (repeats included).
PROTECTED_ITEM_WINDOW = dt.timedelta(hours=6)
# Commands that can end or muffle what is playing: stopping an emergency or live item needs the same code as
# starting it (otherwise anyone holding an approver's token could silence a live warning).
_INTERRUPTING = {Command.Action.STOP, Command.Action.PAUSE, Command.Action.NEXT, Command.Action.VOLUME}


def protected_items(target_unit: Unit | None, target_device: Device | None) -> set[str]:
    """Item ids of recent emergency/live plays (priority 1–2) whose area overlaps the target's."""
    path = target_device.unit.path if target_device is not None else target_unit.path  # type: ignore[union-attr]
    recent = Command.objects.filter(
        action=Command.Action.PLAY,
        issued_at__gte=timezone.now() - PROTECTED_ITEM_WINDOW,
        params__priority__lte=PlayClass.LIVE,
    ).select_related("unit")
    return {
        str(c.params.get("item_id"))
        for c in recent
        if path.startswith(c.unit.path) or c.unit.path.startswith(path)
    }


def totp_required(
    action: str,
    params: dict[str, Any],
    target_unit: Unit | None,
    target_device: Device | None,
    *,
    actor: Any,
) -> bool:
    """The one TOTP rule of device control, at start and at stop.

    A code is needed for: reboots; emergency/live priority plays; anything reaching more than one commune (bulk
    control, multi-commune play-now); and stopping, pausing, skipping or turning down an emergency/live item — named
    by its ``item_id``, or by a stop/pause/next/volume without one while such an item may still play there.

    The one exception: a ``stop`` sent by the system actor. :data:`~loa.accounts.system.SYSTEM` only carries out a
    decision a person already took and confirmed with their own code (the hand-off of a cancelled bulletin, whose
    cancel asked the canceller's TOTP: :func:`loa.content.workflow.access_totp_confirmation`); it has no phone to
    read a code from, and no request or API token can act as it (only jobs build it; docs/adr/0009)."""
    if is_system(actor) and action == Command.Action.STOP:
        return False
    if action == Command.Action.REBOOT:
        return True
    if action == Command.Action.PLAY and int(params.get("priority", PlayClass.NORMAL)) <= PlayClass.LIVE:
        return True
    if communes_reached(target_unit, target_device) > 1:
        return True
    if action in _INTERRUPTING:
        protected = protected_items(target_unit, target_device)
        item = params.get("item_id")
        return bool(protected) and (item is None or str(item) in protected)
    return False


@dataclass(frozen=True)
class TotpConfirmed:
    """A TOTP code :func:`confirm_totp` has already accepted for the user ``user_pk`` (a code serves once), passed to
    :func:`do_send_command` instead of the code by an action that checks the code before its expensive part and
    stores its command after it (an emergency is on the boards before its speech is made). Only code builds one: a
    request's string never is one. Good for :data:`CONFIRMED_TOTP_S`."""

    user_pk: int
    at: float = field(default_factory=time.monotonic)


CONFIRMED_TOTP_S = 600


def confirm_totp(user: Any, code: str) -> TotpConfirmed:
    """:func:`check_totp`, remembered for the command that follows (:class:`TotpConfirmed`)."""
    check_totp(user, code)
    return TotpConfirmed(int(user.pk))


def check_totp(user: Any, code: str) -> None:
    from django_otp import match_token

    code = "".join((code or "").split())
    if not code:
        from django_otp import devices_for_user

        if getattr(user, "pk", None) and not any(devices_for_user(user, confirmed=True)):
            # a code this person cannot produce yet: say how to get one instead of asking for it
            raise FleetError(  # the same code for clients: only the message says what to do
                "totp_required",
                "Lệnh này cần mã xác thực một lần (TOTP), nhưng tài khoản của bạn chưa đăng ký ứng dụng xác "
                "thực: vào /accounts/2fa/setup/ để đăng ký (quét mã QR bằng ứng dụng trên điện thoại), hoặc nhờ "
                "người đã đăng ký gửi lệnh này.",
                403,
            )
        raise FleetError(
            "totp_required",
            "Lệnh này cần mã xác thực một lần (TOTP) từ ứng dụng xác thực của bạn.",
            403,
        )
    if not code.isdigit() or len(code) not in (6, 8) or match_token(user, code) is None:
        raise FleetError(
            "totp_invalid",
            "Mã xác thực (TOTP) không đúng, đã dùng hoặc đã hết hạn. Mỗi mã chỉ dùng được một lần: nếu vừa dùng "
            "mã này (ví dụ để phát), hãy chờ mã tiếp theo trên ứng dụng (tối đa 30 giây) rồi nhập lại.",
            403,
        )


def _next_seq(topic: str) -> int:
    TopicSequence.objects.get_or_create(topic=topic)
    seq_row = TopicSequence.objects.select_for_update().get(topic=topic)
    seq_row.last_seq += 1
    seq_row.save(update_fields=["last_seq"])
    return seq_row.last_seq


def check_play_media(params: dict[str, Any]) -> None:
    """Every play command (whoever sends it) names library audio by its own URL: never an arbitrary address."""
    sha = str(params.get("sha256", ""))
    if not MediaAsset.objects.filter(sha256=sha, kind=MediaAsset.Kind.AUDIO).exists():
        raise FleetError("media_not_found", "Âm thanh cần phát không có trong thư viện của hệ thống.", 404)
    if params.get("media_url") != media_url(sha):
        raise FleetError(
            "media_url_not_allowed",
            "Cụm loa chỉ phát nội dung của hệ thống: địa chỉ tệp phải là địa chỉ của thư viện âm thanh.",
        )


# Loudspeaker-only actions (audio); the board actions are loa_protocol.messages.BOARD_ACTIONS.
SPEAKER_ACTIONS = frozenset({"play", "stop", "pause", "resume", "next", "volume"})


def board_route(action: str, target_unit: Unit | None, target_device: Device | None) -> bool:
    """Whether a command goes to boards (stored signed, fetched by the board over HTTPS) rather than to loudspeaker
    clusters (published on MQTT); refuses an action the target's kind cannot carry out."""
    if target_device is not None:
        board = target_device.kind == DeviceKind.EBOARD
        if board and action in SPEAKER_ACTIONS:
            raise FleetError(
                "action_not_for_board",
                f"Lệnh “{ACTION_LABELS.get(action, action)}” chỉ dành cho cụm loa, không dùng cho bảng tin điện tử.",
            )
        if not board and action in BOARD_ACTIONS:
            raise FleetError(
                "action_for_boards_only",
                f"Lệnh “{ACTION_LABELS.get(action, action)}” chỉ dành cho bảng tin điện tử.",
            )
        return board
    return action in BOARD_ACTIONS


def _create_command(
    *,
    actor: Any,
    action: str,
    params: dict[str, Any],
    topic: str,
    devices: list[str],
    unit: Unit,
    target_unit: Unit | None,
    target_device: Device | None,
    ttl: int,
    for_boards: bool,
    reach: Any = None,
) -> Command:
    """Sign and store one command with its deliveries (inside the caller's transaction). A board command is
    ``published`` at once: nothing goes on MQTT, the boards fetch it (:func:`loa.fleet.boards.pending_commands`).
    With ``reach`` (a query of the devices reached) the rows are one INSERT … SELECT instead of ``devices``."""
    now = timezone.now()
    seq = _next_seq(topic)
    signed = sign_command(
        keys.private_key(),
        topic=topic,
        seq=seq,
        action=action,
        params=params,
        issued_at=now,
        expires_at=now + dt.timedelta(seconds=ttl),
        command_id=uuid.uuid4(),
    )
    command = Command.objects.create(
        id=signed.id,
        action=action,
        params=params,
        topic=topic,
        seq=seq,
        target_unit=target_unit,
        target_device=target_device,
        unit=unit,
        issued_by=actor if getattr(actor, "pk", None) else None,
        issued_at=signed.issued_at,
        expires_at=signed.expires_at,
        message=signed.model_dump(mode="json"),
        state=Command.State.PUBLISHED if for_boards else Command.State.PENDING,
        published_at=now if for_boards else None,
    )
    if reach is not None:
        _insert_deliveries(command, reach, state=DeliveryState.PENDING, sent_at=None)
    else:
        CommandDelivery.objects.bulk_create(
            [CommandDelivery(command=command, device_id=d) for d in devices], batch_size=1000
        )
    return command


def _insert_deliveries(command: Command, reach: Any, *, state: str, sent_at: dt.datetime | None) -> int:
    """One delivery row per device of ``reach`` (a ``Device`` query) in one statement, keeping any row already
    there (an ack that came first made it: docs/gateway.md "Acks before their row"). Returns the rows added."""
    pk_field = Command._meta.pk
    assert pk_field is not None
    select_sql, select_params = reach.values("device_id").query.sql_with_params()
    now = timezone.now()
    ops = connection.ops
    table = CommandDelivery._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (command_id, device_id, state, reason, sent_at, acked_at, updated_at) "  # noqa: S608
            f"SELECT %s, r.device_id, %s, '', %s, NULL, %s FROM ({select_sql}) r WHERE 1 = 1 "
            "ON CONFLICT (command_id, device_id) DO NOTHING",
            [
                pk_field.get_db_prep_value(command.pk, connection),
                str(state),
                ops.adapt_datetimefield_value(sent_at),
                ops.adapt_datetimefield_value(now),
                *select_params,
            ],
        )
        return max(cursor.rowcount, 0)


def _write_deferred_deliveries(command_id: Any, reach: Any) -> None:
    """The delivery rows of a command committed without them (after the gateway's poke). Under the command row's
    lock, so the gateway's ``mark_published`` either ran before (the rows are created ``sent``) or moves them after
    (created ``pending``): never a row left ``pending`` for a published command."""
    try:
        with transaction.atomic():
            state = (
                Command.objects.select_for_update()
                .filter(pk=command_id)
                .values_list("state", "published_at")
                .first()
            )
            if state is None:
                return
            published = state[0] != Command.State.PENDING
            _insert_deliveries(
                Command(pk=command_id),
                reach,
                state=DeliveryState.SENT if published else DeliveryState.PENDING,
                sent_at=state[1] if published else None,
            )
    except Exception:
        # the command is out: the acks still make their rows (docs/gateway.md); the missing rows are only a record
        log.exception("Không ghi được các dòng gửi lệnh %s tới từng cụm loa", command_id)


def issue_board_command(
    *, actor: Any, action: str, params: dict[str, Any], device: Device, ttl_s: int = DEFAULT_TTL_S
) -> Command:
    """A signed command for one board, without checks of its own: for services that checked the actor's rights
    and code and audit the whole change themselves (the kill switch, :mod:`loa.fleet.boards`)."""
    return _create_command(
        actor=actor,
        action=action,
        params=check_command(action, params),
        topic=topics.device_command_topic(device.device_id),
        devices=[device.device_id],
        unit=device.unit,
        target_unit=None,
        target_device=device,
        ttl=ttl_s,
        for_boards=True,
    )


def do_send_command(
    *,
    actor: Any,
    action: str,
    params: dict[str, Any] | None = None,
    target_unit: Unit | None = None,
    target_device: Device | None = None,
    totp: str | TotpConfirmed = "",
    ttl_s: int | None = None,
    request: Any = None,
    audit_data: dict[str, Any] | None = None,
) -> Command:
    """Sign a command, store it with one delivery row per device reached, and audit it — in one transaction
    (the rows of a large loudspeaker fan-out right after it, see the module's docstring).

    A play command must name library audio by the library's own URL (:func:`check_play_media`);
    operators and API clients build it from a bulletin, an asset or text with :func:`loa.fleet.play.do_play_now`.
    Board actions (:data:`~loa_protocol.messages.BOARD_ACTIONS`) reach the boards of the target only, the others
    the loudspeaker clusters only; a board fetches its commands over HTTPS (docs/fleet.md "Boards").
    """
    if (target_unit is None) == (target_device is None):
        raise FleetError("target_invalid", "Chọn đúng một đích: một cụm loa hoặc một đơn vị.")
    params = check_ordinary_command(action, params or {})
    if action == Command.Action.PLAY:
        check_play_media(params)
    ttl = int(ttl_s or DEFAULT_TTL_S)
    if not 10 <= ttl <= 7 * 86400:
        raise FleetError("ttl_invalid", "Thời hạn của lệnh phải từ 10 giây đến 7 ngày.")
    for_boards = board_route(action, target_unit, target_device)
    what = "bảng tin" if for_boards else "cụm loa"
    if target_device is not None:
        if target_device.revoked_at is not None:
            raise FleetError("device_revoked", f"{what.capitalize()} này đã bị thu hồi.")
        devices = [target_device.device_id]
        reached = 1
        reach = None
        topic = topics.device_command_topic(target_device.device_id)
        unit = target_device.unit
        where = f"{what} {target_device.label}"
    else:
        assert target_unit is not None
        unit = target_unit
        # the rows come from this query in one INSERT … SELECT: no device id passes through Python
        reach = area_reach(target_unit, for_boards=for_boards)
        devices = []
        reached = reach.count()
        topic = topics.group_command_topic(list(broker.unit_codes_of(unit.path)))
        where = unit.name
    if not reached:
        raise FleetError("no_devices", f"Không có {what} nào đang hoạt động trong {where}.")
    if totp_required(action, params, target_unit, target_device, actor=actor):
        confirmed = (
            isinstance(totp, TotpConfirmed)
            and totp.user_pk == getattr(actor, "pk", None)
            and time.monotonic() - totp.at <= CONFIRMED_TOTP_S
        )
        if not confirmed:
            check_totp(actor, totp if isinstance(totp, str) else "")
    # a large loudspeaker fan-out is published before its rows are written (the acks that come first make theirs)
    deferred = reach is not None and not for_boards and reached >= DEFERRED_ROWS_FROM
    with transaction.atomic():
        command = _create_command(
            actor=actor,
            action=action,
            params=params,
            topic=topic,
            devices=devices,
            unit=unit,
            target_unit=target_unit,
            target_device=target_device,
            ttl=ttl,
            for_boards=for_boards,
            reach=None if deferred else reach,
        )
        command.reached = reached
        record(
            "fleet.command_sent",
            actor=actor,
            request=request,
            unit=unit,
            obj=command,
            message=f"Lệnh “{ACTION_LABELS.get(action, action)}” tới {where} ({reached} {what})",
            data={
                "action": action,
                "params": params,
                "topic": command.topic,
                "seq": command.seq,
                "devices": reached,
            }
            | (audit_data or {}),
        )
        if not for_boards:
            # the gateway publishes at once instead of at its next outbox poll (the poll stays the safety net)
            transaction.on_commit(_poke_gateway)
        if deferred:
            command_id = command.pk
            transaction.on_commit(lambda: _write_deferred_deliveries(command_id, reach))
    return command


def _poke_gateway() -> None:
    from loa.gateway.service import poke_outbox

    poke_outbox()


def delivery_summary(command: Command) -> dict[str, int]:
    from django.db.models import Count

    rows = command.deliveries.values("state").annotate(n=Count("id"))
    return {r["state"]: r["n"] for r in rows}
