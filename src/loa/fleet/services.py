"""Fleet services: ``check_*`` validates, ``do_*`` changes state and writes the audit log in the same transaction.

Commands are signed here, when they are created (the web process holds the signing key; the gateway only
publishes the stored, signed message). The command row, its per-device deliveries and the audit entry commit
together: that is the transactional outbox the gateway publishes from.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from typing import Any
from urllib.parse import quote

from django.db import IntegrityError, transaction
from django.utils import timezone
from pydantic import ValidationError

from loa.audit.log import record
from loa.errors import Refusal
from loa.fleet import broker, conf, keys
from loa.fleet.models import Command, CommandDelivery, Device, DeviceKind, EnrolmentCode, TopicSequence
from loa.units.models import Level, Unit
from loa_protocol import topics
from loa_protocol.messages import PARAMS_BY_ACTION, EnrolRequest, EnrolResponse
from loa_protocol.signing import sign_command


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


def do_create_enrolment_code(
    unit: Unit, *, actor: Any, request: Any = None, label: str = "", ttl_hours: int | None = None
) -> tuple[EnrolmentCode, str]:
    """A fresh one-time code for ``unit``; the plain code is returned once and only its hash is kept."""
    check_enrolment_unit(unit)
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
            created_by=actor if getattr(actor, "pk", None) else None,
            expires_at=timezone.now() + dt.timedelta(hours=ttl),
        )
        record(
            "fleet.enrolment_code_created",
            actor=actor,
            request=request,
            unit=unit,
            obj=obj,
            message=f"Tạo mã đăng ký cụm loa cho {unit.name} (…{obj.hint})",
            data={"expires_at": obj.expires_at.isoformat(), "label": label},
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

ENROL_FAILURES_PER_WINDOW = 20
ENROL_WINDOW_S = 600


def _window_start(now: dt.datetime, window_s: int) -> dt.datetime:
    epoch = int(now.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % window_s, tz=dt.UTC)


def check_enrol_attempts(client: str, *, now: dt.datetime | None = None) -> None:
    """Refuse a client (its address) that failed too often in the current window, whichever process it hit."""
    from loa.fleet.models import AttemptCounter

    start = _window_start(now or timezone.now(), ENROL_WINDOW_S)
    row = AttemptCounter.objects.filter(key=f"enrol:{client}", window_start=start).first()
    if row is not None and row.count >= ENROL_FAILURES_PER_WINDOW:
        raise FleetError("too_many_attempts", "Nhập sai mã quá nhiều lần; thử lại sau 10 phút.", 429)


def do_count_enrol_failure(client: str, error: FleetError, *, request: Any = None) -> int:
    """Count one failed enrolment of ``client`` in the shared counter and audit it; the window's count."""
    from django.db.models import F

    from loa.fleet.models import AttemptCounter

    now = timezone.now()
    start = _window_start(now, ENROL_WINDOW_S)
    key = f"enrol:{client}"
    with transaction.atomic():
        AttemptCounter.objects.get_or_create(key=key, window_start=start)
        AttemptCounter.objects.filter(key=key, window_start=start).update(count=F("count") + 1)
        count = AttemptCounter.objects.get(key=key, window_start=start).count
        AttemptCounter.objects.filter(window_start__lt=now - dt.timedelta(days=1)).delete()
        record(
            "fleet.enrolment_failed",
            actor=f"địa chỉ {client}",
            request=request,
            object_type="fleet.attemptcounter",
            object_id=key[:64],
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


def _device_urls(device_id: str) -> tuple[str, str]:
    from django.conf import settings

    base = str(settings.LOA_PUBLIC_URL).rstrip("/")
    # the manifest is compiled and served by broadcasting (device credentials as HTTP Basic auth)
    return f"{base}{settings.MEDIA_URL}", f"{base}/api/v1/broadcast/manifests/{device_id}"


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
            device = Device(kind=DeviceKind.LOUDSPEAKER, adapter="loa")
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
        record(
            "fleet.device_reenrolled" if reenrolled else "fleet.device_enrolled",
            actor=f"thiết bị {device.device_id}",
            request=request,
            unit=unit,
            obj=device,
            message=f"{'Đăng ký lại' if reenrolled else 'Đăng ký'} cụm loa {device.device_id} vào {unit.name}",
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


def credentials_for(device: Device, password: str) -> EnrolResponse:
    """What a device receives at enrolment (the password is only ever known here, never stored)."""
    codes = list(broker.unit_codes_of(device.unit.path))
    media_base, manifest_url = _device_urls(device.device_id)
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
    unit: Unit, *, actor: Any, serial: str, vendor: str = "Loa", model: str = "sim", firmware: str = "sim"
) -> tuple[Device, str]:
    """Server-side enrolment without a code (``loa simulate``): the device and its password."""
    check_enrolment_unit(unit)
    password = broker.new_password()
    with transaction.atomic():
        device = Device.objects.create(
            device_id=topics.new_device_id(),
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
            parts.append(f"{where}: {'thiếu' if err['type'] == 'missing' else 'không hợp lệ'}")
        raise FleetError(
            "params_invalid", "Tham số của lệnh không hợp lệ: " + "; ".join(parts) + "."
        ) from None
    return parsed.model_dump(mode="json", exclude_none=True)


def communes_reached(target_unit: Unit | None, target_device: Device | None) -> int:
    if target_device is not None:
        return 1
    assert target_unit is not None
    if target_unit.level >= Level.COMMUNE:
        return 1
    return Unit.objects.filter(path__startswith=target_unit.path, level=Level.COMMUNE).count()


def totp_required(
    action: str, params: dict[str, Any], target_unit: Unit | None, target_device: Device | None
) -> bool:
    """Reboots, emergency/live priority, and anything reaching more than one commune need a TOTP code."""
    if action == Command.Action.REBOOT:
        return True
    if action == Command.Action.PLAY and int(params.get("priority", 4)) <= 2:
        return True
    return communes_reached(target_unit, target_device) > 1


def check_totp(user: Any, code: str) -> None:
    from django_otp import match_token

    code = "".join((code or "").split())
    if not code:
        raise FleetError(
            "totp_required",
            "Lệnh này cần mã xác thực một lần (TOTP) từ ứng dụng xác thực của bạn.",
            403,
        )
    if not code.isdigit() or len(code) not in (6, 8) or match_token(user, code) is None:
        raise FleetError("totp_invalid", "Mã xác thực (TOTP) không đúng, đã dùng hoặc đã hết hạn.", 403)


def _next_seq(topic: str) -> int:
    TopicSequence.objects.get_or_create(topic=topic)
    seq_row = TopicSequence.objects.select_for_update().get(topic=topic)
    seq_row.last_seq += 1
    seq_row.save(update_fields=["last_seq"])
    return seq_row.last_seq


def do_send_command(
    *,
    actor: Any,
    action: str,
    params: dict[str, Any] | None = None,
    target_unit: Unit | None = None,
    target_device: Device | None = None,
    totp: str = "",
    ttl_s: int | None = None,
    request: Any = None,
    audit_data: dict[str, Any] | None = None,
) -> Command:
    """Sign a command, store it with one delivery row per device reached, and audit it — in one transaction.

    A play command must name library audio by the library's own URL (:func:`loa.fleet.play.check_play_media`);
    operators and API clients build it from a bulletin, an asset or text with :func:`loa.fleet.play.do_play_now`.
    """
    if (target_unit is None) == (target_device is None):
        raise FleetError("target_invalid", "Chọn đúng một đích: một cụm loa hoặc một đơn vị.")
    params = check_command(action, params or {})
    if action == Command.Action.PLAY:
        from loa.fleet.play import check_play_media

        check_play_media(params)
    ttl = int(ttl_s or DEFAULT_TTL_S)
    if not 10 <= ttl <= 7 * 86400:
        raise FleetError("ttl_invalid", "Thời hạn của lệnh phải từ 10 giây đến 7 ngày.")
    if target_device is not None:
        if target_device.revoked_at is not None:
            raise FleetError("device_revoked", "Cụm loa này đã bị thu hồi.")
        devices = [target_device.device_id]
        topic = topics.device_command_topic(target_device.device_id)
        unit = target_device.unit
        where = f"cụm loa {target_device.label}"
    else:
        assert target_unit is not None
        unit = target_unit
        devices = list(Device.objects.active().in_unit(unit).values_list("device_id", flat=True))
        topic = topics.group_command_topic(list(broker.unit_codes_of(unit.path)))
        where = unit.name
    if not devices:
        raise FleetError("no_devices", f"Không có cụm loa nào đang hoạt động trong {where}.")
    if totp_required(action, params, target_unit, target_device):
        check_totp(actor, totp)
    now = timezone.now()
    with transaction.atomic():
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
        )
        CommandDelivery.objects.bulk_create(
            [CommandDelivery(command=command, device_id=d) for d in devices], batch_size=1000
        )
        record(
            "fleet.command_sent",
            actor=actor,
            request=request,
            unit=unit,
            obj=command,
            message=f"Lệnh “{ACTION_LABELS.get(action, action)}” tới {where} ({len(devices)} cụm loa)",
            data={"action": action, "params": params, "topic": topic, "seq": seq, "devices": len(devices)}
            | (audit_data or {}),
        )
        # the gateway publishes at once instead of at its next outbox poll (the poll stays the safety net)
        transaction.on_commit(_poke_gateway)
    return command


def _poke_gateway() -> None:
    from loa.gateway.service import poke_outbox

    poke_outbox()


def delivery_summary(command: Command) -> dict[str, int]:
    from django.db.models import Count

    rows = command.deliveries.values("state").annotate(n=Count("id"))
    return {r["state"]: r["n"] for r in rows}
