"""Zones under communes, and unit settings: ``check_*`` validates, ``do_*`` changes state and audits."""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from loa.audit.log import record
from loa.errors import Refusal
from loa.units.models import KINDS_BY_LEVEL, Kind, Level, Unit, UnitSetting


class UnitError(Refusal):
    """A refused change to units or their settings."""


ZONE_KINDS = tuple(str(k) for k in KINDS_BY_LEVEL[Level.ZONE])
_NAME_RE = re.compile(r"^[\w\s.,'()/-]+$", re.UNICODE)


def check_zone_fields(name: str, kind: str) -> tuple[str, str]:
    name = " ".join((name or "").split())
    if not name:
        raise UnitError("zone_name_required", "Tên thôn/bản/tổ dân phố không được để trống.")
    if len(name) > 200:
        raise UnitError("zone_name_too_long", "Tên thôn/bản/tổ dân phố dài quá 200 ký tự.")
    if not _NAME_RE.match(name):
        raise UnitError(
            "zone_name_invalid", "Tên chỉ được chứa chữ, số, khoảng trắng và các dấu . , ' ( ) / -"
        )
    if kind not in ZONE_KINDS:
        allowed = ", ".join(str(Kind(k).label) for k in ZONE_KINDS)
        raise UnitError("zone_kind_invalid", f"Loại không hợp lệ. Chọn một trong: {allowed}.")
    return name, kind


def _next_zone_code(commune: Unit) -> str:
    used = {u.code for u in Unit.objects.filter(parent=commune)}
    n = 1
    while f"{commune.code}.{n:03d}" in used:
        n += 1
    return f"{commune.code}.{n:03d}"


def do_create_zone(commune: Unit, name: str, kind: str, *, actor: Any, request: Any = None) -> Unit:
    if commune.level != Level.COMMUNE:
        raise UnitError(
            "parent_not_commune", "Thôn/bản/tổ dân phố chỉ được tạo dưới một xã, phường hoặc đặc khu."
        )
    name, kind = check_zone_fields(name, kind)
    if Unit.objects.filter(parent=commune, name__iexact=name, is_active=True).exists():
        raise UnitError("zone_exists", f"{commune.name} đã có \u201c{name}\u201d.")
    for _attempt in range(3):
        try:
            with transaction.atomic():
                zone = Unit.objects.create(
                    code=_next_zone_code(commune), name=name, kind=kind, level=Level.ZONE, parent=commune
                )
                record(
                    "unit.zone_created",
                    actor=actor,
                    request=request,
                    unit=zone,
                    obj=zone,
                    message=f"Tạo {zone.get_kind_display()} {zone.name}",
                    data={"name": name, "kind": kind},
                )
                return zone
        except IntegrityError:
            continue
    raise UnitError("zone_code_busy", "Không tạo được mã cho thôn/bản mới, vui lòng thử lại.")


def do_update_zone(zone: Unit, name: str, kind: str, *, actor: Any, request: Any = None) -> Unit:
    if zone.level != Level.ZONE:
        raise UnitError(
            "not_a_zone", "Chỉ sửa được thôn/bản/tổ dân phố; tỉnh và xã lấy từ danh mục quốc gia."
        )
    name, kind = check_zone_fields(name, kind)
    if (
        Unit.objects.filter(parent=zone.parent, name__iexact=name, is_active=True)
        .exclude(pk=zone.pk)
        .exists()
    ):
        raise UnitError("zone_exists", f"Đã có \u201c{name}\u201d trong cùng xã.")
    before = {"name": zone.name, "kind": zone.kind}
    with transaction.atomic():
        zone.name, zone.kind = name, kind
        zone.save(update_fields=["name", "kind"])
        record(
            "unit.zone_updated",
            actor=actor,
            request=request,
            unit=zone,
            obj=zone,
            message=f"Sửa {zone.name}",
            data={"before": before, "after": {"name": name, "kind": kind}},
        )
    return zone


def do_delete_zone(zone: Unit, *, actor: Any, request: Any = None) -> None:
    """Zones are deactivated, never deleted: their code is never reused and history keeps pointing at it."""
    if zone.level != Level.ZONE:
        raise UnitError("not_a_zone", "Chỉ xóa được thôn/bản/tổ dân phố.")
    with transaction.atomic():
        zone.is_active = False
        zone.save(update_fields=["is_active"])
        record(
            "unit.zone_deactivated",
            actor=actor,
            request=request,
            unit=zone,
            obj=zone,
            message=f"Ngừng sử dụng {zone.name}",
        )


# ---- unit settings -------------------------------------------------------------------------------------

SETTING_KEYS: dict[str, tuple[Promise, type]] = {
    "contact_phone": (gettext_lazy("Số điện thoại liên hệ của đài"), str),
    "station_name": (gettext_lazy("Tên đài truyền thanh"), str),
    "note": (gettext_lazy("Ghi chú"), str),
    # a province's own targets beside the national ones of regulations.md §2.4 (analytics KPIs of the same key),
    # a percentage 0–100 as text; empty: none
    "target_communes_with_radio": (
        gettext_lazy("Mục tiêu của địa phương: xã, phường có đài truyền thanh ứng dụng CNTT-VT (%)"),
        str,
    ),
    "target_eboards_wards": (gettext_lazy("Mục tiêu của địa phương: phường có bảng tin điện tử (%)"), str),
    "target_eboards_communes": (gettext_lazy("Mục tiêu của địa phương: xã có bảng tin điện tử (%)"), str),
}
TARGET_KEYS = ("target_communes_with_radio", "target_eboards_wards", "target_eboards_communes")


def target_value(value: Any) -> float | None:
    """A stored target as a number (``None``: not set or not a number)."""
    try:
        return float(str(value).replace(",", ".")) if value not in (None, "") else None
    except ValueError:
        return None


def check_setting(key: str, value: Any) -> Any:
    if key not in SETTING_KEYS:
        raise UnitError("setting_unknown", f"Không có thiết lập \u201c{key}\u201d.")
    label, typ = SETTING_KEYS[key]
    if not isinstance(value, typ):
        raise UnitError("setting_invalid", f"{label}: giá trị không hợp lệ.")
    if isinstance(value, str) and len(value) > 300:
        raise UnitError("setting_invalid", f"{label}: dài quá 300 ký tự.")
    if key in TARGET_KEYS and str(value).strip():
        number = target_value(str(value).strip())
        if number is None or not 0 <= number <= 100:
            raise UnitError("setting_invalid", f"{label}: nhập một số phần trăm từ 0 đến 100, ví dụ 85.")
        value = f"{number:g}"
    return value


def do_change_setting(unit: Unit, key: str, value: Any, *, actor: Any, request: Any = None) -> UnitSetting:
    value = check_setting(key, value)
    with transaction.atomic():
        setting, _created = UnitSetting.objects.select_for_update().get_or_create(unit=unit, key=key)
        before = setting.value
        setting.value = value
        setting.save()
        record(
            "settings.changed",
            actor=actor,
            request=request,
            unit=unit,
            object_type="units.unitsetting",
            object_id=f"{unit.code}:{key}",
            message=f"Đổi thiết lập {key} của {unit.name}",
            data={"key": key, "before": before, "after": value},
        )
    return setting
