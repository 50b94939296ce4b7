"""Units API: the unit tree within the caller's scope, zones, and unit settings."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from loa.accounts.access import access_unit_code, access_units
from loa.api.auth import token_of
from loa.api.errors import ERROR_RESPONSES, ApiError
from loa.api.types import ApiBool
from loa.units import services
from loa.units.models import Level, Unit, UnitSetting

router = Router()


class UnitOut(Schema):
    code: str
    name: str
    kind: str
    kind_label: str
    level: int
    parent_code: str | None
    is_active: bool

    @staticmethod
    def of(unit: Unit) -> dict[str, Any]:
        parent_code = unit.path.rstrip("/").split("/")[-2] if unit.parent_id else None
        return {
            "code": unit.code,
            "name": unit.name,
            "kind": unit.kind,
            "kind_label": str(unit.get_kind_display()),
            "level": unit.level,
            "parent_code": parent_code,
            "is_active": unit.is_active,
        }


class UnitPage(Schema):
    count: int
    items: list[UnitOut]


class ZoneIn(Schema):
    name: str = Field(..., min_length=1, max_length=200, description="Tên thôn/bản/tổ dân phố")
    kind: Literal["thon", "ban", "to_dan_pho", "khu_pho", "ap", "buon", "phum"] = "thon"


class SettingIn(Schema):
    value: str = Field(..., max_length=300)


class SettingOut(Schema):
    key: str
    value: Any


@router.get("", response={200: UnitPage, **ERROR_RESPONSES}, summary="Danh sách đơn vị trong phạm vi")
def list_units(
    request: HttpRequest,
    level: int | None = None,
    parent: str | None = None,
    q: str | None = None,
    include_inactive: ApiBool = False,
    offset: int = 0,
    limit: int = 100,
) -> Any:
    qs = access_units(request.user, "unit.view", token_of(request))
    if level is not None:
        if level not in Level.values:
            raise ApiError(422, "level_invalid", "Cấp đơn vị phải là 1 (tỉnh), 2 (xã) hoặc 3 (thôn).")
        qs = qs.filter(level=level)
    if parent:
        parent_unit = access_unit_code(request.user, parent, "unit.view", token_of(request))
        qs = qs.filter(parent=parent_unit)
    if q:
        qs = qs.filter(name__icontains=q.strip()[:100])
    if not include_inactive:
        qs = qs.filter(is_active=True)
    offset, limit = min(max(0, offset), 10**9), max(1, min(limit, 1000))
    return {
        "count": qs.count(),
        "items": [UnitOut.of(u) for u in qs.order_by("path")[offset : offset + limit]],
    }


@router.get("/{code}", response={200: UnitOut, **ERROR_RESPONSES}, summary="Một đơn vị")
def get_unit(request: HttpRequest, code: str) -> Any:
    return UnitOut.of(access_unit_code(request.user, code, "unit.view", token_of(request)))


@router.post("/{code}/zones", response={201: UnitOut, **ERROR_RESPONSES}, summary="Tạo thôn/bản/tổ dân phố")
def create_zone(request: HttpRequest, code: str, payload: ZoneIn) -> Any:
    commune = access_unit_code(request.user, code, "unit.manage_zones", token_of(request))
    zone = services.do_create_zone(commune, payload.name, payload.kind, actor=request.user, request=request)
    return Status(201, UnitOut.of(zone))


@router.patch("/{code}", response={200: UnitOut, **ERROR_RESPONSES}, summary="Sửa thôn/bản/tổ dân phố")
def update_zone(request: HttpRequest, code: str, payload: ZoneIn) -> Any:
    zone = access_unit_code(request.user, code, "unit.manage_zones", token_of(request))
    zone = services.do_update_zone(zone, payload.name, payload.kind, actor=request.user, request=request)
    return UnitOut.of(zone)


@router.delete(
    "/{code}", response={204: None, **ERROR_RESPONSES}, summary="Ngừng sử dụng thôn/bản/tổ dân phố"
)
def delete_zone(request: HttpRequest, code: str) -> Any:
    zone = access_unit_code(request.user, code, "unit.manage_zones", token_of(request))
    services.do_delete_zone(zone, actor=request.user, request=request)
    return Status(204, None)


@router.get(
    "/{code}/settings", response={200: list[SettingOut], **ERROR_RESPONSES}, summary="Thiết lập đơn vị"
)
def list_settings(request: HttpRequest, code: str) -> Any:
    unit = access_unit_code(request.user, code, "unit.view", token_of(request))
    values = {s.key: s.value for s in UnitSetting.objects.filter(unit=unit)}
    return [{"key": k, "value": values.get(k)} for k in services.SETTING_KEYS]


@router.put(
    "/{code}/settings/{key}", response={200: SettingOut, **ERROR_RESPONSES}, summary="Đổi một thiết lập"
)
def change_setting(request: HttpRequest, code: str, key: str, payload: SettingIn) -> Any:
    unit = access_unit_code(request.user, code, "settings.manage", token_of(request))
    setting = services.do_change_setting(unit, key, payload.value, actor=request.user, request=request)
    return {"key": setting.key, "value": setting.value}
